package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;

/**
 * Issue 15, item 5: the node makes a group commit's changes with PostgresChangeBatch (rules in
 * Java, two statements) instead of V17's ocs_apply, which nodes of the previous version still call.
 * Both must give the same results and leave the same buckets and holds, whatever the changes:
 * each random batch here runs through both, on two stores seeded alike, and the two are compared
 * after every batch.
 */
class PostgresChangeBatchTest {
    private static final String[] SUBSCRIBERS = {"4917301", "4917302", "4917303"};
    private static final String[] UNITS = {"octets", "seconds"};
    private static final Long[] RATING_GROUPS = {null, 10L, 20L};

    @Test
    void randomBatchesGiveWhatOcsApplyGivesAndLeaveTheSameRows() throws Exception {
        Random random = new Random(20261205);
        Timestamp now = Timestamp.valueOf("2026-12-05 08:00:00");
        try (Connection viaFunction = seeded(random.nextLong(), now);
             Connection viaBatch = seeded(0, now)) {
            copyBuckets(viaFunction, viaBatch);
            for (Connection c : List.of(viaFunction, viaBatch)) {
                sessions(c);
            }
            List<String> keysSeen = new ArrayList<>();
            int refusedAlike = 0;
            int withHolds = 0;
            int repeated = 0;
            int moved = 0;
            for (int round = 0; round < 400; round++) {
                if (round % 10 == 0) { // topped up alike, so that holds and debits go on
                    for (Connection c : List.of(viaFunction, viaBatch)) {
                        try (Statement s = c.createStatement()) {
                            s.executeUpdate("UPDATE bucket SET amount = amount + 4000 WHERE id % 3 <> " + round % 3);
                        }
                        c.commit();
                    }
                }
                List<PostgresChangeBatch.Change> batch = randomBatch(random, now, keysSeen, round);
                String expected;
                String actual;
                try {
                    expected = viaOcsApply(viaFunction, batch, now);
                    viaFunction.commit();
                } catch (SQLException e) {
                    viaFunction.rollback();
                    expected = "refused " + e.getSQLState();
                }
                try {
                    actual = viaJava(viaBatch, batch, now);
                    viaBatch.commit();
                } catch (SQLException e) {
                    viaBatch.rollback();
                    actual = "refused " + e.getSQLState();
                }
                assertEquals(expected, actual, "round " + round + ": " + batch);
                if (expected.startsWith("refused")) {
                    refusedAlike++;
                }
                String left = rows(viaFunction);
                assertEquals(left, rows(viaBatch), "round " + round + ": " + batch);
                withHolds += left.contains("hold ") ? 1 : 0;
                repeated += expected.contains("/false ") ? 1 : 0;
                moved += expected.contains("moved") ? 1 : 0;
            }
            assertTrue(refusedAlike > 0 && refusedAlike < 150, "some batches refused, not most: " + refusedAlike);
            assertTrue(withHolds > 200, "holds were there to compare after most batches: " + withHolds);
            assertTrue(repeated > 20, "change keys made before were sent again: " + repeated);
            assertTrue(moved > 20, "changes whose session another node saved: " + moved);
        }
    }

    /**
     * Two nodes make the same change (a retransmission sent to both) at the same time, both
     * waiting for the same lock: one makes it, the other answers what it made.
     */
    @Test
    void aChangeKeyMadeByTwoBatchesAtOnceIsMadeOnce() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore first = JdbcBalanceStore.open(url, "postgres", null, 4);
             JdbcBalanceStore second = JdbcBalanceStore.open(url, "postgres", null, 4);
             Connection holder = DriverManager.getConnection(url, "postgres", null)) {
            first.add(List.of(new Bucket(0, "4917310", UnitType.OCTETS, 1_000_000, 0, null, null)), false);
            holder.setAutoCommit(false);
            for (int i = 0; i < 5; i++) {
                try (Statement s = holder.createStatement()) {
                    s.executeQuery("SELECT * FROM bucket WHERE subscriber_id = '4917310' FOR UPDATE").close();
                }
                String key = "twice|" + i + "|x|4917310";
                CompletableFuture<Long> a = CompletableFuture.supplyAsync(
                        () -> first.debit("4917310", UnitType.OCTETS, null, 1_000, key));
                CompletableFuture<Long> b = CompletableFuture.supplyAsync(
                        () -> second.debit("4917310", UnitType.OCTETS, null, 1_000, key));
                awaitLockWaits(url, 2); // both batches wait for the bucket (under 100 ms, or tried again)
                holder.rollback();
                assertEquals(1_000L, a.get(10, TimeUnit.SECONDS));
                assertEquals(1_000L, b.get(10, TimeUnit.SECONDS));
            }
            assertEquals(1_000_000 - 5 * 1_000, first.buckets("4917310").get(0).amount(), "each key debited once");
        }
    }

    /**
     * Returns once {@code n} sessions of the database wait for a lock (10 s at most); watched from
     * a connection of its own, as PostgreSQL keeps what pg_stat_activity said for a transaction.
     */
    private static void awaitLockWaits(String url, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (Connection c = DriverManager.getConnection(url, "postgres", null)) {
            while (System.nanoTime() < deadline) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity"
                        + " WHERE wait_event_type = 'Lock' AND datname = current_database()")) {
                    rs.next();
                    if (rs.getLong(1) >= n) {
                        return;
                    }
                }
                Thread.sleep(2);
            }
        }
        throw new AssertionError(n + " sessions never waited for a lock at once");
    }

    /** Makes a batch's changes as the node does, without usage parts or sessions' states. */
    private static PostgresChangeBatch.Result[] apply(SqlTransaction tx, List<PostgresChangeBatch.Change> changes,
                                                      Timestamp now) throws SQLException {
        PostgresChangeBatch batch = PostgresChangeBatch.make(tx, changes, now);
        batch.write(tx, List.of(), List.of());
        return batch.results();
    }

    private static Connection seeded(long seed, Timestamp now) throws Exception {
        String url = Stores.freshPostgres();
        JdbcBalanceStore.open(url, "postgres", null, 2).close(); // migrated
        Connection c = DriverManager.getConnection(url, "postgres", null);
        c.setAutoCommit(false);
        if (seed != 0) {
            Random random = new Random(seed);
            try (PreparedStatement s = c.prepareStatement("INSERT INTO subscriber (id) VALUES (?) ON CONFLICT DO NOTHING")) {
                for (String sub : SUBSCRIBERS) {
                    s.setString(1, sub);
                    s.executeUpdate();
                }
            }
            try (PreparedStatement s = c.prepareStatement("INSERT INTO bucket (subscriber_id, unit, rating_group, amount,"
                    + " reserved, expires_at) VALUES (?, ?, ?, ?, 0, ?)")) {
                for (String sub : SUBSCRIBERS) {
                    for (int k = 0; k < 5; k++) {
                        s.setString(1, sub);
                        s.setString(2, UNITS[random.nextInt(UNITS.length)]);
                        s.setObject(3, RATING_GROUPS[random.nextInt(RATING_GROUPS.length)]);
                        s.setLong(4, random.nextInt(4) == 0 ? 0 : random.nextInt(5_000));
                        int e = random.nextInt(4);
                        s.setTimestamp(5, e == 0 ? null : new Timestamp(now.getTime() + (e - 1) * 3_600_000L - 1_800_000L));
                        s.executeUpdate();
                    }
                }
            }
            c.commit();
        }
        return c;
    }

    /** Sessions as nodes n0 and n1 saved them, the last one closed. */
    private static void sessions(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (int k = 0; k < 4; k++) {
                s.executeUpdate("INSERT INTO charging_session (session_id, node, last_number, closed, expires_at, instance,"
                        + " state) VALUES ('S" + k + "', 'n" + (k % 2) + "', 5, " + (k == 3)
                        + ", now() + interval '1 hour', 'i1', '{}')");
            }
        }
        c.commit();
    }

    /**
     * A session saved by another node while the batch waited for a lock of another change of
     * it: the change that assumed the session's older state is not made. (The batch reads the
     * sessions after its locks; read with them, it saw the older state and made it.)
     */
    @Test
    void aSessionSavedElsewhereWhileTheBatchWaitsForALockIsSeen() throws Exception {
        String url = Stores.freshPostgres();
        JdbcBalanceStore.open(url, "postgres", null, 2).close();
        try (Connection c = DriverManager.getConnection(url, "postgres", null);
             Connection elsewhere = DriverManager.getConnection(url, "postgres", null);
             Connection batch = DriverManager.getConnection(url, "postgres", null)) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO subscriber (id) VALUES ('4917321'), ('4917322')");
                s.executeUpdate("INSERT INTO bucket (subscriber_id, unit, amount) VALUES ('4917321', 'octets', 1000),"
                        + " ('4917322', 'octets', 1000)");
            }
            sessions(c);
            elsewhere.setAutoCommit(false);
            try (Statement e = elsewhere.createStatement()) { // a transaction holding 4917321's bucket
                e.executeQuery("SELECT * FROM bucket WHERE subscriber_id = '4917321' FOR UPDATE").close();
            }
            batch.setAutoCommit(false);
            Timestamp now = new Timestamp(System.currentTimeMillis());
            List<PostgresChangeBatch.Change> changes = List.of(
                    new PostgresChangeBatch.Change(4, "4917321", "octets", null, 10, 0, null, null, "a".repeat(32), null,
                            null, null, null),
                    new PostgresChangeBatch.Change(4, "4917322", "octets", null, 10, 0, null, null, "b".repeat(32), "S0",
                            "i1", 5L, "n0"));
            CompletableFuture<PostgresChangeBatch.Result[]> made = CompletableFuture.supplyAsync(() -> {
                try (SqlTransaction.OneShot tx = new SqlTransaction.OneShot(batch)) {
                    PostgresChangeBatch.Result[] r = apply(tx, changes, now);
                    batch.commit();
                    return r;
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            awaitLockWaits(url, 1); // the batch waits for that lock
            try (Statement s = c.createStatement()) { // meanwhile node n1 saves the session
                s.executeUpdate("UPDATE charging_session SET node = 'n1', last_number = 6 WHERE session_id = 'S0'");
            }
            c.commit();
            elsewhere.rollback();
            PostgresChangeBatch.Result[] r = made.get(10, TimeUnit.SECONDS);
            assertTrue(r[0].fresh(), "the first change is made");
            assertTrue(r[1].moved(), "the second assumed an older state of its session: not made");
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT amount FROM bucket WHERE subscriber_id = '4917322'")) {
                assertTrue(rs.next());
                assertEquals(1000, rs.getLong(1));
            }
        }
    }

    /** The second store gets the first's buckets, ids included. */
    private static void copyBuckets(Connection from, Connection to) throws SQLException {
        try (Statement s = from.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, subscriber_id, unit, rating_group, amount, reserved, expires_at"
                     + " FROM bucket ORDER BY id");
             PreparedStatement sub = to.prepareStatement("INSERT INTO subscriber (id) VALUES (?) ON CONFLICT DO NOTHING");
             PreparedStatement in = to.prepareStatement("INSERT INTO bucket (id, subscriber_id, unit, rating_group, amount,"
                     + " reserved, expires_at) OVERRIDING SYSTEM VALUE VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            while (rs.next()) {
                sub.setString(1, rs.getString(2));
                sub.executeUpdate();
                for (int i = 1; i <= 7; i++) {
                    in.setObject(i, rs.getObject(i));
                }
                in.executeUpdate();
            }
        }
        to.commit();
    }

    private static List<PostgresChangeBatch.Change> randomBatch(Random random, Timestamp now, List<String> keysSeen,
                                                                int round) {
        List<PostgresChangeBatch.Change> batch = new ArrayList<>();
        int size = 1 + random.nextInt(8);
        for (int i = 0; i < size; i++) {
            int kind = new int[] {1, 2, 5, 5, 5, 2, 3, 4}[random.nextInt(8)];
            String sub = SUBSCRIBERS[random.nextInt(SUBSCRIBERS.length)];
            String unit = UNITS[random.nextInt(UNITS.length)];
            Long rg = RATING_GROUPS[random.nextInt(RATING_GROUPS.length)];
            // now and then a key of another subscriber's (only by mistake in the node)
            String key = random.nextInt(5) == 0 ? "shared|" + random.nextInt(3)
                    : sub + "|s" + random.nextInt(3) + "|" + rg + "|" + unit;
            long amount = random.nextInt(40) == 0 ? -5 : random.nextInt(3_000);
            long used = random.nextInt(40) == 0 ? -7 : random.nextInt(2_500);
            String changeKey;
            if (!keysSeen.isEmpty() && random.nextInt(6) == 0) {
                changeKey = keysSeen.get(random.nextInt(keysSeen.size())); // a retransmission
            } else if (random.nextInt(10) == 0) {
                changeKey = null;
            } else {
                changeKey = String.format("%016x%016x", round, i);
                keysSeen.add(changeKey);
            }
            Timestamp expires = new Timestamp(now.getTime() + 60_000L * (1 + random.nextInt(30)));
            // a third of the changes assume their session (sessions() saved S0-S3): as it is, or
            // another node's, a newer request, another instance, a closed one, none saved
            String session = null;
            String instance = null;
            String node = null;
            Long known = null;
            if (random.nextInt(3) == 0) {
                session = "S" + random.nextInt(5);
                instance = random.nextInt(5) == 0 ? "i2" : "i1";
                node = "n" + random.nextInt(2);
                known = 4L + random.nextInt(3);
            }
            batch.add(new PostgresChangeBatch.Change(kind, kind == 3 ? null : sub, kind == 3 ? null : unit, rg,
                    amount, used, kind == 4 ? null : key, kind == 4 ? null : expires, changeKey, session, instance,
                    known, node));
        }
        return batch;
    }

    private static String viaOcsApply(Connection c, List<PostgresChangeBatch.Change> batch, Timestamp now)
            throws SQLException {
        int n = batch.size();
        Object[][] columns = new Object[13][n];
        for (int i = 0; i < n; i++) {
            PostgresChangeBatch.Change ch = batch.get(i);
            Object[] values = {ch.kind(), ch.subscriber(), ch.unit(), ch.ratingGroup(), ch.amount(), ch.used(), ch.key(),
                    ch.expires(), ch.changeKey(), ch.session(), ch.instance(), ch.known(), ch.node()};
            for (int k = 0; k < values.length; k++) {
                columns[k][i] = values[k];
            }
        }
        String[] types = {"integer", "varchar", "varchar", "bigint", "bigint", "bigint", "varchar", "timestamp",
                "varchar", "varchar", "varchar", "bigint", "varchar"};
        try (PreparedStatement s = c.prepareStatement(
                "SELECT n, a, b, c, fresh FROM ocs_apply(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ORDER BY n")) {
            for (int k = 0; k < 13; k++) {
                s.setArray(k < 9 ? k + 1 : k + 2, c.createArrayOf(types[k], columns[k]));
            }
            s.setTimestamp(10, now);
            StringBuilder out = new StringBuilder();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    boolean fresh = rs.getBoolean(5);
                    if (rs.wasNull()) {
                        out.append(rs.getInt(1)).append(":moved ");
                        continue;
                    }
                    out.append(rs.getInt(1)).append(':').append(rs.getLong(2)).append('/').append(rs.getLong(3))
                            .append('/').append(fresh ? rs.getLong(4) : 0).append('/').append(fresh).append(' ');
                }
            }
            return out.toString();
        }
    }

    private static String viaJava(Connection c, List<PostgresChangeBatch.Change> batch, Timestamp now)
            throws SQLException {
        try (SqlTransaction.OneShot tx = new SqlTransaction.OneShot(c)) {
            PostgresChangeBatch.Result[] results = apply(tx, batch, now);
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < results.length; i++) {
                PostgresChangeBatch.Result r = results[i];
                if (r.moved()) {
                    out.append(i + 1).append(":moved ");
                    continue;
                }
                out.append(i + 1).append(':').append(r.a()).append('/').append(r.b()).append('/').append(r.c())
                        .append('/').append(r.fresh()).append(' ');
            }
            return out.toString();
        }
    }

    private static String rows(Connection c) throws SQLException {
        StringBuilder out = new StringBuilder();
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT id, amount, reserved FROM bucket ORDER BY id")) {
                while (rs.next()) {
                    out.append("bucket ").append(rs.getLong(1)).append(' ').append(rs.getLong(2)).append(' ')
                            .append(rs.getLong(3)).append('\n');
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT reservation_key, bucket_id, amount, expires_at FROM reservation"
                    + " ORDER BY reservation_key, bucket_id")) {
                while (rs.next()) {
                    out.append("hold ").append(rs.getString(1)).append(' ').append(rs.getLong(2)).append(' ')
                            .append(rs.getLong(3)).append(' ').append(rs.getTimestamp(4)).append('\n');
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT change_key, result, result2 FROM applied_change ORDER BY change_key")) {
                while (rs.next()) {
                    out.append("key ").append(rs.getString(1)).append(' ').append(rs.getLong(2)).append(' ')
                            .append(rs.getLong(3)).append('\n');
                }
            }
        }
        c.commit();
        return out.toString();
    }
}
