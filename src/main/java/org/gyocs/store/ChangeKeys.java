package org.gyocs.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

import org.gyocs.core.BalanceStore.Reservation;

/**
 * The change keys of balance changes (BalanceStore#recordedChange) as the stores keep them: 128
 * bits of the SHA-256 of the key, which is as long as the client's Session-Id; two longs in the
 * embedded store's journal, 32 hex digits in the applied_change table.
 */
final class ChangeKeys {
    /**
     * How long a change key is kept: a PCEF retransmits within its Tx timer, seconds, and after
     * a failover or a restart of this node within minutes; an hour covers both with room.
     */
    static final Duration RETENTION = Duration.ofHours(1);
    /** How often every kind of store deletes the change keys past their retention. */
    static final long PURGE_INTERVAL_NANOS = 60_000_000_000L;

    private ChangeKeys() {
    }

    /** One SHA-256 per thread: looking the algorithm up for every balance change cost a provider search. */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    });

    /** A reservation as the two longs a change's result is kept as (reserved, available after). */
    static long[] pair(Reservation r) {
        return new long[] {r.reserved(), r.availableAfter()};
    }

    static Reservation reservation(long[] r) {
        return new Reservation(r[0], r[1]);
    }

    /** The key's 128 bits as two longs. */
    static long[] digest(String changeKey) {
        byte[] d = SHA_256.get().digest(changeKey.getBytes(StandardCharsets.UTF_8)); // digest() resets it
        ByteBuffer b = ByteBuffer.wrap(d);
        return new long[] {b.getLong(), b.getLong()};
    }

    static String hex(long hi, long lo) {
        return HexFormat.of().formatHex(ByteBuffer.allocate(16).putLong(hi).putLong(lo).array());
    }

    static String hex(String changeKey) {
        long[] d = digest(changeKey);
        return hex(d[0], d[1]);
    }

    /** The results recorded under a key, or null. */
    static long[] recorded(SqlTransaction tx, String hexKey) throws SQLException {
        PreparedStatement s = tx.prepare("SELECT result, result2 FROM applied_change WHERE change_key = ?");
        s.setString(1, hexKey);
        try (ResultSet rs = s.executeQuery()) {
            return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
        }
    }

    static void record(SqlTransaction tx, String hexKey, long result, long result2, Instant at) throws SQLException {
        PreparedStatement s = tx.prepare(
                "INSERT INTO applied_change (change_key, result, result2, applied_at) VALUES (?, ?, ?, ?)");
        s.setString(1, hexKey);
        s.setLong(2, result);
        s.setLong(3, result2);
        s.setTimestamp(4, Timestamp.from(at));
        s.executeUpdate();
    }

    /** Forgets the keys past the retention. @return how many */
    static int purge(SqlTransaction tx, Instant now) throws SQLException {
        PreparedStatement s = tx.prepare("DELETE FROM applied_change WHERE applied_at < ?");
        s.setTimestamp(1, Timestamp.from(now.minus(RETENTION)));
        return s.executeUpdate();
    }

    /** A change made through portable SQL, in its transaction, that returns two numbers. */
    @FunctionalInterface
    interface Change {
        long[] run(SqlTransaction tx) throws SQLException;
    }

    /**
     * Runs a change at most once per key, in the change's own transaction: a key recorded earlier
     * returns the results recorded with it, and nothing changes. Portable SQL, for a store with
     * one committer (H2); PostgreSQL does the same in PostgresChangeBatch, where nodes may race
     * (the second to record a key fails on applied_change's primary key, and runs again alone).
     */
    static long[] once(SqlTransaction tx, String changeKey, Change change) throws SQLException {
        if (changeKey == null) {
            return change.run(tx);
        }
        String k = hex(changeKey);
        long[] earlier = recorded(tx, k);
        if (earlier != null) {
            return earlier;
        }
        long[] r = change.run(tx);
        record(tx, k, r[0], r[1], Instant.now());
        return r;
    }
}
