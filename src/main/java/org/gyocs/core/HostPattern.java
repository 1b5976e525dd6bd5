package org.gyocs.core;

import java.util.Locale;

/**
 * An Origin-Host pattern of the configuration (allowed-peers, refund-peers): a name, {@code *.domain}
 * (any host under that domain, not the domain itself) or {@code *}; DiameterIdentities compare
 * without regard to case (RFC 6733 section 4.3.1).
 */
public final class HostPattern {
    private HostPattern() {
    }

    /** The pattern as it is compared: lower case, trimmed. */
    public static String normalized(String pattern) {
        return pattern.trim().toLowerCase(Locale.ROOT);
    }

    /** @param pattern as {@link #normalized} made it */
    public static boolean matches(String pattern, String originHost) {
        if (pattern.equals("*")) {
            return true;
        }
        if (originHost == null) {
            return false;
        }
        String h = originHost.toLowerCase(Locale.ROOT);
        if (pattern.startsWith("*.")) {
            return h.endsWith(pattern.substring(1)) && h.length() > pattern.length() - 1;
        }
        return h.equals(pattern);
    }
}
