package org.gyocs.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The balance changes of one group commit on PostgreSQL, in two round trips however many they
 * are: one locks and reads every row they may change (the buckets they may take from, their keys'
 * holds) with the change keys already made and the sessions another node saved since; the rules
 * are applied here, in the order of the changes; one statement writes what changed, a set per
 * table. PostgreSQL spent most of a change's time in ocs_apply (db/postgresql/V17) starting the
 * seven statements it ran per change and preparing PL/pgSQL's expressions again in every
 * transaction, not on the rows (bench/RESULTS.md, issue 15 item 5).
 *
 * <p>The rules and results are V17's, which stays for nodes of the previous version during a
 * rolling upgrade, and the rows locked are those it locked (for a settlement, also the buckets its
 * usage beyond the holds would be debited from). The order differs: all of a batch's buckets
 * first, in id order, then its holds, where ocs_apply and the expiry sweep lock a key's holds
 * with their buckets first. Two batches wait for each other; a batch and one of those can wait
 * for each other in a cycle, which the lock timeout ends: a lock held elsewhere for 100 ms
 * (SQLState 55P03, as V9 made ocs_apply do) fails the batch, and GroupCommit runs its changes
 * again alone. The timeout holds for the rest of the batch's transaction (the sessions' states,
 * a refund), not only for the changes as in ocs_apply.
 */
final class PostgresChangeBatch {
    static final int RESERVE = 1;
    static final int SETTLE = 2;
    static final int RELEASE = 3;
    static final int DEBIT = 4;
    static final int SETTLE_AND_RESERVE = 5;

    /** A change as the batch takes it; unit as stored, change key in hex, session check or nulls. */
    record Change(int kind, String subscriber, String unit, Long ratingGroup, long amount, long used, String key,
                  Timestamp expires, String changeKey, String session, String instance, Long known, String node) {
    }

    /**
     * What a change made: nothing, as its session moved ({@code moved}); or, made now
     * ({@code fresh}) or before under its change key, V17's results: granted or settled (a),
     * still free (b), debited (c).
     */
    record Result(boolean moved, boolean fresh, long a, long b, long c) {
    }

    // In one round trip, three statements. First, for the rest of the transaction: the short
    // lock wait, and plans made once per statement, by the indexes. PostgreSQL otherwise planned
    // the batch's statements again at every execution (their arrays' lengths make each custom
    // plan look cheaper than a generic one): 13 % of its CPU under load. A generic plan made
    // while a table is nearly empty (a new store) reads it whole and joins by hash, and is kept
    // while the table grows (a run of bench/run.sh fell to 5,700 CCR/s); one made while the
    // holds' table was small joined it to every bucket's id in order (a merge join, 1.5 ms a
    // batch). Every statement here looks up a few rows by an index for each of a few array
    // elements: nested loops over index scans, the only plans left to the planner.
    /** How long a batch waits for a row locked elsewhere before it fails (55P03) and its changes run alone. */
    static final String LOCK_WAIT = "100ms";
    private static final String SETTINGS = "SELECT set_config('lock_timeout', '" + LOCK_WAIT + "', true),"
            + " set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),"
            + " set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true)";
    // Second, the buckets the changes may take from, as ocs_apply chose them (their subscriber's,
    // of their unit, of their rating group or none, not expired), locked in id order by a sort
    // ("+ 0": ordered by the column itself, a plan could read every bucket in the order of its
    // primary key to spare that sort of a few rows; a run fell to 2,200 CCR/s for 13 s).
    private static final String LOCK_BUCKETS = "SELECT b.id, b.subscriber_id, b.unit, b.rating_group, b.amount,"
            + " b.reserved, b.expires_at FROM bucket b WHERE b.subscriber_id = ANY (?::varchar[])"
            + " AND (b.expires_at IS NULL OR b.expires_at > ?) AND EXISTS (SELECT 1 FROM unnest(?::varchar[],"
            + " ?::varchar[], ?::bigint[]) AS t(subscriber_id, unit, rating_group) WHERE t.subscriber_id = b.subscriber_id"
            + " AND t.unit = b.unit AND (t.rating_group IS NULL OR b.rating_group IS NULL"
            + " OR b.rating_group = t.rating_group)) ORDER BY b.id + 0 FOR UPDATE";
    // Third, a statement of its own, so that what it reads is what was committed once those
    // locks were had (each statement reads as of its start): the keys' holds, locked with their
    // buckets (already locked, or expired, or by mistake another subscriber's), the change keys
    // already made, the sessions another node saved since.
    private static final String READ = "WITH held AS MATERIALIZED (SELECT r.reservation_key, r.bucket_id,"
            + " r.amount AS held, r.expires_at AS until, b.subscriber_id, b.unit, b.rating_group, b.amount, b.reserved,"
            + " b.expires_at FROM reservation r JOIN bucket b ON b.id = r.bucket_id"
            + " WHERE r.reservation_key = ANY (?::varchar[]) ORDER BY r.bucket_id + 0 FOR UPDATE)"
            + " SELECT 2, bucket_id, subscriber_id, unit, rating_group, amount, reserved, expires_at,"
            + " reservation_key, held, until FROM held"
            + " UNION ALL SELECT 3, NULL, NULL, NULL, NULL, result, result2, NULL, change_key::varchar, NULL, NULL"
            + " FROM applied_change WHERE change_key = ANY (?::bpchar[])"
            + " UNION ALL SELECT 4, u.i, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
            + " FROM unnest(?::varchar[], ?::varchar[], ?::varchar[], ?::bigint[]) WITH ORDINALITY"
            + " AS u(session_id, node, instance, known, i) JOIN charging_session cs ON cs.session_id = u.session_id"
            + " WHERE cs.node <> u.node OR cs.instance <> u.instance OR cs.last_number > u.known OR cs.closed";
    private static final String READ_ALL = SETTINGS + "; " + LOCK_BUCKETS + "; " + READ;

    private static final String WRITE = "WITH buckets AS (UPDATE bucket bk SET amount = u.amount, reserved = u.reserved"
            + " FROM unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS u(id, amount, reserved)"
            + " WHERE bk.id = u.id RETURNING 1),"
            + " renewed AS (UPDATE reservation r SET amount = u.amount, expires_at = u.expires_at"
            + " FROM unnest(?::varchar[], ?::bigint[], ?::bigint[], ?::timestamp[])"
            + " AS u(reservation_key, bucket_id, amount, expires_at)"
            + " WHERE r.reservation_key = u.reservation_key AND r.bucket_id = u.bucket_id RETURNING 1),"
            + " gone AS (DELETE FROM reservation r USING unnest(?::varchar[], ?::bigint[]) AS u(reservation_key, bucket_id)"
            + " WHERE r.reservation_key = u.reservation_key AND r.bucket_id = u.bucket_id RETURNING 1),"
            + " added AS (INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at)"
            + " SELECT * FROM unnest(?::varchar[], ?::bigint[], ?::bigint[], ?::timestamp[]) RETURNING 1),"
            + " made AS (INSERT INTO applied_change (change_key, result, result2, applied_at)"
            + " SELECT u.change_key, u.result, u.result2, ? FROM unnest(?::bpchar[], ?::bigint[], ?::bigint[])"
            + " AS u(change_key, result, result2) RETURNING 1),"
            + " parts AS (INSERT INTO usage_part (" + UsageRecords.PART_COLUMNS + ") SELECT * FROM unnest("
            + partArrays() + ") RETURNING 1)"
            + ", sessions AS (" + PostgresSharedSessions.UPSERT + " RETURNING 1)"
            + " SELECT (SELECT count(*) FROM buckets), (SELECT count(*) FROM renewed), (SELECT count(*) FROM gone),"
            + " (SELECT count(*) FROM added), (SELECT count(*) FROM made), (SELECT count(*) FROM parts)";

    /** The SQL array type of a usage part column of this java.sql.Types type (UsageRecords.PART_TYPES). */
    private static String arrayType(int type) {
        return switch (type) {
            case java.sql.Types.BIGINT -> "bigint";
            case java.sql.Types.TIMESTAMP -> "timestamp";
            default -> "varchar";
        };
    }

    /** The WRITE's parameters of the usage parts: an array a column, cast to its type. */
    private static String partArrays() {
        return java.util.Arrays.stream(UsageRecords.PART_TYPES).mapToObj(t -> "?::" + arrayType(t) + "[]")
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /** A bucket as read, and as the batch leaves it. */
    private static final class Row {
        final long id;
        final String unit;
        final Long ratingGroup;
        final Timestamp expires;
        final long amountRead;
        final long reservedRead;
        long amount;
        long reserved;

        Row(ResultSet rs, int first) throws SQLException {
            id = rs.getLong(first);
            unit = rs.getString(first + 2);
            long rg = rs.getLong(first + 3);
            ratingGroup = rs.wasNull() ? null : rg;
            amountRead = amount = rs.getLong(first + 4);
            reservedRead = reserved = rs.getLong(first + 5);
            expires = rs.getTimestamp(first + 6);
        }

        long free() {
            return amount - reserved;
        }
    }

    /** A key's hold on one bucket: its amount as read and as left (null: none), and its expiry. */
    private static final class Hold {
        final Row bucket;
        final Long read;
        final Timestamp readUntil;
        Long now;
        Timestamp until;

        Hold(Row bucket, Long amount, Timestamp until) {
            this.bucket = bucket;
            this.read = amount;
            this.readUntil = until;
            this.now = amount;
            this.until = until;
        }
    }

    private final Map<Long, Row> buckets = new HashMap<>();
    private final Map<String, List<Row>> bySubscriber = new HashMap<>();
    /** Per key, its holds by bucket id (settled and released in that order). */
    private final Map<String, TreeMap<Long, Hold>> holds = new HashMap<>();
    private final Map<String, long[]> made = new HashMap<>();
    private final List<String> madeKeys = new ArrayList<>();
    private final Set<Integer> moved = new HashSet<>();
    private final Timestamp now;
    private Result[] results;

    private PostgresChangeBatch(Timestamp now) {
        this.now = now;
    }

    /**
     * Locks and reads the rows of the changes and works out what each does, in their order; none
     * is written until {@link #write}, in the same transaction.
     */
    static PostgresChangeBatch make(SqlTransaction tx, List<Change> changes, Timestamp now) throws SQLException {
        PostgresChangeBatch batch = new PostgresChangeBatch(now);
        batch.read(tx, changes);
        batch.results = new Result[changes.size()];
        for (int i = 0; i < batch.results.length; i++) {
            batch.results[i] = batch.make(i, changes.get(i));
        }
        return batch;
    }

    /** What each change made, in their order. */
    Result[] results() {
        return results;
    }

    private void read(SqlTransaction tx, List<Change> changes) throws SQLException {
        Set<String> subscribers = new HashSet<>();
        Set<String> keys = new HashSet<>();
        Set<String> changeKeys = new HashSet<>();
        // what each change may take from: a settlement too, for usage beyond its holds
        List<String> wantSubscriber = new ArrayList<>();
        List<String> wantUnit = new ArrayList<>();
        List<Long> wantRatingGroup = new ArrayList<>();
        int n = changes.size();
        String[] session = new String[n];
        String[] node = new String[n];
        String[] instance = new String[n];
        Long[] known = new Long[n];
        for (int i = 0; i < n; i++) {
            Change c = changes.get(i);
            if (c.subscriber() != null && c.unit() != null && c.kind() != RELEASE) {
                subscribers.add(c.subscriber());
                wantSubscriber.add(c.subscriber());
                wantUnit.add(c.unit());
                wantRatingGroup.add(c.ratingGroup());
            }
            if (c.key() != null) {
                keys.add(c.key());
            }
            if (c.changeKey() != null) {
                changeKeys.add(c.changeKey());
            }
            session[i] = c.session();
            node[i] = c.node();
            instance[i] = c.instance();
            known[i] = c.known();
        }
        Connection connection = tx.connection();
        PreparedStatement s = tx.prepare(READ_ALL);
        s.setArray(1, connection.createArrayOf("varchar", subscribers.toArray(new String[0])));
        s.setTimestamp(2, now);
        s.setArray(3, connection.createArrayOf("varchar", wantSubscriber.toArray(new String[0])));
        s.setArray(4, connection.createArrayOf("varchar", wantUnit.toArray(new String[0])));
        s.setArray(5, connection.createArrayOf("bigint", wantRatingGroup.toArray(new Long[0])));
        s.setArray(6, connection.createArrayOf("varchar", keys.toArray(new String[0])));
        s.setArray(7, connection.createArrayOf("varchar", changeKeys.toArray(new String[0])));
        s.setArray(8, connection.createArrayOf("varchar", session));
        s.setArray(9, connection.createArrayOf("varchar", node));
        s.setArray(10, connection.createArrayOf("varchar", instance));
        s.setArray(11, connection.createArrayOf("bigint", known));
        s.execute(); // the settings' row first
        if (!s.getMoreResults()) {
            throw new SQLException("the batch's read returned no buckets");
        }
        try (ResultSet rs = s.getResultSet()) {
            while (rs.next()) {
                bucket(rs, 1);
            }
        }
        if (!s.getMoreResults()) {
            throw new SQLException("the batch's read returned no holds");
        }
        try (ResultSet rs = s.getResultSet()) {
            while (rs.next()) {
                switch (rs.getInt(1)) {
                    case 2 -> {
                        Row b = bucket(rs, 2);
                        holds.computeIfAbsent(rs.getString(9), k -> new TreeMap<>())
                                .put(b.id, new Hold(b, rs.getLong(10), rs.getTimestamp(11)));
                    }
                    case 3 -> made.put(rs.getString(9), new long[] {rs.getLong(6), rs.getLong(7)});
                    case 4 -> moved.add(rs.getInt(2) - 1);
                    default -> throw new SQLException("unexpected row in the batch's read");
                }
            }
        }
    }

    /**
     * A bucket read, its columns from {@code first} on (id, subscriber, unit, rating group,
     * amount, reserved, expiry); read twice (a bucket held by a key), the first is kept.
     */
    private Row bucket(ResultSet rs, int first) throws SQLException {
        long id = rs.getLong(first);
        Row b = buckets.get(id);
        if (b == null) {
            b = new Row(rs, first);
            buckets.put(id, b);
            bySubscriber.computeIfAbsent(rs.getString(first + 1), k -> new ArrayList<>()).add(b);
        }
        return b;
    }

    /** One change, as V17's ocs_apply makes it, on the rows as the earlier changes left them. */
    private Result make(int i, Change c) throws SQLException {
        if (moved.contains(i)) {
            return new Result(true, false, 0, 0, 0);
        }
        if (c.changeKey() != null) {
            long[] earlier = made.get(c.changeKey());
            if (earlier != null) {
                return new Result(false, false, earlier[0], earlier[1], 0);
            }
        }
        long a = 0;
        long b = 0;
        long debited = 0;
        switch (c.kind()) {
            case RESERVE, SETTLE, SETTLE_AND_RESERVE -> {
                if (c.kind() != RESERVE) {
                    refuseNegative("ocs_settle: usage", c.used());
                    long left = c.used();
                    for (Hold h : holdsOf(c.key())) {
                        long d = Math.min(left, h.now);
                        h.bucket.amount -= d;
                        h.bucket.reserved -= h.now;
                        h.now = null;
                        left -= d;
                        debited += d;
                    }
                    if (left > 0) { // beyond the holds: debited from what is free
                        debited += debitFree(c, left);
                    }
                    a = debited;
                }
                if (c.kind() != SETTLE) {
                    long need = c.amount();
                    TreeMap<Long, Hold> mine = holds.computeIfAbsent(c.key(), k -> new TreeMap<>());
                    for (Row bucket : candidates(c)) {
                        long free = bucket.free();
                        long take = Math.min(free, need);
                        if (take > 0) {
                            bucket.reserved += take;
                            Hold h = mine.computeIfAbsent(bucket.id, id -> new Hold(bucket, null, null));
                            if (h.now != null) { // V17 inserted it beside the one there: refused
                                throw new SQLException("duplicate key value violates unique constraint "
                                        + "\"reservation_pkey\": " + c.key() + ", bucket " + bucket.id, "23505");
                            }
                            h.now = take;
                            h.until = c.expires();
                            need -= take;
                        }
                        b += free - Math.max(0, take);
                    }
                    a = c.amount() - need;
                }
            }
            case RELEASE -> {
                for (Hold h : holdsOf(c.key())) {
                    h.bucket.reserved -= h.now;
                    h.now = null;
                }
            }
            case DEBIT -> {
                refuseNegative("ocs_debit_free: amount", c.amount());
                a = debitFree(c, c.amount());
                debited = a;
            }
            default -> throw new SQLException("ocs_apply: no change of kind " + c.kind(), "22023");
        }
        if (c.changeKey() != null) {
            made.put(c.changeKey(), new long[] {a, b});
            madeKeys.add(c.changeKey());
        }
        return new Result(false, true, a, b, debited);
    }

    private static void refuseNegative(String what, long amount) throws SQLException {
        if (amount < 0) {
            throw new SQLException(what + " " + amount + " is negative", "23514");
        }
    }

    /** The key's holds left, in bucket id order. */
    private List<Hold> holdsOf(String key) {
        TreeMap<Long, Hold> mine = holds.get(key);
        List<Hold> out = new ArrayList<>();
        if (mine != null) {
            for (Hold h : mine.values()) {
                if (h.now != null) {
                    out.add(h);
                }
            }
        }
        return out;
    }

    /** Debits up to {@code amount} from what is free, in preference order; @return what it debited. */
    private long debitFree(Change c, long amount) {
        long left = amount;
        for (Row bucket : candidates(c)) {
            long d = Math.min(left, bucket.free());
            if (d > 0) {
                bucket.amount -= d;
                left -= d;
            }
        }
        return amount - left;
    }

    /** The subscriber's buckets a change may use, not expired, in the order it uses them (Bucket#useOrder). */
    private List<Row> candidates(Change c) {
        List<Row> out = new ArrayList<>();
        for (Row b : bySubscriber.getOrDefault(c.subscriber(), List.of())) {
            if (b.unit.equals(c.unit()) && Bucket.servesRatingGroup(b.ratingGroup, c.ratingGroup())
                    && (b.expires == null || b.expires.after(now))) {
                out.add(b);
            }
        }
        out.sort(Bucket.useOrder(c.ratingGroup(), (Row b) -> b.ratingGroup, b -> b.expires, b -> b.id));
        return out;
    }

    /**
     * Writes what the changes did, the usage parts they go with (UsageRecords#parts) and sessions'
     * states (at most one per Session-Id: PostgresSharedSessions#rounds), in one statement. The
     * parts and the states had a statement and a round trip each.
     */
    void write(SqlTransaction tx, List<Object[]> usageParts, List<PostgresSharedSessions.Write> sessions)
            throws SQLException {
        List<Long> bucketIds = new ArrayList<>();
        List<Long> amounts = new ArrayList<>();
        List<Long> reserved = new ArrayList<>();
        for (Row b : buckets.values()) {
            if (b.amount != b.amountRead || b.reserved != b.reservedRead) {
                bucketIds.add(b.id);
                amounts.add(b.amount);
                reserved.add(b.reserved);
            }
        }
        HoldWrites renewed = new HoldWrites();
        HoldWrites gone = new HoldWrites();
        HoldWrites added = new HoldWrites();
        for (Map.Entry<String, TreeMap<Long, Hold>> e : holds.entrySet()) {
            for (Hold h : e.getValue().values()) {
                if (h.read != null && h.now != null) {
                    if (!h.read.equals(h.now) || !java.util.Objects.equals(h.until, h.readUntil)) {
                        renewed.add(e.getKey(), h);
                    }
                } else if (h.read != null) {
                    gone.add(e.getKey(), h);
                } else if (h.now != null) {
                    added.add(e.getKey(), h);
                }
            }
        }
        if (bucketIds.isEmpty() && renewed.keys.isEmpty() && gone.keys.isEmpty() && added.keys.isEmpty()
                && madeKeys.isEmpty() && usageParts.isEmpty() && sessions.isEmpty()) {
            return;
        }
        Connection connection = tx.connection();
        PreparedStatement s = tx.prepare(WRITE);
        int p = 1;
        s.setArray(p++, connection.createArrayOf("bigint", bucketIds.toArray(new Long[0])));
        s.setArray(p++, connection.createArrayOf("bigint", amounts.toArray(new Long[0])));
        s.setArray(p++, connection.createArrayOf("bigint", reserved.toArray(new Long[0])));
        p = renewed.set(s, connection, p, true);
        p = gone.set(s, connection, p, false);
        p = added.set(s, connection, p, true);
        s.setTimestamp(p++, now);
        Long[] madeA = new Long[madeKeys.size()];
        Long[] madeB = new Long[madeKeys.size()];
        for (int k = 0; k < madeA.length; k++) {
            long[] r = made.get(madeKeys.get(k));
            madeA[k] = r[0];
            madeB[k] = r[1];
        }
        s.setArray(p++, connection.createArrayOf("varchar", madeKeys.toArray(new String[0])));
        s.setArray(p++, connection.createArrayOf("bigint", madeA));
        s.setArray(p++, connection.createArrayOf("bigint", madeB));
        for (int column = 0; column < UsageRecords.PART_TYPES.length; column++) {
            String type = arrayType(UsageRecords.PART_TYPES[column]);
            // typed, as the driver sends String[] and Long[] in binary but Object[] as escaped text
            Object[] values = switch (type) {
                case "bigint" -> new Long[usageParts.size()];
                case "timestamp" -> new Timestamp[usageParts.size()];
                default -> new String[usageParts.size()];
            };
            for (int k = 0; k < values.length; k++) {
                values[k] = usageParts.get(k)[column];
            }
            s.setArray(p++, connection.createArrayOf(type, values));
        }
        PostgresSharedSessions.setUpsert(s, connection, p, sessions);
        try (ResultSet rs = s.executeQuery()) {
            rs.next();
            long[] expected = {bucketIds.size(), renewed.keys.size(), gone.keys.size(), added.keys.size(),
                    madeKeys.size(), usageParts.size()};
            for (int k = 0; k < expected.length; k++) {
                if (rs.getLong(k + 1) != expected[k]) { // every row was locked by the read: cannot be
                    throw new SQLException("the batch's write changed " + rs.getLong(k + 1) + " rows of "
                            + expected[k] + " (set " + (k + 1) + ")");
                }
            }
        }
    }

    /** Holds to write, as the statement's arrays take them. */
    private static final class HoldWrites {
        final List<String> keys = new ArrayList<>();
        final List<Long> bucketIds = new ArrayList<>();
        final List<Long> amounts = new ArrayList<>();
        final List<Timestamp> until = new ArrayList<>();

        void add(String key, Hold h) {
            keys.add(key);
            bucketIds.add(h.bucket.id);
            amounts.add(h.now == null ? 0 : h.now);
            until.add(h.until);
        }

        int set(PreparedStatement s, Connection connection, int p, boolean withAmounts) throws SQLException {
            s.setArray(p++, connection.createArrayOf("varchar", keys.toArray(new String[0])));
            s.setArray(p++, connection.createArrayOf("bigint", bucketIds.toArray(new Long[0])));
            if (withAmounts) {
                s.setArray(p++, connection.createArrayOf("bigint", amounts.toArray(new Long[0])));
                s.setArray(p++, connection.createArrayOf("timestamp", until.toArray(new Timestamp[0])));
            }
            return p;
        }
    }
}
