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

    /** Adds a kept note to its record, made if missing; part of the caller's transaction. */
    static void apply(SqlTransaction tx, Kept k) throws SQLException {
        applyAll(tx, List.of(k));
    }

    /**
     * Adds kept notes to their records, in the caller's transaction, in a few batched statements:
     * each record's head if it is new, its lines summed per rating group and unit, its end if it
     * has none yet (the first end stands: a retransmission's is the same).
     */
    static void applyAll(SqlTransaction tx, List<Kept> kept) throws SQLException {
        if (kept.isEmpty()) {
            return;
        }
        Map<String, UsageNote> heads = new LinkedHashMap<>();
        Map<String, UsageNote> ends = new LinkedHashMap<>();
        Map<List<Object>, long[]> lines = new LinkedHashMap<>(); // units, cost, when (the latest)
        Map<List<Object>, String> currencies = new LinkedHashMap<>();
        for (Kept k : kept) {
            UsageNote n = k.note();
            heads.putIfAbsent(n.recordId(), n);
            if (n.ended() != null) {
                ends.putIfAbsent(n.recordId(), n);
            }
            if (n.unit() != null && (k.units() != 0 || k.cost() != 0)) {
                List<Object> key = List.of(n.recordId(), n.ratingGroup() == null ? -1L : n.ratingGroup(), n.unit().csvName());
                long[] sum = lines.computeIfAbsent(key, x -> new long[3]);
                sum[0] += k.units();
                sum[1] += k.cost();
                sum[2] = Math.max(sum[2], k.at());
                if (n.currency() != null) {
                    currencies.putIfAbsent(key, n.currency());
                }
            }
        }
        PreparedStatement h = tx.prepare("INSERT INTO usage_record (record_id, kind, subscriber_id, session_id, peer, "
                + "started_at) SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM usage_record WHERE record_id = ?)");
        for (UsageNote n : heads.values()) {
            h.setString(1, n.recordId());
            h.setString(2, n.kind());
            h.setString(3, n.subscriber());
            h.setString(4, n.sessionId());
            h.setString(5, n.peer());
            h.setTimestamp(6, Timestamp.from(n.started()));
            h.setString(7, n.recordId());
            h.addBatch();
        }
        h.executeBatch();
        if (!lines.isEmpty()) {
            PreparedStatement l = tx.prepare("INSERT INTO usage_line (record_id, rating_group, unit, units, cost, currency, "
                    + "kept_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
            for (Map.Entry<List<Object>, long[]> e : lines.entrySet()) {
                l.setString(1, (String) e.getKey().get(0));
                l.setLong(2, (Long) e.getKey().get(1));
                l.setString(3, (String) e.getKey().get(2));
                l.setLong(4, e.getValue()[0]);
                l.setLong(5, e.getValue()[1]);
                l.setString(6, currencies.get(e.getKey()));
                l.setTimestamp(7, new Timestamp(e.getValue()[2]));
                l.addBatch();
            }
            l.executeBatch();
        }
        if (!ends.isEmpty()) {
            PreparedStatement d = tx.prepare("INSERT INTO usage_end (record_id, ended_at, result_code, termination_cause) "
                    + "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM usage_end WHERE record_id = ?)");
            for (UsageNote n : ends.values()) {
                d.setString(1, n.recordId());
                d.setTimestamp(2, Timestamp.from(n.ended()));
                setLong(d, 3, n.resultCode());
                d.setString(4, n.cause());
                d.setString(5, n.recordId());
                d.addBatch();
            }
            d.executeBatch();
        }
    }

    private static void setLong(PreparedStatement s, int i, Long v) throws SQLException {
        if (v == null) {
            s.setNull(i, Types.BIGINT);
        } else {
            s.setLong(i, v);
        }
    }

    /**
     * The records of a subscriber (null: everyone's) that started in [since, until), oldest
     * first, at most {@code limit}.
     */
    static List<UsageRecord> find(SqlTransaction tx, String subscriber, Instant since, Instant until, int limit)
            throws SQLException {
        PreparedStatement s = tx.prepare("SELECT r.record_id, r.kind, r.subscriber_id, r.session_id, r.peer, r.started_at, "
                + "e.ended_at, e.result_code, e.termination_cause FROM usage_record r "
                + "LEFT JOIN usage_end e ON e.record_id = r.record_id WHERE r.started_at >= ? AND r.started_at < ?"
                + (subscriber == null ? "" : " AND r.subscriber_id = ?") + " ORDER BY r.started_at, r.record_id");
        s.setTimestamp(1, Timestamp.from(since));
        s.setTimestamp(2, Timestamp.from(until));
        if (subscriber != null) {
            s.setString(3, subscriber);
        }
        s.setMaxRows(limit);
        Map<String, Object[]> heads = new LinkedHashMap<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                Timestamp ended = rs.getTimestamp(7);
                long rc = rs.getLong(8);
                Long resultCode = rs.wasNull() ? null : rc;
                heads.put(rs.getString(1), new Object[] {rs.getString(2), rs.getString(3), rs.getString(4),
                    rs.getString(5), rs.getTimestamp(6).toInstant(), ended == null ? null : ended.toInstant(), resultCode,
                    rs.getString(9)});
            }
        }
        List<UsageRecord> out = new ArrayList<>(heads.size());
        PreparedStatement l = tx.prepare("SELECT rating_group, unit, SUM(units), SUM(cost), MAX(currency) FROM usage_line "
                + "WHERE record_id = ? GROUP BY rating_group, unit ORDER BY rating_group, unit");
        for (Map.Entry<String, Object[]> e : heads.entrySet()) {
            l.setString(1, e.getKey());
            List<Line> lines = new ArrayList<>(1);
            try (ResultSet rs = l.executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(1);
                    String currency = rs.getString(5);
                    lines.add(new Line(rg < 0 ? null : rg, rs.getString(2), rs.getLong(3), rs.getLong(4),
                            currency == null ? null : currency.trim()));
                }
            }
            Object[] h = e.getValue();
            out.add(new UsageRecord(e.getKey(), (String) h[0], (String) h[1], (String) h[2], (String) h[3], (Instant) h[4],
                    (Instant) h[5], (Long) h[6], (String) h[7], lines));
        }
        return out;
    }

    /** Forgets the records that ended before {@code before} (the retention). @return how many */
    static int purge(SqlTransaction tx, Instant before) throws SQLException {
        PreparedStatement d = tx.prepare("DELETE FROM usage_record WHERE record_id IN "
                + "(SELECT record_id FROM usage_end WHERE ended_at < ?)");
        d.setTimestamp(1, Timestamp.from(before));
        return d.executeUpdate();
    }

    /**
     * Ends the records still open: the sessions of a node that stopped without ending them (it
     * was killed) are gone with it; each record ends when its last line was kept. @return how many
     */
    static int endOpen(SqlTransaction tx, String cause) throws SQLException {
        PreparedStatement u = tx.prepare("INSERT INTO usage_end (record_id, ended_at, result_code, termination_cause) "
                + "SELECT r.record_id, COALESCE(MAX(l.kept_at), r.started_at), NULL, ? FROM usage_record r "
                + "LEFT JOIN usage_line l ON l.record_id = r.record_id "
                + "WHERE NOT EXISTS (SELECT 1 FROM usage_end e WHERE e.record_id = r.record_id) "
                + "GROUP BY r.record_id, r.started_at");
        u.setString(1, cause);
        return u.executeUpdate();
    }

    // ------------------------------------------------------------------ in the embedded journal

    /** A kept note as bytes, for the journal (Ledger: after its amount changes, in the same frame). */
    static byte[] encode(Kept k) {
        UsageNote n = k.note();
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream(160);
            DataOutputStream out = new DataOutputStream(b);
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
            return b.toByteArray();
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
