package org.gyocs.admin;

import java.util.List;
import java.util.Set;

/**
 * Buckets that open sessions hold reservations on are not replaced or deleted: the usage those
 * sessions report next would go uncharged. The HTTP API (409) and ocs-admin on a running node
 * (through its admin socket, exit status 1) refuse alike; a top-up is fine, and so is ending the
 * sessions first.
 */
public final class OpenSessionRule {
    private OpenSessionRule() {
    }

    /** Why an import naming {@code named} is refused while {@code inSession} have open sessions, or null. */
    public static String importRefusal(List<String> named, Set<String> inSession) {
        List<String> refused = named.stream().filter(inSession::contains).limit(11).toList();
        if (refused.isEmpty()) {
            return null;
        }
        return "subscribers with open sessions cannot have their buckets replaced now: "
                + String.join(", ", refused.subList(0, Math.min(10, refused.size())))
                + (refused.size() > 10 ? ", ..." : "")
                + "; nothing was imported (end their sessions first, or top them up)";
    }

    /** Those of {@code named} that opened a session while their import ran: each gets a Re-Auth-Request. */
    public static List<String> openedDuring(List<String> named, Set<String> inSessionNow) {
        return named.stream().filter(inSessionNow::contains).toList();
    }

    /** Why {@code what} (replaced, deleted) is refused for a subscriber with {@code open} sessions, or null. */
    public static String changeRefusal(String subscriber, int open, String what, String topUp) {
        if (open == 0) {
            return null;
        }
        return "subscriber " + subscriber + " has " + open + " open session(s): its buckets cannot be " + what
                + " now; top it up instead (" + topUp + "), or end its sessions first (POST /sessions/{id}/abort)";
    }
}
