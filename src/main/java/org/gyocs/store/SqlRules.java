package org.gyocs.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;

/**
 * The charging rules as portable SQL statements, on the tables of db/migration: what the SQL
 * store runs for each change, what PostgreSQL's functions (db/postgresql) do in one call, and
 * what administration and refunds run on every kind of store.
 */
final class SqlRules {
    // Rows are always locked in id order, whichever query: concurrent transactions then wait for
    // each other instead of deadlocking. The preference order is applied afterwards in Java.
    private static final String BUCKETS_FOR_RATING_GROUP = "SELECT id, amount, reserved, rating_group, expires_at "
            + "FROM bucket WHERE subscriber_id = ? AND unit = ? AND (rating_group = ? OR rating_group IS NULL) "
            + "AND (expires_at IS NULL OR expires_at > ?) ORDER BY id FOR UPDATE";
    private static final String BUCKETS_ANY = "SELECT id, amount, reserved, rating_group, expires_at "
            + "FROM bucket WHERE subscriber_id = ? AND unit = ? AND (expires_at IS NULL OR expires_at > ?) "
            + "ORDER BY id FOR UPDATE";


    private SqlRules() {
    }

    /**
     * Locks the buckets a request may use and returns them as {id, amount, reserved} in the order
     * they are used: for a rating group, its own buckets before the generic ones; without one
     * (Open5GS), generic ones first; then the soonest expiry, then the oldest.
     */
    static List<long[]> lockBuckets(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup)
            throws SQLException {
        List<Candidate> rows = new ArrayList<>();
        PreparedStatement s = tx.prepare(ratingGroup == null ? BUCKETS_ANY : BUCKETS_FOR_RATING_GROUP);
        int i = 1;
        s.setString(i++, subscriber);
        s.setString(i++, Bucket.unitName(unit));
        if (ratingGroup != null) {
            s.setLong(i++, ratingGroup);
        }
        s.setTimestamp(i, Timestamp.from(Instant.now()));
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                long rg = rs.getLong(4);
                Long ratingGroupOf = rs.wasNull() ? null : rg;
                rows.add(new Candidate(new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)}, ratingGroupOf,
                        rs.getTimestamp(5)));
            }
        }
        rows.sort(Bucket.useOrder(ratingGroup, Candidate::ratingGroup, Candidate::expires, c -> c.row()[0]));
        List<long[]> out = new ArrayList<>(rows.size());
        for (Candidate r : rows) {
            out.add(r.row());
        }
        return out;
    }

    /** A bucket locked for a request: {id, amount, reserved}, and what orders its use. */
    private record Candidate(long[] row, Long ratingGroup, Timestamp expires) {
    }

    /** Subscriber, unit and rating group (or NULL) as the first three parameters of a statement. */
    static void bucketArguments(PreparedStatement s, String subscriber, UnitType unit, Long ratingGroup)
            throws SQLException {
        s.setString(1, subscriber);
        s.setString(2, Bucket.unitName(unit));
        if (ratingGroup == null) {
            s.setNull(3, Types.BIGINT);
        } else {
            s.setLong(3, ratingGroup);
        }
    }

    /**
     * Locks the reservation rows of a key: {bucket id, amount held}, in id order. On PostgreSQL
     * also their buckets, first, in the order every change locks buckets. The embedded store
     * runs every change on its one committer and locks the buckets as it updates them: joining
     * them here is not needed (that query was 18 % of the committer's samples; without the join
     * the difference is within the noise of this machine).
     */
    static List<long[]> lockReservation(SqlTransaction tx, String key) throws SQLException {
        return lockReservation(tx, key, null);
    }

    /**
     * As above, only the holds still past {@code expiredBefore} (null: all) once locked: on
     * PostgreSQL a CCR-U changes a hold in place (V17), and the expiry sweep, which found the key
     * before it waited for the lock, must not release the grant that CCR-U just renewed.
     */
    static List<long[]> lockReservation(SqlTransaction tx, String key, Instant expiredBefore) throws SQLException {
        List<long[]> held = new ArrayList<>();
        PreparedStatement s = tx.prepare(expiredBefore == null
                ? "SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id "
                        + "WHERE r.reservation_key = ? ORDER BY r.bucket_id FOR UPDATE"
                : "SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id "
                        + "WHERE r.reservation_key = ? AND r.expires_at < ? ORDER BY r.bucket_id FOR UPDATE");
        s.setString(1, key);
        if (expiredBefore != null) {
            s.setTimestamp(2, Timestamp.from(expiredBefore));
        }
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                held.add(new long[] {rs.getLong(1), rs.getLong(2)});
            }
        }
        return held;
    }

    static long debitFree(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount)
            throws SQLException {
        long left = amount;
        List<long[]> buckets = lockBuckets(tx, subscriber, unit, ratingGroup);
        PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount - ? WHERE id = ?");
        for (long[] b : buckets) {
            long d = Math.min(left, b[1] - b[2]);
            if (d > 0) {
                u.setLong(1, d);
                u.setLong(2, b[0]);
                u.addBatch();
                left -= d;
            }
        }
        u.executeBatch();
        return amount - left;
    }

    static void releaseKey(SqlTransaction tx, String key) throws SQLException {
        releaseKey(tx, key, null);
    }

    /** Releases the key's holds (only those past {@code expiredBefore}, when not null); @return whether any */
    static boolean releaseKey(SqlTransaction tx, String key, Instant expiredBefore) throws SQLException {
        List<long[]> held = lockReservation(tx, key, expiredBefore);
        PreparedStatement u = tx.prepare("UPDATE bucket SET reserved = reserved - ? WHERE id = ?");
        for (long[] h : held) {
            u.setLong(1, h[1]);
            u.setLong(2, h[0]);
            u.addBatch();
        }
        u.executeBatch();
        deleteHeld(tx, key, held);
        return !held.isEmpty();
    }

    /**
     * Deletes the holds that were locked and settled or released, and only those: a hold of the
     * key that another transaction added meanwhile (on PostgreSQL, a CCR-U on another node) was not
     * counted off its bucket's reserved, and deleting it would leave that reserved held for good.
     */
    static void deleteHeld(SqlTransaction tx, String key, List<long[]> held) throws SQLException {
        if (held.isEmpty()) {
            return;
        }
        PreparedStatement d = tx.prepare("DELETE FROM reservation WHERE reservation_key = ? AND bucket_id = ?");
        for (long[] h : held) {
            d.setString(1, key);
            d.setLong(2, h[0]);
            d.addBatch();
        }
        d.executeBatch();
    }

    static void creditIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount)
            throws SQLException {
        ensureSubscriber(tx, subscriber); // the caller moves the generation
        String sql = "UPDATE bucket SET amount = amount + ? WHERE id = (SELECT MIN(id) FROM bucket WHERE subscriber_id = ? "
                + "AND unit = ? AND " + (ratingGroup == null ? "rating_group IS NULL" : "rating_group = ?")
                + " AND (expires_at IS NULL OR expires_at > ?))";
        PreparedStatement u = tx.prepare(sql);
        int i = 1;
        u.setLong(i++, amount);
        u.setString(i++, subscriber);
        u.setString(i++, Bucket.unitName(unit));
        if (ratingGroup != null) {
            u.setLong(i++, ratingGroup);
        }
        u.setTimestamp(i, Timestamp.from(Instant.now()));
        if (u.executeUpdate() == 0) {
            insertBucket(tx, subscriber, unit, ratingGroup, amount, null);
        }
    }

    /** Creates the subscriber if it is missing (the caller moves the generation). */
    static void ensureSubscriber(SqlTransaction tx, String subscriber) throws SQLException {
        PreparedStatement s = tx.prepare("SELECT 1 FROM subscriber WHERE id = ?");
        s.setString(1, subscriber);
        try (ResultSet rs = s.executeQuery()) {
            if (rs.next()) {
                return;
            }
        }
        PreparedStatement i = tx.prepare("INSERT INTO subscriber (id) VALUES (?)");
        i.setString(1, subscriber);
        i.executeUpdate();
    }

    /**
     * Counts a change of the subscriber table, in the transaction that makes it: nodes forget
     * which identities they know to be provisioned when this number moves (ProvisionedIdentities).
     * The row lock also orders concurrent provisioning transactions.
     */
    static long nextGeneration(SqlTransaction tx) throws SQLException {
        tx.prepare("UPDATE provisioning SET generation = generation + 1 WHERE id = 1").executeUpdate();
        return generation(tx);
    }

    static long generation(SqlTransaction tx) throws SQLException {
        try (ResultSet rs = tx.prepare("SELECT generation FROM provisioning WHERE id = 1").executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("the provisioning row is missing: restore it with "
                        + "INSERT INTO provisioning (id, generation) VALUES (1, 0)");
            }
            return rs.getLong(1);
        }
    }

    /**
     * Clears every bucket's holds (bucket.reserved). In an embedded file only an SQL store charging
     * it sets them: the node keeps its own in memory. @return the buckets that held some
     */
    static int releaseHolds(SqlTransaction tx) throws SQLException {
        return tx.prepare("UPDATE bucket SET reserved = 0 WHERE reserved <> 0").executeUpdate();
    }

    static final String INSERT_BUCKET =
            "INSERT INTO bucket (subscriber_id, unit, rating_group, amount, reserved, expires_at) VALUES (?, ?, ?, ?, 0, ?)";

    static void insertBucket(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount,
                                     Instant expires) throws SQLException {
        PreparedStatement i = tx.prepare(INSERT_BUCKET);
        bucketRow(i, subscriber, unit, ratingGroup, amount, expires);
        i.executeUpdate();
    }

    /** The parameters of {@link #INSERT_BUCKET} for one bucket. */
    static void bucketRow(PreparedStatement i, String subscriber, UnitType unit, Long ratingGroup, long amount,
                          Instant expires) throws SQLException {
        bucketArguments(i, subscriber, unit, ratingGroup);
        i.setLong(4, amount);
        if (expires == null) {
            i.setNull(5, Types.TIMESTAMP);
        } else {
            i.setTimestamp(5, Timestamp.from(expires));
        }
    }

    static Reservation reserveIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup,
                                         long amount, String key, Instant expires) throws SQLException {
        List<long[]> buckets = lockBuckets(tx, subscriber, unit, ratingGroup);
        long need = amount;
        long available = 0;
        PreparedStatement hold = tx.prepare("UPDATE bucket SET reserved = reserved + ? WHERE id = ?");
        PreparedStatement record = tx.prepare(
                "INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at) VALUES (?, ?, ?, ?)");
        for (long[] b : buckets) {
            long free = b[1] - b[2];
            long take = Math.min(free, need);
            if (take > 0) {
                hold.setLong(1, take);
                hold.setLong(2, b[0]);
                hold.addBatch();
                record.setString(1, key);
                record.setLong(2, b[0]);
                record.setLong(3, take);
                record.setTimestamp(4, Timestamp.from(expires));
                record.addBatch();
                need -= take;
            }
            available += free - Math.max(0, take);
        }
        hold.executeBatch();
        record.executeBatch();
        return new Reservation(amount - need, available);
    }

    static long settleIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, String key,
                                 long used) throws SQLException {
        long left = used;
        long debited = 0;
        // 1. against the reservation
        PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount - ?, reserved = reserved - ? WHERE id = ?");
        List<long[]> held = lockReservation(tx, key);
        for (long[] h : held) {
            long d = Math.min(left, h[1]);
            u.setLong(1, d);
            u.setLong(2, h[1]);
            u.setLong(3, h[0]);
            u.addBatch();
            left -= d;
            debited += d;
        }
        u.executeBatch();
        deleteHeld(tx, key, held);
        // 2. usage beyond the reservation, from what is still free, never below zero
        if (left > 0) {
            debited += debitFree(tx, subscriber, unit, ratingGroup, left);
        }
        return debited;
    }


    /** Releases the reservations past their expiry; @return how many keys */
    static int releaseExpired(SqlTransaction tx, Instant now) throws SQLException {
        Set<String> keys = new LinkedHashSet<>();
        PreparedStatement s = tx.prepare("SELECT DISTINCT reservation_key FROM reservation WHERE expires_at < ?");
        s.setTimestamp(1, Timestamp.from(now));
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                keys.add(rs.getString(1));
            }
        }
        int released = 0;
        for (String k : keys) {
            if (releaseKey(tx, k, now)) {
                released++;
            }
        }
        return released;
    }

    /** What is free in the buckets a request of this unit and rating group may use. */
    static long available(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup) throws SQLException {
        long free = 0;
        for (long[] b : lockBuckets(tx, subscriber, unit, ratingGroup)) {
            free += b[1] - b[2];
        }
        return free;
    }
}
