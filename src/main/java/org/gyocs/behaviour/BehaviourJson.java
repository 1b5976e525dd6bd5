package org.gyocs.behaviour;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.FinalUnitIndication.FinalUnitAction;
import org.gyocs.core.RequestType;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Behaviours as JSON, the one format of POST /behaviours and of the --behaviours file. Reading is
 * strict: an unknown field (a typo such as {@code result_code}) or a value out of range is refused
 * with an {@link IllegalArgumentException} naming the field, so that a rule never silently does
 * less than its author meant.
 */
public final class BehaviourJson {
    /** The longest delay or follow-up a rule may ask for: ten minutes. */
    public static final long MAX_MILLIS = 600_000;
    private static final long MAX_UNSIGNED32 = 0xFFFF_FFFFL;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private static final Set<String> RULE_FIELDS = Set.of("id", "match", "times", "answer", "hits");
    private static final Set<String> MATCH_FIELDS = Set.of("subscriber", "request", "number", "rating-group",
            "origin-host");
    private static final Set<String> ANSWER_FIELDS = Set.of("result-code", "mscc-result-code", "final-unit-action",
            "redirect-address", "filter-id", "granted", "validity-time", "delay-ms", "drop", "disconnect",
            "reauth-after-ms", "abort-after-ms");

    private BehaviourJson() {
    }

    /**
     * One rule. Its id is the one given (letters, digits, '.', '_', '-'), or null for the registry
     * to name it. "hits" is accepted and ignored, so that GET's output can be posted again.
     *
     * @throws IllegalArgumentException naming the field that is wrong
     */
    public static Behaviour read(JsonNode rule) {
        if (rule == null || !rule.isObject()) {
            throw new IllegalArgumentException("a behaviour is a JSON object with \"answer\" (and \"match\", \"times\")");
        }
        known(rule, RULE_FIELDS, "");
        String id = null;
        if (rule.hasNonNull("id")) {
            id = text(rule, "id", "");
            if (!ID.matcher(id).matches()) {
                throw new IllegalArgumentException("id: letters, digits, '.', '_' and '-', at most 64 (was \"" + id + "\")");
            }
        }
        Behaviour.Match match = rule.hasNonNull("match") ? match(rule.get("match")) : Behaviour.Match.ANY;
        Long times = number(rule, "times", "", 1, Long.MAX_VALUE);
        if (!rule.hasNonNull("answer")) {
            throw new IllegalArgumentException("answer: missing (what the rule changes: result-code, drop, delay-ms...)");
        }
        Behaviour.Effect effect = effect(rule.get("answer"));
        sessionStaysOpen(match, effect);
        return new Behaviour(id, match, times, effect);
    }

    private static Behaviour.Match match(JsonNode m) {
        if (!m.isObject()) {
            throw new IllegalArgumentException("match: an object (subscriber, request, number, rating-group, origin-host)");
        }
        known(m, MATCH_FIELDS, "match.");
        String subscriber = m.hasNonNull("subscriber") ? text(m, "subscriber", "match.") : null;
        if (subscriber != null && (subscriber.isEmpty() || subscriber.indexOf('*') >= 0
                && subscriber.indexOf('*') != subscriber.length() - 1)) {
            throw new IllegalArgumentException("match.subscriber: a Subscription-Id, or a prefix ending in '*' (was \""
                    + subscriber + "\")");
        }
        RequestType request = null;
        if (m.hasNonNull("request")) {
            String t = text(m, "request", "match.").toUpperCase(Locale.ROOT);
            request = switch (t) {
                case "INITIAL", "CCR-I" -> RequestType.INITIAL;
                case "UPDATE", "CCR-U" -> RequestType.UPDATE;
                case "TERMINATE", "TERMINATION", "CCR-T" -> RequestType.TERMINATION;
                case "EVENT", "CCR-E" -> RequestType.EVENT;
                default -> throw new IllegalArgumentException("match.request: INITIAL, UPDATE, TERMINATE or EVENT (was \""
                        + m.get("request").asText() + "\")");
            };
        }
        Long number = number(m, "number", "match.", 0, MAX_UNSIGNED32);
        Long ratingGroup = number(m, "rating-group", "match.", 0, MAX_UNSIGNED32);
        String host = m.hasNonNull("origin-host") ? text(m, "origin-host", "match.") : null;
        if (host != null && (host.isBlank() || host.indexOf('*') >= 0 && !host.equals("*")
                && !(host.startsWith("*.") && host.indexOf('*', 1) < 0 && host.length() > 2))) {
            throw new IllegalArgumentException("match.origin-host: a host name, *.domain or * (was \"" + host + "\")");
        }
        return new Behaviour.Match(subscriber, request, number, ratingGroup, host);
    }

    private static Behaviour.Effect effect(JsonNode a) {
        if (!a.isObject() || a.isEmpty()) {
            throw new IllegalArgumentException("answer: an object with at least one of " + String.join(", ",
                    new java.util.TreeSet<>(ANSWER_FIELDS)));
        }
        known(a, ANSWER_FIELDS, "answer.");
        Long resultCode = number(a, "result-code", "answer.", 2000, 5999);
        // in an MSCC, a service's failure (RFC 4006 5.1.2: 4010, 4011, 4012, 5030, 5031...), never a protocol error
        Long msccResultCode = number(a, "mscc-result-code", "answer.", 4000, 5999);
        FinalUnitIndication fui = finalUnit(a);
        Long granted = number(a, "granted", "answer.", 0, Long.MAX_VALUE);
        Long validity = number(a, "validity-time", "answer.", 1, MAX_UNSIGNED32);
        Long delay = number(a, "delay-ms", "answer.", 1, MAX_MILLIS);
        boolean drop = flag(a, "drop");
        boolean disconnect = flag(a, "disconnect");
        Long reauth = number(a, "reauth-after-ms", "answer.", 0, MAX_MILLIS);
        Long abort = number(a, "abort-after-ms", "answer.", 0, MAX_MILLIS);
        if (drop || disconnect) {
            if (drop && disconnect) {
                throw new IllegalArgumentException("answer.disconnect: a rule drops the request or disconnects, not both");
            }
            for (String f : ANSWER_FIELDS) {
                if (a.hasNonNull(f) && !f.equals("drop") && !f.equals("disconnect")) {
                    throw new IllegalArgumentException("answer." + f + ": the request gets no answer with "
                            + (drop ? "drop" : "disconnect") + ", so nothing else can change it");
                }
            }
        }
        boolean refusedWhole = resultCode != null && resultCode >= 3000;
        if (refusedWhole) {
            for (String f : new String[] {"mscc-result-code", "final-unit-action", "granted", "validity-time"}) {
                if (a.hasNonNull(f)) {
                    throw new IllegalArgumentException("answer." + f + ": a " + resultCode
                            + " answer carries no grant and no MSCC (RFC 4006), so " + f + " cannot apply");
                }
            }
        }
        if (msccResultCode != null) {
            for (String f : new String[] {"final-unit-action", "granted", "validity-time"}) {
                if (a.hasNonNull(f)) {
                    throw new IllegalArgumentException("answer." + f + ": the MSCCs answered mscc-result-code "
                            + msccResultCode + " get no grant, so " + f + " cannot apply");
                }
            }
        }
        Behaviour.Effect effect = new Behaviour.Effect(resultCode, msccResultCode, fui, granted, validity, delay, drop,
                disconnect, reauth, abort);
        if (resultCode == null && msccResultCode == null && fui == null && granted == null && validity == null
                && delay == null && !drop && !disconnect && reauth == null && abort == null) {
            throw new IllegalArgumentException("answer: changes nothing (a rule that only uses up requests is not one)");
        }
        return effect;
    }

    /** A RAR or ASR needs the session open after the answer: not after a CCR-T or CCR-E, nor a refused CCR-I. */
    private static void sessionStaysOpen(Behaviour.Match match, Behaviour.Effect e) {
        String f = e.reauthAfterMs() != null ? "reauth-after-ms" : e.abortAfterMs() != null ? "abort-after-ms" : null;
        if (f == null) {
            return;
        }
        RequestType t = match.request();
        if (t == RequestType.TERMINATION || t == RequestType.EVENT) {
            throw new IllegalArgumentException("answer." + f + ": no session is open after a " + t.shortName()
                    + " to send it for");
        }
        if (t == RequestType.INITIAL && e.resultCode() != null && e.resultCode() >= 3000) {
            throw new IllegalArgumentException("answer." + f + ": a CCR-I answered " + e.resultCode()
                    + " opens no session to send it for");
        }
    }

    private static FinalUnitIndication finalUnit(JsonNode a) {
        String redirect = a.hasNonNull("redirect-address") ? text(a, "redirect-address", "answer.") : null;
        String filter = a.hasNonNull("filter-id") ? text(a, "filter-id", "answer.") : null;
        if (!a.hasNonNull("final-unit-action")) {
            if (redirect != null || filter != null) {
                throw new IllegalArgumentException("answer." + (redirect != null ? "redirect-address" : "filter-id")
                        + ": goes with final-unit-action " + (redirect != null ? "REDIRECT" : "RESTRICT_ACCESS"));
            }
            return null;
        }
        String name = text(a, "final-unit-action", "answer.").toUpperCase(Locale.ROOT);
        FinalUnitAction action;
        try {
            action = FinalUnitAction.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("answer.final-unit-action: TERMINATE, REDIRECT or RESTRICT_ACCESS (was \""
                    + a.get("final-unit-action").asText() + "\")");
        }
        if (action == FinalUnitAction.REDIRECT && (redirect == null || redirect.isBlank())) {
            throw new IllegalArgumentException("answer.redirect-address: REDIRECT needs the URL to redirect to");
        }
        if (action == FinalUnitAction.RESTRICT_ACCESS && (filter == null || filter.isBlank())) {
            throw new IllegalArgumentException("answer.filter-id: RESTRICT_ACCESS needs the Filter-Id to apply");
        }
        if (action != FinalUnitAction.REDIRECT && redirect != null) {
            throw new IllegalArgumentException("answer.redirect-address: only with final-unit-action REDIRECT");
        }
        if (action != FinalUnitAction.RESTRICT_ACCESS && filter != null) {
            throw new IllegalArgumentException("answer.filter-id: only with final-unit-action RESTRICT_ACCESS");
        }
        return new FinalUnitIndication(action, redirect, filter);
    }

    private static void known(JsonNode o, Set<String> fields, String prefix) {
        for (Iterator<String> names = o.fieldNames(); names.hasNext();) {
            String f = names.next();
            if (!fields.contains(f)) {
                throw new IllegalArgumentException(prefix + f + ": unknown field (known: "
                        + String.join(", ", new java.util.TreeSet<>(fields)) + ")");
            }
        }
    }

    private static String text(JsonNode o, String field, String prefix) {
        JsonNode v = o.get(field);
        if (!v.isTextual()) {
            throw new IllegalArgumentException(prefix + field + ": a string (was " + v + ")");
        }
        return v.asText();
    }

    private static boolean flag(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("answer." + field + ": true or false (was " + v + ")");
        }
        return v.asBoolean();
    }

    /** An integer field within [min, max], or null when absent. */
    private static Long number(JsonNode o, String field, String prefix, long min, long max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new IllegalArgumentException(prefix + field + ": an integer from " + min + " to " + max + " (was " + v
                    + ")");
        }
        return v.asLong();
    }

    /** A rule as GET /behaviours shows it: the fields it was given, its id and its hits. */
    public static Map<String, Object> write(Behaviour b, long hits) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", b.id());
        Map<String, Object> m = new LinkedHashMap<>();
        Behaviour.Match match = b.match();
        putIf(m, "subscriber", match.subscriber());
        putIf(m, "request", match.request() == null ? null : switch (match.request()) {
            case INITIAL -> "INITIAL";
            case UPDATE -> "UPDATE";
            case TERMINATION -> "TERMINATE";
            case EVENT -> "EVENT";
        });
        putIf(m, "number", match.number());
        putIf(m, "rating-group", match.ratingGroup());
        putIf(m, "origin-host", match.originHost());
        out.put("match", m);
        putIf(out, "times", b.times());
        Map<String, Object> a = new LinkedHashMap<>();
        Behaviour.Effect e = b.answer();
        putIf(a, "result-code", e.resultCode());
        putIf(a, "mscc-result-code", e.msccResultCode());
        if (e.finalUnit() != null) {
            a.put("final-unit-action", e.finalUnit().action().name());
            putIf(a, "redirect-address", e.finalUnit().redirectAddress());
            putIf(a, "filter-id", e.finalUnit().filterId());
        }
        putIf(a, "granted", e.granted());
        putIf(a, "validity-time", e.validityTime());
        putIf(a, "delay-ms", e.delayMs());
        if (e.drop()) {
            a.put("drop", true);
        }
        if (e.disconnect()) {
            a.put("disconnect", true);
        }
        putIf(a, "reauth-after-ms", e.reauthAfterMs());
        putIf(a, "abort-after-ms", e.abortAfterMs());
        out.put("answer", a);
        out.put("hits", hits);
        return out;
    }

    private static void putIf(Map<String, Object> m, String k, Object v) {
        if (v != null) {
            m.put(k, v);
        }
    }
}
