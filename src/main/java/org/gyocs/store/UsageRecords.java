package org.gyocs.store;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

/**
 * The rated usage records as every kind of store keeps them (tables of db/migration/V11): a
 * note's line is added to its record in the transaction of the balance change it goes with (on
 * the embedded store, in the journal frame of that change, and in the database at its
 * write-back), so that a debit and its line are kept together or not at all.
 */
public final class UsageRecords {

    /** The termination cause of a record its node did not end (it was killed): ended at its next start. */
    public static final String NODE_STOPPED = "NODE_STOPPED";

    private UsageRecords() {
    }

    /** A note with what its change did: the units and cost its line adds, and when (epoch ms). */
    record Kept(UsageNote note, long units, long cost, long at) {

        /** Whether it adds to the database at all (a line of nothing, on an open record, does not). */
        boolean matters() {
            return note.ended() != null || units != 0 || cost != 0;
        }
    }

    /**
     * What a change of {@code changed} in {@code changeUnit} puts in a note's line: a change in
     * money is the line's cost; the units are the note's, or what was changed when it says so.
     */
    static Kept resolve(UsageNote note, UnitType changeUnit, long changed) {
        boolean money = changeUnit == UnitType.MONEY && note.currency() != null;
        long units = note.unitsCharged() && !money ? changed : note.units();
        return new Kept(note, units, money ? changed : 0, System.currentTimeMillis());
    }

    /** Adds to {@code lines} what a change's note (or none) puts in its record, if anything. */
    static void collect(List<Kept> lines, UsageNote note, UnitType changeUnit, long changed) {
        if (note != null) {
            Kept k = resolve(note, changeUnit, changed);
            if (k.matters()) {
                lines.add(k);
            }
        }
    }

    /** One usage record, as ocs-admin, GET /usage and the CSV export show it. */
    public record UsageRecord(String recordId, String kind, String subscriber, String sessionId, String peer,
                              Instant started, Instant ended, Long resultCode, String terminationCause,
                              List<Line> lines) {
    }

    /** Per rating group (null: none named) and unit: units used and their cost in minor units of currency. */
    public record Line(Long ratingGroup, String unit, long units, long cost, String currency) {
    }

    public static final String CSV_HEADER = "record_id,kind,subscriber,session_id,peer,started,ended,result_code,"
            + "termination_cause,rating_group,unit,units,cost,currency";

    /** Records as CSV, one row per line (a record without lines: one row, its line fields empty). */
    public static String csv(List<UsageRecord> records) {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (UsageRecord r : records) {
            String head = String.join(",", r.recordId(), r.kind(), r.subscriber(), field(r.sessionId()), field(r.peer()),
                    r.started().toString(), r.ended() == null ? "" : r.ended().toString(),
                    r.resultCode() == null ? "" : r.resultCode().toString(),
                    r.terminationCause() == null ? "" : r.terminationCause());
            if (r.lines().isEmpty()) {
                sb.append(head).append(",,,,,\n");
            }
            for (Line l : r.lines()) {
                sb.append(head).append(',').append(l.ratingGroup() == null ? "" : l.ratingGroup()).append(',')
                        .append(l.unit()).append(',').append(l.units()).append(',').append(l.cost()).append(',')
                        .append(l.currency() == null ? "" : l.currency()).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * A time as the usage queries take it: an instant (2026-12-02T10:00:00Z) or a date
     * (2026-12-02, its start in UTC). @throws IllegalArgumentException naming the parameter
     */
    public static Instant time(String name, String value) {
        try {
            return value.contains("T") ? Instant.parse(value)
                    : java.time.LocalDate.parse(value).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException(name + " must be a date (2026-12-02) or an instant (2026-12-02T10:00:00Z), not '"
                    + value + "'");
        }
    }

    /** A CSV field: quoted when it holds a comma, a quote or a line break (a Session-Id may). */
    private static String field(String s) {
        if (s == null) {
            return "";
        }
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    // ------------------------------------------------------------------ in the database

    /**
     * Adds kept notes to their records, in the caller's transaction, in one batched statement:
     * a part per record, rating group and unit, with the units and cost summed, and the end on
     * the parts of a record whose end came (a part without usage when it came alone).
     */
    static void applyAll(SqlTransaction tx, List<Kept> kept) throws SQLException {
        if (kept.isEmpty()) {
            return;
        }
        PreparedStatement p = tx.prepare("INSERT INTO usage_part (" + PART_COLUMNS + ") "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (Object[] part : parts(kept)) {
            for (int i = 0; i < part.length; i++) {
                p.setObject(i + 1, part[i], PART_TYPES[i]);
            }
            p.addBatch();
        }
        p.executeBatch();
    }

    /** The columns of a part, as {@link #parts} gives their values. */
    static final String PART_COLUMNS = "record_id, kind, subscriber_id, session_id, peer, started_at, rating_group, "
            + "unit, units, cost, currency, kept_at, ended_at, result_code, termination_cause";
    /** Their SQL types (java.sql.Types), in that order. */
    static final int[] PART_TYPES = {Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR,
        Types.TIMESTAMP, Types.BIGINT, Types.VARCHAR, Types.BIGINT, Types.BIGINT, Types.VARCHAR, Types.TIMESTAMP,
        Types.TIMESTAMP, Types.BIGINT, Types.VARCHAR};

    /**
     * The parts that kept notes add to their records, one row of {@link #PART_COLUMNS} each: a
     * part per record, rating group and unit, with the units and cost summed, and the end on the
     * parts of a record whose end came (a part without usage when it came alone).
     */
    static List<Object[]> parts(List<Kept> kept) {
        Map<String, UsageNote> ends = new LinkedHashMap<>();
        Map<String, UsageNote> heads = new LinkedHashMap<>();
        Map<LineKey, long[]> lines = new LinkedHashMap<>(); // units, cost, when (the latest)
        Map<LineKey, UsageNote> lineNotes = new LinkedHashMap<>();
        for (Kept k : kept) {
            UsageNote n = k.note();
            heads.putIfAbsent(n.recordId(), n);
            if (n.ended() != null) {
                ends.putIfAbsent(n.recordId(), n);
            }
            if (n.unit() != null && (k.units() != 0 || k.cost() != 0)) {
                LineKey key = new LineKey(n.recordId(), n.ratingGroup() == null ? -1L : n.ratingGroup(), n.unit());
                long[] sum = lines.computeIfAbsent(key, x -> new long[3]);
                sum[0] += k.units();
                sum[1] += k.cost();
                sum[2] = Math.max(sum[2], k.at());
                UsageNote first = lineNotes.putIfAbsent(key, n);
                if (first != null && first.currency() == null && n.currency() != null) {
                    lineNotes.put(key, n);
                }
            }
        }
        List<Object[]> parts = new java.util.ArrayList<>(lines.size() + ends.size());
        java.util.Set<String> withUsage = new java.util.HashSet<>();
        for (Map.Entry<LineKey, long[]> e : lines.entrySet()) {
            UsageNote n = lineNotes.get(e.getKey());
            withUsage.add(n.recordId());
            parts.add(part(n, e.getKey().ratingGroup(), e.getKey().unit().csvName(), e.getValue()[0], e.getValue()[1],
                    n.currency(), e.getValue()[2], ends.get(n.recordId())));
        }
        for (UsageNote end : ends.values()) {
            if (!withUsage.contains(end.recordId())) {
                parts.add(part(heads.get(end.recordId()), null, null, 0, 0, null, end.ended().toEpochMilli(), end));
            }
        }
        return parts;
    }

    /** A record's line: its rating group (-1: none) and unit. */
    private record LineKey(String recordId, long ratingGroup, UnitType unit) {
    }

    private static Object[] part(UsageNote head, Long ratingGroup, String unit, long units, long cost, String currency,
                                 long keptAt, UsageNote end) {
        return new Object[] {head.recordId(), head.kind(), head.subscriber(), head.sessionId(), head.peer(),
            Timestamp.from(head.started()), ratingGroup, unit, units, cost, currency, new Timestamp(keptAt),
            end == null ? null : Timestamp.from(end.ended()), end == null ? null : end.resultCode(),
            end == null ? null : end.cause()};
    }

    /**
     * The records of a subscriber (null: everyone's) that started in [since, until), oldest
     * first, at most {@code limit}: the sum of their parts.
     */
    static List<UsageRecord> find(SqlTransaction tx, String subscriber, Instant since, Instant until, int limit)
            throws SQLException {
        PreparedStatement s = tx.prepare("SELECT record_id, kind, subscriber_id, session_id, peer, started_at, "
                + "rating_group, unit, units, cost, currency, ended_at, result_code, termination_cause FROM usage_part "
                + "WHERE started_at >= ? AND started_at < ?" + (subscriber == null ? "" : " AND subscriber_id = ?")
                + " ORDER BY started_at, record_id");
        s.setTimestamp(1, Timestamp.from(since));
        s.setTimestamp(2, Timestamp.from(until));
        if (subscriber != null) {
            s.setString(3, subscriber);
        }
        Map<String, Summing> records = new LinkedHashMap<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                String id = rs.getString(1);
                Summing r = records.get(id);
                if (r == null) {
                    if (records.size() >= limit) {
                        break;
                    }
                    r = new Summing(id, rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getTimestamp(6).toInstant());
                    records.put(id, r);
                }
                String unit = rs.getString(8);
                if (unit != null) {
                    long[] sum = r.lines.computeIfAbsent(new Part(rs.getLong(7), unit), x -> new long[2]);
                    sum[0] += rs.getLong(9);
                    sum[1] += rs.getLong(10);
                    String currency = rs.getString(11);
                    if (currency != null) {
                        r.currencies.put(new Part(rs.getLong(7), unit), currency.trim());
                    }
                }
                Timestamp ended = rs.getTimestamp(12);
                if (ended != null && r.ended == null) {
                    long rc = rs.getLong(13);
                    r.ended = ended.toInstant();
                    r.resultCode = rs.wasNull() ? null : rc;
                    r.cause = rs.getString(14);
                }
            }
        }
        List<UsageRecord> out = new ArrayList<>(records.size());
        for (Summing r : records.values()) {
            out.add(r.record());
        }
        return out;
    }

    /** A rating group (-1: none) and unit: what a record's line is per, in that order. */
    private record Part(long ratingGroup, String unit) implements Comparable<Part> {
        @Override
        public int compareTo(Part o) {
            int c = Long.compare(ratingGroup, o.ratingGroup);
            return c != 0 ? c : unit.compareTo(o.unit);
        }
    }

    /** A record being added up from its parts. */
    private static final class Summing {
        final String id;
        final String kind;
        final String subscriber;
        final String sessionId;
        final String peer;
        final Instant started;
        final java.util.TreeMap<Part, long[]> lines = new java.util.TreeMap<>();
        final Map<Part, String> currencies = new java.util.HashMap<>();
        Instant ended;
        Long resultCode;
        String cause;

        Summing(String id, String kind, String subscriber, String sessionId, String peer, Instant started) {
            this.id = id;
            this.kind = kind;
            this.subscriber = subscriber;
            this.sessionId = sessionId;
            this.peer = peer;
            this.started = started;
        }

        UsageRecord record() {
            List<Line> ls = new ArrayList<>(lines.size());
            for (Map.Entry<Part, long[]> l : lines.entrySet()) {
                long rg = l.getKey().ratingGroup();
                ls.add(new Line(rg < 0 ? null : rg, l.getKey().unit(), l.getValue()[0], l.getValue()[1],
                        currencies.get(l.getKey())));
            }
            return new UsageRecord(id, kind, subscriber, sessionId, peer, started, ended, resultCode, cause, ls);
        }
    }

    /** Deletes the records that started before {@code before} (the retention). @return how many parts */
    static int purge(SqlTransaction tx, Instant before) throws SQLException {
        PreparedStatement d = tx.prepare("DELETE FROM usage_part WHERE started_at < ?");
        d.setTimestamp(1, Timestamp.from(before));
        return d.executeUpdate();
    }

    /**
     * Ends the records still open: the sessions of a node that stopped without ending them (it
     * was killed) are gone with it; each record ends when its last part was kept. @return how many
     *
     * @param partsAtOpen the newest usage part's row id when the file was opened, before the
     *                    journal's replay ({@link #newestPart}); 0 to look at every part (after a
     *                    migration, which may have rebuilt the table and numbered its rows anew)
     */
    static int endOpen(SqlTransaction tx, String cause, long partsAtOpen) throws SQLException {
        // the node's records are all of its last run (its sessions lived in its memory): those of
        // the parts kept since it started, whose row ids follow the newest one then (node_run).
        // H2 numbers the rows of a file it opens after the newest row present: when the newest
        // rows were deleted since (retention), the ids of the replay's rows may be lower than that
        // mark, never lower than the newest row at the open. Looking at too many is only slower:
        // the records ended already are skipped.
        long since;
        try (ResultSet rs = tx.prepare("SELECT last_part FROM node_run WHERE id = 1").executeQuery()) {
            rs.next();
            since = Math.min(rs.getLong(1), partsAtOpen);
        }
        PreparedStatement u = tx.prepare("INSERT INTO usage_part (record_id, kind, subscriber_id, session_id, peer, "
                + "started_at, rating_group, unit, units, cost, currency, kept_at, ended_at, result_code, termination_cause) "
                + "SELECT record_id, MIN(kind), MIN(subscriber_id), MIN(session_id), MIN(peer), MIN(started_at), NULL, NULL, "
                + "0, 0, NULL, MAX(kept_at), MAX(kept_at), NULL, ? FROM usage_part WHERE _ROWID_ > ? GROUP BY record_id "
                + "HAVING MAX(ended_at) IS NULL");
        u.setString(1, cause);
        u.setLong(2, since);
        int ended = u.executeUpdate();
        markLooked(tx);
        return ended;
    }

    /** Every part kept so far has been looked at for open records: a start looks only at those kept after. */
    static void markLooked(SqlTransaction tx) throws SQLException {
        PreparedStatement run = tx.prepare("UPDATE node_run SET last_part = ? WHERE id = 1");
        run.setLong(1, newestPart(tx));
        run.executeUpdate();
    }

    /** The row id of the usage part kept last (H2), 0 for none. */
    static long newestPart(SqlTransaction tx) throws SQLException {
        try (ResultSet rs = tx.prepare("SELECT COALESCE(MAX(_ROWID_), 0) FROM usage_part").executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    // ------------------------------------------------------------------ in the embedded journal

    /**
     * A thread's buffer for the note it encodes, kept: a buffer, a stream and a copy per note
     * were 5 % of the bytes the node allocated under load (JFR), and every such byte brings G1's
     * next pause nearer.
     */
    static final class NoteBytes extends ByteArrayOutputStream {
        private final DataOutputStream out = new DataOutputStream(this);

        NoteBytes() {
            super(256);
        }

        /** The note's bytes are {@code bytes()[0, size())}. */
        byte[] bytes() {
            return buf;
        }
    }

    private static final ThreadLocal<NoteBytes> NOTE_BYTES = ThreadLocal.withInitial(NoteBytes::new);

    /**
     * A kept note as bytes in this thread's buffer, which its next call writes over: for the
     * journal (Ledger: after its amount changes, in the same frame; {@link #decode} reads it back).
     */
    static NoteBytes encoded(Kept k) {
        UsageNote n = k.note();
        NoteBytes b = NOTE_BYTES.get();
        b.reset();
        try {
            DataOutputStream out = b.out;
            out.writeByte(1); // version
            out.writeUTF(n.recordId());
            out.writeUTF(n.kind());
            out.writeUTF(n.subscriber());
            out.writeUTF(n.sessionId());
            text(out, n.peer());
            out.writeLong(n.started().toEpochMilli());
            out.writeLong(n.ratingGroup() == null ? -1 : n.ratingGroup());
            text(out, n.unit() == null ? null : n.unit().csvName());
            out.writeLong(k.units());
            out.writeLong(k.cost());
            text(out, n.currency());
            out.writeLong(n.ended() == null ? Long.MIN_VALUE : n.ended().toEpochMilli());
            out.writeLong(n.resultCode() == null ? Long.MIN_VALUE : n.resultCode());
            text(out, n.cause());
            out.writeLong(k.at());
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
    }

    static Kept decode(byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            if (in.readByte() != 1) {
                throw new IllegalArgumentException("unknown usage note version");
            }
            String id = in.readUTF();
            String kind = in.readUTF();
            String subscriber = in.readUTF();
            String session = in.readUTF();
            String peer = text(in);
            Instant started = Instant.ofEpochMilli(in.readLong());
            long rg = in.readLong();
            String unit = text(in);
            long units = in.readLong();
            long cost = in.readLong();
            String currency = text(in);
            long ended = in.readLong();
            long rc = in.readLong();
            String cause = text(in);
            long at = in.readLong();
            UsageNote n = new UsageNote(id, kind, subscriber, session, peer, started, rg < 0 ? null : rg,
                    unit == null ? null : UnitType.named(unit), units, false, currency,
                    ended == Long.MIN_VALUE ? null : Instant.ofEpochMilli(ended), rc == Long.MIN_VALUE ? null : rc, cause);
            return new Kept(n, units, cost, at);
        } catch (IOException e) {
            throw new IllegalArgumentException("a usage note that cannot be read: " + e.getMessage(), e);
        }
    }

    private static void text(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String text(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
