package org.gyocs.core;

import java.time.Instant;

/**
 * What a balance change is for, kept by the store in the same commit as the change: a line of
 * the rated usage record of a session or event (units used on a rating group, and their cost),
 * or the record's end. The record of a session is the sum of its lines, so that no debit is
 * ever kept without its line, nor a line without its debit, whatever stops the node.
 *
 * @param recordId     the record's id: one per session (made at its CCR-I) or event
 * @param kind         {@value #SESSION}, {@value #EVENT} or {@value #REFUND}
 * @param started      when the session or event began
 * @param ratingGroup  the line's rating group, null for none (a request without one)
 * @param unit         the line's unit (octets, seconds, units, money), null for no line (an end alone)
 * @param units        units used (a refund: credited) that this change accounts for
 * @param unitsCharged true: the line's units are what the change debits, not {@code units}
 *                     (an event is charged what the balance holds)
 * @param currency     ISO 4217 code of the cost, null when unpriced; a change in money adds
 *                     what it debits (a refund: credits) to the line's cost
 * @param ended        set on the record's end (CCR-T, Tcc, an event's answer), else null
 * @param resultCode   the final Result-Code, with the end
 * @param cause        why it ended (Termination-Cause name, TCC_EXPIRED...), with the end
 */
public record UsageNote(String recordId, String kind, String subscriber, String sessionId, String peer,
                        Instant started, Long ratingGroup, UnitType unit, long units, boolean unitsCharged,
                        String currency, Instant ended, Long resultCode, String cause) {
    public static final String SESSION = "session";
    public static final String EVENT = "event";
    public static final String REFUND = "refund";

    /** A line of usage of this record. */
    public UsageNote line(Long rg, UnitType lineUnit, long used, boolean charged, String lineCurrency) {
        return new UsageNote(recordId, kind, subscriber, sessionId, peer, started, rg, lineUnit, used, charged,
                lineCurrency, null, null, null);
    }

    /** The record's end, without a line. */
    public UsageNote end(Instant at, Long code, String why) {
        return new UsageNote(recordId, kind, subscriber, sessionId, peer, started, null, null, 0, false, null, at, code,
                why);
    }

    /**
     * The record of a new session or event, before any line.
     *
     * @param id its id, or null for a new random one (a session's); an event's is made from what
     *           identifies it, so that its retransmission names the same record
     */
    public static UsageNote of(String kind, String id, String subscriber, String sessionId, String peer, Instant started) {
        // bounded as the tables are: a Session-Id or peer name past them would fail every later write-back
        return new UsageNote(id != null ? id : newId(), kind, subscriber, cut(sessionId, 1024), cut(peer, 255), started,
                null, null, 0, false, null, null, null, null);
    }

    /** An id made from a text, the same every time (an event's Session-Id, number, subscriber and peer). */
    public static String idOf(String text) {
        return java.util.UUID.nameUUIDFromBytes(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString()
                .replace("-", "");
    }

    private static String cut(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }

    private static String newId() {
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        return Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(r.nextLong() | Long.MIN_VALUE);
    }
}
