package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The same contract on H2 (SQL), the node's embedded store (balances in memory) and a real PostgreSQL. */
class JdbcBalanceStoreTest {
    static final Instant LATER = Instant.now().plusSeconds(3600);

    static JdbcBalanceStore open(String kind) throws Exception {
        return open(Stores.fresh(kind), kind);
    }

    static JdbcBalanceStore open(String url, String kind) {
        return JdbcBalanceStore.open(url, kind.equals("postgres") ? "postgres" : null, null, 4);
    }

    static Bucket bucket(String sub, UnitType unit, long amount, Long rg, Instant expires) {
        return new Bucket(0, sub, unit, amount, 0, rg, expires);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void reserveSettleRelease(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917001", UnitType.OCTETS, 1000, null, null)), false);
            assertEquals(Optional.of("4917001"), s.findSubscriber(List.of("99", "4917001")));
            assertEquals(Optional.empty(), s.findSubscriber(List.of("99")));

            Reservation r = s.reserve("4917001", UnitType.OCTETS, 100L, 400, "a|1", LATER);
            assertEquals(new Reservation(400, 600), r);
            assertEquals(600, s.available("4917001", UnitType.OCTETS, 100L));
            assertEquals(300, s.settle("4917001", UnitType.OCTETS, 100L, "a|1", 300));
            assertEquals(700, s.available("4917001", UnitType.OCTETS, 100L), "the unused 100 is released");

            Reservation all = s.reserve("4917001", UnitType.OCTETS, 100L, 5000, "a|2", LATER);
            assertEquals(new Reservation(700, 0), all, "no more than the balance");
            assertEquals(new Reservation(0, 0), s.reserve("4917001", UnitType.OCTETS, 100L, 1, "b|1", LATER));
            s.release("a|2");
            assertEquals(700, s.available("4917001", UnitType.OCTETS, null));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void settleAndReserveIsAnUpdateInOneChangeAlsoWhenBatched(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917020", UnitType.OCTETS, 100_000, null, null)), false);
            int sessions = 40;
            for (int i = 0; i < sessions; i++) {
                assertEquals(1000, s.reserve("4917020", UnitType.OCTETS, 100L, 1000, "u|" + i, LATER).reserved());
            }
            // concurrent CCR-U: 300 used of each 1000, 2000 more reserved; batched on PostgreSQL
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Reservation>> updates = new ArrayList<>();
                for (int i = 0; i < sessions; i++) {
                    String key = "u|" + i;
                    updates.add(pool.submit(() -> s.settleAndReserve("4917020", UnitType.OCTETS, 100L, key, 300, 2000,
                            LATER)));
                }
                for (Future<Reservation> f : updates) {
                    assertEquals(2000, f.get().reserved());
                }
            } finally {
                pool.shutdownNow();
            }
            Bucket b = s.buckets("4917020").get(0);
            assertEquals(100_000 - sessions * 300, b.amount(), "each usage debited once");
            assertEquals(sessions * 2000, b.reserved(), "each key holds the new grant only");
            assertEquals(300, s.settle("4917020", UnitType.OCTETS, 100L, "u|0", 300));
            assertEquals(100_000 - sessions * 300 - 300, s.available("4917020", UnitType.OCTETS, 100L) + (sessions - 1) * 2000);
        }
    }

    /** A negative usage or debit would add to the balance: every kind refuses it and changes nothing. */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void negativeAmountsAreRefusedAndCreditNothing(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917009", UnitType.OCTETS, 1000, null, null)), false);
            s.reserve("4917009", UnitType.OCTETS, null, 100, "neg", LATER);
            assertThrows(IllegalArgumentException.class, () -> s.settle("4917009", UnitType.OCTETS, null, "neg", -1_000_000));
            assertThrows(IllegalArgumentException.class,
                    () -> s.settleAndReserve("4917009", UnitType.OCTETS, null, "neg", -5, 10, LATER));
            assertThrows(IllegalArgumentException.class, () -> s.debit("4917009", UnitType.OCTETS, null, -7));
            assertThrows(IllegalArgumentException.class, () -> s.credit("4917009", UnitType.OCTETS, null, -7));
            assertThrows(IllegalArgumentException.class, () -> s.reserve("4917009", UnitType.OCTETS, null, -7, "x", LATER));
            assertEquals(1000, s.buckets("4917009").get(0).amount());
            assertEquals(900, s.available("4917009", UnitType.OCTETS, null));
            if (kind.equals("postgres")) {
                // the functions refuse it too, whoever calls them
                try (java.sql.Connection c = s.dataSource().getConnection();
                     java.sql.Statement st = c.createStatement()) {
                    c.setAutoCommit(true); // each refused on its own (in one transaction the first refusal aborts it)
                    java.sql.SQLException e = assertThrows(java.sql.SQLException.class, () -> st.execute(
                            "SELECT ocs_settle('4917009', 'octets', NULL, 'neg', -1000000, now()::timestamp)"));
                    assertTrue(e.getMessage().contains("negative"), e.getMessage());
                    java.sql.SQLException debit = assertThrows(java.sql.SQLException.class, () -> st.execute(
                            "SELECT ocs_debit_free('4917009', 'octets', NULL, -5, now()::timestamp)"));
                    assertTrue(debit.getMessage().contains("negative"), debit.getMessage());
                    // nor does a change of no known kind debit anything (it did, as a debit, in V17's first version)
                    java.sql.SQLException unknown = assertThrows(java.sql.SQLException.class, () -> st.execute(
                            "SELECT * FROM ocs_apply('{6}', '{4917009}', '{octets}', '{NULL}', '{30}', '{0}', '{x}', "
                                    + "'{NULL}', '{NULL}', now()::timestamp, NULL, NULL, NULL, NULL)"));
                    assertTrue(unknown.getMessage().contains("no change of kind 6"), unknown.getMessage());
                }
                assertEquals(1000, s.buckets("4917009").get(0).amount());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void usageBeyondTheReservationIsDebitedButNeverBelowZero(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917002", UnitType.SECONDS, 100, null, null)), false);
            s.reserve("4917002", UnitType.SECONDS, null, 30, "k", LATER);
            assertEquals(50, s.settle("4917002", UnitType.SECONDS, null, "k", 50), "20 beyond the reservation");
            assertEquals(50, s.available("4917002", UnitType.SECONDS, null));
            s.reserve("4917002", UnitType.SECONDS, null, 10, "k2", LATER);
            assertEquals(50, s.settle("4917002", UnitType.SECONDS, null, "k2", 500), "capped at what is left");
            assertEquals(0, s.available("4917002", UnitType.SECONDS, null));
            assertEquals(0, s.buckets("4917002").get(0).amount());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void ratingGroupBucketFirstThenGenericAndExpiredIgnored(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917003", UnitType.OCTETS, 100, null, null),
                    bucket("4917003", UnitType.OCTETS, 50, 10L, null),
                    bucket("4917003", UnitType.OCTETS, 999, 10L, Instant.now().minusSeconds(60)),
                    bucket("4917003", UnitType.OCTETS, 70, 20L, null)), false);
            assertEquals(150, s.available("4917003", UnitType.OCTETS, 10L), "rg 10 + generic, not the expired one");
            assertEquals(60, s.debit("4917003", UnitType.OCTETS, 10L, 60));
            List<Bucket> b = s.buckets("4917003");
            assertEquals(0, b.get(1).amount(), "the rating group's own bucket is used first");
            assertEquals(90, b.get(0).amount());
            assertEquals(70, b.get(3).amount(), "another rating group's bucket is not touched");
            assertEquals(0, s.available("4917003", UnitType.SECONDS, 10L), "no bucket of that unit");
            s.credit("4917003", UnitType.SECONDS, null, 30);
            assertEquals(30, s.available("4917003", UnitType.SECONDS, 5L));
        }
    }

    /**
     * A hold over several buckets, one of which expires before the CCR-U: the usage is settled
     * against the holds in bucket id order (the expired one too), what is beyond them is debited
     * from the buckets still usable in preference order, and the next grant comes from them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aHoldOverSeveralBucketsIsSettledInIdOrderAndReservedInPreferenceOrder(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            Instant soon = Instant.now().plusMillis(1200);
            s.add(List.of(bucket("4917030", UnitType.OCTETS, 100, null, null),
                    bucket("4917030", UnitType.OCTETS, 60, 10L, null),
                    bucket("4917030", UnitType.OCTETS, 50, 10L, soon)), false);
            // rating group 10's own buckets first, the one expiring soonest before the other
            assertEquals(new Reservation(100, 110), s.reserve("4917030", UnitType.OCTETS, 10L, 100, "m|10", LATER));
            while (!Instant.now().isAfter(soon.plusMillis(50))) {
                Thread.sleep(50);
            }
            // 120 used: 50 + 50 against the holds, 20 beyond them: 10 left in the second, 10 generic
            assertEquals(new Reservation(40, 50), s.settleAndReserve("4917030", UnitType.OCTETS, 10L, "m|10", 120, 40,
                    LATER));
            List<Bucket> b = s.buckets("4917030");
            assertEquals(List.of(90L, 0L, 0L), b.stream().map(Bucket::amount).toList());
            assertEquals(List.of(40L, 0L, 0L), b.stream().map(Bucket::reserved).toList());
            assertEquals(50, s.available("4917030", UnitType.OCTETS, 10L));
            assertEquals(10, s.settle("4917030", UnitType.OCTETS, 10L, "m|10", 10), "the new hold, on the generic bucket");
            assertEquals(80, s.available("4917030", UnitType.OCTETS, 10L));
            assertEquals(0, s.buckets("4917030").get(0).reserved());
        }
    }

    /**
     * A CCR-U's settlement and next grant over two buckets: a hold that stays on its bucket (on
     * PostgreSQL changed in place since V17), one that leaves its bucket, one on a bucket the key
     * did not hold before; every store gives the same amounts.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aHoldThatMovesBetweenBucketsIsKeptWhereItStaysAndGoneWhereItLeft(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917031", UnitType.OCTETS, 100, 10L, null),
                    bucket("4917031", UnitType.OCTETS, 100, null, null)), false);
            assertEquals(new Reservation(150, 50), s.reserve("4917031", UnitType.OCTETS, 10L, 150, "v|1", LATER));
            // 30 used, settled against the first hold; 60 more held, all on the rating group's bucket
            assertEquals(new Reservation(60, 110), s.settleAndReserve("4917031", UnitType.OCTETS, 10L, "v|1", 30, 60,
                    LATER));
            assertEquals(List.of(70L, 100L), s.buckets("4917031").stream().map(Bucket::amount).toList());
            assertEquals(List.of(60L, 0L), s.buckets("4917031").stream().map(Bucket::reserved).toList());
            // 60 used, the whole hold; 120 more: 10 where it was, 100 from the generic bucket
            assertEquals(new Reservation(110, 0), s.settleAndReserve("4917031", UnitType.OCTETS, 10L, "v|1", 60, 120,
                    LATER));
            assertEquals(List.of(10L, 100L), s.buckets("4917031").stream().map(Bucket::amount).toList());
            assertEquals(List.of(10L, 100L), s.buckets("4917031").stream().map(Bucket::reserved).toList());
            assertEquals(105, s.settle("4917031", UnitType.OCTETS, 10L, "v|1", 105), "10 from the first hold, 95 from the second");
            assertEquals(List.of(0L, 5L), s.buckets("4917031").stream().map(Bucket::amount).toList());
            assertEquals(List.of(0L, 0L), s.buckets("4917031").stream().map(Bucket::reserved).toList());
            assertEquals(5, s.available("4917031", UnitType.OCTETS, 10L));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void expiredReservationsAreReleased(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917004", UnitType.UNITS, 10, null, null)), false);
            s.reserve("4917004", UnitType.UNITS, null, 4, "dead-node|1", Instant.now().minusSeconds(1));
            s.reserve("4917004", UnitType.UNITS, null, 3, "alive|1", LATER);
            assertEquals(3, s.available("4917004", UnitType.UNITS, null));
            assertEquals(1, s.releaseExpired(Instant.now()));
            assertEquals(7, s.available("4917004", UnitType.UNITS, null));
        }
    }

    /**
     * The node's embedded store charges in memory: its debits reach the database (what ocs-admin
     * reads) by write-back, a top-up made by ocs-admin reaches the node without losing or
     * repeating a debit the database does not have yet, and holds end with the run.
     */
    @Test
    void embeddedBalancesLiveInTheNodeAndMeetAdministrationInTheDatabase(@TempDir Path dir) throws Exception {
        String url = Stores.embeddedFile(dir);
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url, null, null, 4);
             JdbcBalanceStore admin = JdbcBalanceStore.openForAdministration(url, null, null)) {
            node.add(List.of(bucket("4917008", UnitType.OCTETS, 1000, null, null)), false);
            node.reserve("4917008", UnitType.OCTETS, null, 400, "open|1", LATER);
            assertEquals(300, node.settle("4917008", UnitType.OCTETS, null, "none|1", 300), "debited from the free 600");
            assertEquals(700, node.buckets("4917008").get(0).amount(), "the node's own view is current");
            assertEquals(400, node.buckets("4917008").get(0).reserved(), "with its holds");
            assertEquals(700, eventually(() -> admin.buckets("4917008").get(0).amount(), 700),
                    "written back to the database");

            // a debit the database may not have yet, then a top-up made by another process
            assertEquals(100, node.debit("4917008", UnitType.OCTETS, null, 100));
            admin.credit("4917008", UnitType.OCTETS, null, 50);
            assertEquals(250, eventually(() -> node.available("4917008", UnitType.OCTETS, null), 250),
                    "1000 - 300 - 100 + 50, less the hold of 400: no debit lost or counted twice");
            assertEquals(650, eventually(() -> admin.buckets("4917008").get(0).amount(), 650));
        }
        try (JdbcBalanceStore restarted = JdbcBalanceStore.open(url, null, null, 4)) {
            Bucket b = restarted.buckets("4917008").get(0);
            assertEquals(650, b.amount(), "the debits are durable");
            assertEquals(0, b.reserved(), "the hold of the session that ended with the run is released");
            assertEquals(650, restarted.available("4917008", UnitType.OCTETS, null));
        }
    }

    /** The value once it equals the expected one, or the last one read after 5 s. */
    private static long eventually(java.util.function.LongSupplier read, long expected) throws InterruptedException {
        long until = System.nanoTime() + 5_000_000_000L;
        long v = read.getAsLong();
        while (v != expected && System.nanoTime() < until) {
            Thread.sleep(20);
            v = read.getAsLong();
        }
        return v;
    }

    /**
     * A row lock someone else holds (a transaction left open in psql) fails the change that
     * needs it after the lock timeout, instead of holding the committer, and the others go on.
     */
    @Test
    void aLockHeldElsewhereFailsThatChangeInsteadOfHangingTheStore() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.add(List.of(bucket("4917009", UnitType.OCTETS, 1000, null, null),
                    bucket("4917010", UnitType.OCTETS, 1000, null, null)), false);
            try (var c = java.sql.DriverManager.getConnection(url, "postgres", null)) {
                c.setAutoCommit(false);
                c.createStatement().executeQuery("SELECT * FROM bucket WHERE subscriber_id = '4917009' FOR UPDATE").close();
                long start = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(2);
                try {
                    Future<Reservation> locked = pool.submit(
                            () -> s.reserve("4917009", UnitType.OCTETS, null, 10, "l|1", LATER));
                    Thread.sleep(200);
                    Future<Reservation> free = pool.submit(
                            () -> s.reserve("4917010", UnitType.OCTETS, null, 10, "f|1", LATER));
                    Exception e = assertThrows(Exception.class, () -> locked.get(30, TimeUnit.SECONDS));
                    assertTrue(e.getCause() instanceof StoreException, e.toString());
                    assertEquals(10, free.get(30, TimeUnit.SECONDS).reserved(), "the other subscriber is charged");
                    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
                    assertTrue(seconds < 25, "bounded by the lock timeout, took " + seconds + " s");
                } finally {
                    pool.shutdownNow();
                    c.rollback();
                }
            }
            assertEquals(10, s.reserve("4917009", UnitType.OCTETS, null, 10, "l|2", LATER).reserved(), "and after");
        }
    }

    /**
     * A hold released by another transaction (another node's sweep) while a settlement waits for
     * its bucket's lock: it settles against what is held once that release has committed, not
     * against the hold as it was when it started waiting, which would release it a second time.
     * (A rewrite of the settlement that read the holds without locking them did, and was caught here.)
     */
    @Test
    void aHoldReleasedWhileTheSettlementWaitsIsNotReleasedTwice() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.add(List.of(bucket("4917031", UnitType.OCTETS, 1000, null, null)), false);
            s.reserve("4917031", UnitType.OCTETS, null, 100, "w|a", LATER);
            s.reserve("4917031", UnitType.OCTETS, null, 200, "w|b", LATER);
            Object settled = whileHeldBy(url, "SELECT ocs_release('w|a')", () -> {
                try (var settling = java.sql.DriverManager.getConnection(url, "postgres", null);
                     var st = settling.createStatement(); var rs = st.executeQuery(
                             "SELECT ocs_settle('4917031', 'octets', NULL, 'w|a', 50, now()::timestamp)")) {
                    rs.next();
                    return rs.getLong(1);
                }
            });
            assertEquals(50L, settled, "the usage, from what is free: its hold was gone");
            try (var watching = java.sql.DriverManager.getConnection(url, "postgres", null);
                 var rs = watching.createStatement().executeQuery(
                         "SELECT b.reserved, (SELECT sum(amount) FROM reservation) FROM bucket b WHERE subscriber_id = '4917031'")) {
                rs.next();
                assertEquals(200, rs.getLong(1), "w|b's 200 only: w|a's 100 released once");
                assertEquals(200, rs.getLong(2), "what the holds say");
            }
            assertEquals(950, s.buckets("4917031").get(0).amount());
        }
    }

    /**
     * A release (another node's, or a node of the previous version's) that waits while a CCR-U
     * moves part of the key's hold to another bucket: it releases what it locked, and deletes only
     * that; it deleted every hold of the key, also the one the CCR-U added, whose bucket then kept
     * it reserved for good (review of V17).
     */
    @Test
    void aReleaseThatWaitsForACcrUDeletesOnlyTheHoldsItReleased() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.add(List.of(bucket("4917032", UnitType.OCTETS, 100, 10L, null),
                    bucket("4917032", UnitType.OCTETS, 100, null, null)), false);
            s.reserve("4917032", UnitType.OCTETS, 10L, 50, "r|k", LATER);
            whileHeldBy(url, "SELECT * FROM ocs_apply('{5}', '{4917032}', '{octets}', '{10}', '{120}', '{50}', '{r|k}', "
                    + "ARRAY[now()::timestamp + interval '1 hour'], '{NULL}', now()::timestamp, NULL, NULL, NULL, NULL)",
                    () -> {
                        try (var c = java.sql.DriverManager.getConnection(url, "postgres", null);
                             var st = c.createStatement()) {
                            st.execute("SELECT ocs_release('r|k')");
                        }
                        return null;
                    });
            assertEquals(0, unheldReserved(url, "4917032"), "every bucket's reserved is what its holds say");
            assertEquals(List.of(0L, 70L), s.buckets("4917032").stream().map(Bucket::reserved).toList(),
                    "the first hold released once; the one the CCR-U added stays held");
        }
    }

    /**
     * The expiry sweep finds a key whose hold is past its expiry, then waits for its lock while a
     * CCR-U renews that hold in place (V17): it releases nothing, and the grant the CCR-U answered
     * stays held (review of V17: it released the renewed hold).
     */
    @Test
    void theExpirySweepDoesNotReleaseAHoldRenewedWhileItWaited() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.add(List.of(bucket("4917033", UnitType.OCTETS, 100, null, null)), false);
            s.reserve("4917033", UnitType.OCTETS, null, 50, "e|k", Instant.now().minusSeconds(1));
            Object released = whileHeldBy(url, "SELECT * FROM ocs_apply('{5}', '{4917033}', '{octets}', '{NULL}', "
                    + "'{60}', '{0}', '{e|k}', ARRAY[now()::timestamp + interval '1 hour'], '{NULL}', now()::timestamp, "
                    + "NULL, NULL, NULL, NULL)", () -> s.releaseExpired(Instant.now()));
            assertEquals(0, released);
            assertEquals(60, s.buckets("4917033").get(0).reserved(), "the renewed grant, still held");
            assertEquals(0, unheldReserved(url, "4917033"));
        }
    }

    /**
     * Runs {@code holder} in a transaction, then {@code waiter} on another thread until it waits
     * for a lock, then commits the holder; @return what the waiter returned
     */
    private static Object whileHeldBy(String url, String holder, java.util.concurrent.Callable<Object> waiter)
            throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (var holding = java.sql.DriverManager.getConnection(url, "postgres", null);
             var watching = java.sql.DriverManager.getConnection(url, "postgres", null)) {
            holding.setAutoCommit(false);
            holding.createStatement().execute(holder);
            Future<Object> waiting = pool.submit(waiter);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            boolean blocked = false;
            while (!blocked && System.nanoTime() < deadline) {
                try (var rs = watching.createStatement().executeQuery(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")) {
                    rs.next();
                    blocked = rs.getLong(1) > 0;
                }
                Thread.sleep(20);
            }
            assertTrue(blocked, "the waiter waits for the holder's lock");
            holding.commit();
            return waiting.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The subscriber's reserved that no hold accounts for, summed over its buckets (0 when they agree). */
    private static long unheldReserved(String url, String subscriber) throws java.sql.SQLException {
        try (var c = java.sql.DriverManager.getConnection(url, "postgres", null);
             var q = c.prepareStatement("SELECT COALESCE(sum(abs(b.reserved - COALESCE((SELECT sum(r.amount) "
                     + "FROM reservation r WHERE r.bucket_id = b.id), 0))), 0) FROM bucket b WHERE b.subscriber_id = ?")) {
            q.setString(1, subscriber);
            try (var rs = q.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void adminAddReplaceDelete(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917005", UnitType.OCTETS, 1, null, null)), false);
            s.add(List.of(bucket("4917005", UnitType.UNITS, 2, null, null)), true);
            assertEquals(1, s.buckets("4917005").size(), "an import replaces the subscriber's buckets");
            assertTrue(s.subscribers().contains("4917005"));
            assertTrue(s.delete("4917005"));
            assertFalse(s.delete("4917005"));
            assertTrue(s.buckets("4917005").isEmpty());
        }
    }

    /**
     * Buckets that an open session holds are neither deleted nor replaced by the store itself:
     * on PostgreSQL the session may be another node's, or ocs-admin may run on its own, and no
     * node's own check sees it. A refused import changes nothing, also when the held subscriber
     * is past its first thousand names; released, or past its expiry with no node left to
     * release it, the delete goes on. (The embedded store's holds are its node's memory, which
     * checks its own sessions: OperatorHttpTest.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void bucketsHeldByASessionAreNotDeletedNorReplaced(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            List<Bucket> many = new ArrayList<>();
            for (int i = 0; i < 1_500; i++) {
                many.add(bucket(String.valueOf(4917100000L + i), UnitType.OCTETS, 500, null, null));
            }
            s.add(many, false);
            s.add(List.of(bucket("4917006", UnitType.OCTETS, 10_000, null, null)), false);
            assertEquals(1_000, s.reserve("4917006", UnitType.OCTETS, null, 1_000, "held|1", LATER).reserved());
            SubscriberAdmin.HeldBySessions refused = assertThrows(SubscriberAdmin.HeldBySessions.class,
                    () -> s.delete("4917006"));
            assertTrue(refused.getMessage().contains("4917006 (1000 reserved)"), refused.getMessage());
            List<Bucket> again = new ArrayList<>();
            many.forEach(b -> again.add(bucket(b.subscriber(), UnitType.OCTETS, 1, null, null)));
            again.add(1_200, bucket("4917006", UnitType.OCTETS, 1, null, null));
            assertThrows(SubscriberAdmin.HeldBySessions.class, () -> s.add(again, true));
            assertEquals(List.of(10_000L), s.buckets("4917006").stream().map(Bucket::amount).toList());
            assertEquals(List.of(500L), s.buckets("4917100000").stream().map(Bucket::amount).toList(),
                    "the refused import changed nothing, not even the subscribers no session holds");
            assertEquals(300, s.settle("4917006", UnitType.OCTETS, null, "held|1", 300), "debited");
            assertTrue(s.delete("4917006"), "released, it can go");
            assertTrue(s.buckets("4917006").isEmpty());

            s.add(List.of(bucket("4917008", UnitType.OCTETS, 10_000, null, null)), false);
            s.reserve("4917008", UnitType.OCTETS, null, 1_000, "gone|1", java.time.Instant.now().minusSeconds(1));
            assertTrue(s.delete("4917008"), "a hold past its expiry, that no node released, does not keep it");
            assertEquals(0, holdRows(s, "gone|1"), "and goes with its bucket");
        }
    }

    private static long holdRows(JdbcBalanceStore s, String key) throws java.sql.SQLException {
        try (java.sql.Connection c = s.dataSource().getConnection();
             java.sql.PreparedStatement q = c.prepareStatement("SELECT COUNT(*) FROM reservation WHERE reservation_key = ?")) {
            q.setString(1, key);
            try (java.sql.ResultSet rs = q.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * PostgreSQL checks a bucket's rules where a value is written (V16: the unit by a trigger, the
     * amounts by one constraint), and a deleted bucket's holds go with it (a trigger, where a
     * foreign key was): the rules still refuse what they refused, and an import that replaces a
     * subscriber leaves none of its expired holds behind.
     */
    @Test
    void bucketRulesStillRefuseBadRowsAndHoldsGoWithTheirBucketOnPostgres() throws Exception {
        try (JdbcBalanceStore s = open("postgres")) {
            s.add(List.of(bucket("4917020", UnitType.OCTETS, 1_000, null, null)), false);
            try (java.sql.Connection c = s.dataSource().getConnection(); java.sql.Statement st = c.createStatement()) {
                c.setAutoCommit(true); // each refused alone
                for (String bad : List.of(
                        "INSERT INTO bucket (subscriber_id, unit, amount) VALUES ('4917020', 'bytes', 1)",
                        "UPDATE bucket SET unit = 'bytes' WHERE subscriber_id = '4917020'",
                        "UPDATE bucket SET amount = -1 WHERE subscriber_id = '4917020'",
                        "UPDATE bucket SET reserved = 1001 WHERE subscriber_id = '4917020'",
                        "UPDATE bucket SET reserved = -1 WHERE subscriber_id = '4917020'")) {
                    java.sql.SQLException e = assertThrows(java.sql.SQLException.class, () -> st.execute(bad), bad);
                    assertEquals("23514", e.getSQLState(), bad + ": " + e.getMessage()); // check_violation
                }
            }
            assertEquals(1_000, s.available("4917020", UnitType.OCTETS, null));
            s.reserve("4917020", UnitType.OCTETS, null, 100, "expired|1", java.time.Instant.now().minusSeconds(1));
            s.reserve("4917020", UnitType.OCTETS, null, 200, "expired|2", java.time.Instant.now().minusSeconds(1));
            s.add(List.of(bucket("4917020", UnitType.OCTETS, 5, null, null)), true);
            assertEquals(0, holdRows(s, "expired|1") + holdRows(s, "expired|2"));
            assertEquals(5, s.available("4917020", UnitType.OCTETS, null));
            s.reserve("4917020", UnitType.OCTETS, null, 5, "truncated|1", LATER);
            try (java.sql.Connection c = s.dataSource().getConnection(); java.sql.Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                st.execute("TRUNCATE bucket"); // by hand: no DELETE trigger fires, the TRUNCATE one does
            }
            assertEquals(0, holdRows(s, "truncated|1"));
        }
    }

    /**
     * Issue 17, item 4: an import of more rows than one JDBC batch (10,000) keeps every row, the
     * plans, a subscriber named only by a plan, and replaces the buckets of those it names only.
     */
    @ParameterizedTest
    @ValueSource(strings = {"embedded", "postgres"})
    void aLargeImportKeepsEveryRowAndReplacesOnlyTheSubscribersItNames(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4918000000", UnitType.SECONDS, 9, null, null),
                    bucket("4918099999", UnitType.SECONDS, 9, null, null)), false);
            List<Bucket> rows = new ArrayList<>();
            for (int i = 0; i < 70_001; i++) { // full batches and one row; more than an H2 array takes
                rows.add(bucket(String.valueOf(4918000000L + i), UnitType.OCTETS, 1000 + i, i % 2 == 0 ? null : 7L,
                        i == 70_000 ? LATER : null));
            }
            s.add(rows, java.util.Map.of("4918000001", "gold", "4918099999", "silver"), true);
            assertEquals(70_002, s.subscribers().size(), "70,001 imported and one named by a plan alone");
            assertEquals(List.of(1000L), s.buckets("4918000000").stream().map(Bucket::amount).toList(),
                    "the import replaced its earlier bucket");
            assertEquals(List.of(9L), s.buckets("4918099999").stream().map(Bucket::amount).toList(),
                    "a subscriber named by a plan alone keeps its buckets");
            assertEquals(Optional.of("gold"), s.plan("4918000001"));
            assertEquals(Optional.of("silver"), s.plan("4918099999"));
            Bucket last = s.buckets("4918070000").get(0);
            assertEquals(71_000, last.amount());
            assertEquals(LATER.getEpochSecond(), last.expires().getEpochSecond());
            assertEquals(7L, s.buckets("4918012345").get(0).ratingGroup());
            assertEquals(Optional.of("4918069999"), s.findSubscriber(List.of("4918069999")));
            assertEquals(400, s.reserve("4918069999", UnitType.OCTETS, 7L, 400, "big|1", LATER).reserved());
        }
    }

    /**
     * A plan set while an import replaces its subscriber waits for the import, then is set on the
     * row the import inserted. It answered "no subscriber" before: its UPDATE found the row it
     * waited for deleted, and did not see the new one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void aPlanSetWhileAnImportReplacesItsSubscriberIsSetAfterIt(String kind) throws Exception {
        String url = Stores.fresh(kind);
        try (JdbcBalanceStore s = open(url, kind);
             java.sql.Connection importing = java.sql.DriverManager.getConnection(url)) {
            s.add(List.of(bucket("4918300001", UnitType.OCTETS, 5, null, null)), false);
            importing.setAutoCommit(false);
            try (java.sql.Statement st = importing.createStatement()) { // as an import replaces a subscriber
                st.executeUpdate("DELETE FROM subscriber WHERE id = '4918300001'");
                st.executeUpdate("INSERT INTO subscriber (id) VALUES ('4918300001')");
            }
            ExecutorService one = Executors.newSingleThreadExecutor();
            try {
                Future<Boolean> set = one.submit(() -> s.setPlan("4918300001", "gold"));
                Thread.sleep(300);
                assertFalse(set.isDone(), "the plan waits for the import's row lock");
                importing.commit();
                assertTrue(set.get(10, TimeUnit.SECONDS), "the subscriber is there");
            } finally {
                one.shutdownNow();
            }
            assertEquals(Optional.of("gold"), s.plan("4918300001"));
        }
    }

    /**
     * A new embedded store starts without an error: no H2 trace file beside it, which an operator
     * reads as a fault. The check for the schema's history queried a table a new database does
     * not have, and H2 wrote the exception to data/ocs.trace.db at every first start.
     */
    @Test
    void aNewEmbeddedStoreWritesNoTraceFile(@TempDir Path dir) throws Exception {
        String url = Stores.embeddedFile(dir);
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 4)) {
            s.add(List.of(bucket("4918200001", UnitType.OCTETS, 5, null, null)), false);
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 4)) {
            assertEquals(5, s.buckets("4918200001").get(0).amount());
        }
        try (var files = java.nio.file.Files.list(dir)) {
            List<String> names = files.map(f -> f.getFileName().toString()).sorted().toList();
            assertTrue(names.stream().anyMatch(n -> n.endsWith(".mv.db")), names.toString());
            assertFalse(names.stream().anyMatch(n -> n.endsWith(".trace.db")), names.toString());
        }
    }

    /**
     * An import replaces the buckets of the subscribers it names; their tariff plans it changes
     * only when its file has the plan column (an empty one there: the default plan). Before, any
     * import took away the plan of every subscriber it named.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void anImportKeepsThePlansUnlessItsFileHasThePlanColumn(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            for (String id : List.of("4918100001", "4918100002", "4918100003")) {
                s.add(List.of(bucket(id, UnitType.OCTETS, 5, null, null)), false);
                assertTrue(s.setPlan(id, "gold"));
            }
            SubscriberCsv.Provisioning plain = SubscriberCsv.read((SubscriberCsv.HEADER
                    + "\n4918100001,octets,100,,\n4918100002,octets,200,,\n").getBytes(), "plain.csv");
            assertEquals(0, plain.namedPlans());
            s.add(plain.buckets(), plain.plans(), true);
            assertEquals(List.of(100L), s.buckets("4918100001").stream().map(Bucket::amount).toList());
            assertEquals(Optional.of("gold"), s.plan("4918100001"), "no plan column: the plan stays");
            assertEquals(Optional.of("gold"), s.plan("4918100002"));

            SubscriberCsv.Provisioning planned = SubscriberCsv.read((SubscriberCsv.HEADER_WITH_PLAN
                    + "\n4918100001,octets,300,,,silver\n4918100002,octets,400,,,\n4918100002,seconds,60,,,\n"
                    + "4918100004,octets,1,,,\n4918100004,octets,2,,,bronze\n")
                    .getBytes(), "planned.csv");
            assertEquals(2, planned.namedPlans());
            s.add(planned.buckets(), planned.plans(), true);
            assertEquals(Optional.of("silver"), s.plan("4918100001"));
            assertEquals(Optional.empty(), s.plan("4918100002"), "an empty plan column: the default plan");
            assertEquals(Optional.of("gold"), s.plan("4918100003"), "a subscriber the file does not name keeps all");
            assertEquals(List.of(400L, 60L), s.buckets("4918100002").stream().map(Bucket::amount).toList());
            assertEquals("gold", s.planOf("4918100003"));
            assertEquals(Optional.of("bronze"), s.plan("4918100004"), "a new subscriber, its plan on one of its rows");
        }
    }

    /**
     * A rolling upgrade: a node of the previous version, sharing the migrated store, still calls
     * ocs_apply with its ten arguments (V8), and its changes are made and kept once per key.
     */
    @Test
    void theChangesOfANodeOfThePreviousVersionStillRunOnAMigratedStore() throws Exception {
        String url = Stores.fresh("postgres");
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.add(List.of(bucket("4917100", UnitType.OCTETS, 1_000, null, null)), false);
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, "postgres", null)) {
            for (int i = 0; i < 2; i++) { // the same change key twice: debited once
                try (java.sql.PreparedStatement st = c.prepareStatement("SELECT n, a, b FROM ocs_apply("
                        + "ARRAY[4], ARRAY['4917100']::varchar[], ARRAY['octets']::varchar[], ARRAY[NULL]::bigint[], "
                        + "ARRAY[300]::bigint[], ARRAY[0]::bigint[], ARRAY[NULL]::varchar[], ARRAY[NULL]::timestamp[], "
                        + "ARRAY['0a0b']::varchar[], now()::timestamp)");
                     java.sql.ResultSet rs = st.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(300, rs.getLong(2), "the debit, as the previous version reads it");
                }
            }
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            assertEquals(700, s.available("4917100", UnitType.OCTETS, null));
        }
    }

    /**
     * Issue 17, start-up: a store whose schema history has every migration skips Flyway; the
     * newest migration of each kind is the one the store names (a new migration must move it, or
     * nodes would start on an old schema), and a database without them is migrated.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void aCurrentSchemaIsKnownWithoutFlywayAndANewOneIsMigrated(String kind) throws Exception {
        Path db = Path.of("src/main/resources/db");
        String latest = java.util.stream.Stream.of("migration", kind.equals("h2") ? "h2" : "postgresql")
                .flatMap(dir -> {
                    try {
                        return java.nio.file.Files.list(db.resolve(dir));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                })
                .map(f -> f.getFileName().toString()).filter(f -> f.matches("V\\d+__.*\\.sql"))
                .map(f -> Integer.parseInt(f.substring(1, f.indexOf("__")))).max(Integer::compare).orElseThrow().toString();
        assertEquals(latest, kind.equals("h2") ? JdbcBalanceStore.H2_SCHEMA : JdbcBalanceStore.POSTGRES_SCHEMA);
        String url = Stores.fresh(kind);
        String user = kind.equals("postgres") ? "postgres" : null;
        try (com.zaxxer.hikari.HikariDataSource ds = new com.zaxxer.hikari.HikariDataSource()) {
            ds.setJdbcUrl(url);
            ds.setUsername(user);
            assertFalse(JdbcBalanceStore.schemaCurrent(ds, latest), "a new database");
            try (JdbcBalanceStore s = JdbcBalanceStore.open(url, user, null, 4)) {
                s.add(List.of(bucket("4917100", UnitType.OCTETS, 5, null, null)), false);
            }
            assertTrue(JdbcBalanceStore.schemaCurrent(ds, latest), "migrated");
            assertFalse(JdbcBalanceStore.schemaCurrent(ds, String.valueOf(Integer.parseInt(latest) + 1)), "a newer build");
            // Flyway would refuse this history (its checksum check): the store opens, so it did not run
            try (java.sql.Connection c = ds.getConnection(); java.sql.Statement st = c.createStatement()) {
                st.executeUpdate("UPDATE \"flyway_schema_history\" SET \"checksum\" = \"checksum\" + 1 WHERE \"version\" = '1'");
            }
            try (JdbcBalanceStore s = JdbcBalanceStore.open(url, user, null, 4)) { // opened again, without Flyway
                assertEquals(5, s.available("4917100", UnitType.OCTETS, null));
            }
        }
    }

    /**
     * Holds an SQL store left in an embedded file (bucket.reserved) are released by the node's
     * first reading of the balances, not by a scan at open any more, and before any write-back:
     * the whole balance is free and a debit below the old hold is written back and kept.
     */
    @Test
    void holdsLeftInAnEmbeddedFileAreReleasedWhenTheNodeReadsItsBalances(@TempDir Path dir) throws Exception {
        String url = Stores.embeddedFile(dir);
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 4)) {
            s.add(List.of(bucket("4917200", UnitType.OCTETS, 1000, null, null)), false);
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
             java.sql.Statement st = c.createStatement()) {
            assertEquals(1, st.executeUpdate("UPDATE bucket SET reserved = 700 WHERE subscriber_id = '4917200'"));
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 4)) {
            assertEquals(1000, s.available("4917200", UnitType.OCTETS, null), "the old hold is gone");
            assertEquals(800, s.debit("4917200", UnitType.OCTETS, null, 800, "d|1", null));
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.openForAdministration(url, null, null)) {
            Bucket b = s.buckets("4917200").get(0);
            assertEquals(200, b.amount(), "the debit below the old hold was written back");
            assertEquals(0, b.reserved());
        }
    }

    /**
     * Start-up: the records a killed node left open are ended at its next start, looking only at
     * the usage parts kept since its last start (node_run, by row id), not at every part kept;
     * whatever their started_at says (a clock set back), and all of them again once the table
     * was emptied and H2 numbers its rows from 1 again.
     */
    @Test
    void onlyTheRecordsOfTheLastRunAreEndedAtStart(@TempDir Path dir) throws Exception {
        String url = Stores.embeddedFile(dir);
        JdbcBalanceStore.open(url, null, null, 4).close();
        String part = "INSERT INTO usage_part (record_id, kind, subscriber_id, session_id, started_at, units, cost, kept_at) "
                + "VALUES (?, 'session', '4917300', ?, ?, 0, 0, ?)";
        Instant weekAgo = Instant.now().minus(java.time.Duration.ofDays(7));
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url)) {
            insertPart(c, part, "before", Instant.now());
            // the node started after that part was kept
            assertEquals(1, c.createStatement().executeUpdate(
                    "UPDATE node_run SET last_part = (SELECT MAX(_ROWID_) FROM usage_part)"));
            // started by a clock a week behind: still of the last run
            insertPart(c, part, "last-run", weekAgo);
        }
        JdbcBalanceStore.open(url, null, null, 4).close(); // the node starts again after being killed
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url)) {
            assertEquals(List.of("before:0", "last-run:1:NODE_STOPPED"), ends(c));
            // retention emptied the table (the last start had seen 1,000 parts)
            c.createStatement().executeUpdate("DELETE FROM usage_part");
            assertEquals(1, c.createStatement().executeUpdate("UPDATE node_run SET last_part = 1000"));
        }
        // opened again, H2 numbers the rows from 1: those the journal's replay writes are looked at
        try (JdbcBalanceStore admin = JdbcBalanceStore.openForAdministration(url, null, null)) {
            long atOpen = JdbcBalanceStore.inTransaction(admin.dataSource(), UsageRecords::newestPart);
            try (java.sql.Connection c = admin.dataSource().getConnection()) {
                insertPart(c, part, "replayed", Instant.now());
                c.commit();
            }
            int ended = JdbcBalanceStore.inTransaction(admin.dataSource(),
                    tx -> UsageRecords.endOpen(tx, UsageRecords.NODE_STOPPED, atOpen));
            assertEquals(1, ended);
            try (java.sql.Connection c = admin.dataSource().getConnection()) {
                assertEquals(List.of("replayed:1:NODE_STOPPED"), ends(c));
            }
        }
    }

    /**
     * A clean stop ends the records of the sessions still open (NODE_STOPPED, when their last part
     * was kept, as a start after a kill would) and marks every part as looked at: the next start
     * looks at none of the parts of the run before (it once read them all: 6 s after 400,000
     * sessions). A record ended before the stop is not ended again.
     */
    @Test
    void aCleanStopEndsTheOpenRecordsSoThatTheNextStartLooksAtNoPart(@TempDir Path dir) throws Exception {
        String url = Stores.embeddedFile(dir);
        Instant started = Instant.now().minusSeconds(60);
        org.gyocs.core.UsageNote open = org.gyocs.core.UsageNote.of(org.gyocs.core.UsageNote.SESSION, "open", "4917400",
                "s;open", "pcef", started);
        org.gyocs.core.UsageNote done = org.gyocs.core.UsageNote.of(org.gyocs.core.UsageNote.SESSION, "done", "4917400",
                "s;done", "pcef", started);
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 4)) {
            s.add(List.of(new Bucket(0, "4917400", UnitType.OCTETS, 10_000, 0, null, null)), false);
            for (org.gyocs.core.UsageNote n : List.of(open, done)) {
                s.reserve("4917400", UnitType.OCTETS, 100L, 1000, n.recordId(), null, n.recordId() + "|r");
                s.settle("4917400", UnitType.OCTETS, 100L, n.recordId(), 300, n.recordId() + "|s",
                        n.line(100L, UnitType.OCTETS, 300, false, null));
            }
            s.recordUsage(done.end(Instant.now(), 2001L, "LOGOUT"));
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url)) {
            assertEquals(List.of("done:1:LOGOUT", "open:1:NODE_STOPPED"), ends(c));
            try (java.sql.ResultSet rs = c.createStatement().executeQuery(
                    "SELECT (SELECT last_part FROM node_run WHERE id = 1), (SELECT MAX(_ROWID_) FROM usage_part), "
                            + "SUM(units) FROM usage_part WHERE record_id = 'open'")) {
                rs.next();
                assertEquals(rs.getLong(2), rs.getLong(1), "every part looked at already");
                assertEquals(300, rs.getLong(3), "the open session's usage kept with its end");
            }
        }
        JdbcBalanceStore.open(url, null, null, 4).close(); // starts again: nothing to end, nothing ended twice
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url)) {
            assertEquals(List.of("done:1:LOGOUT", "open:1:NODE_STOPPED"), ends(c));
        }
    }

    private static void insertPart(java.sql.Connection c, String sql, String record, Instant started)
            throws java.sql.SQLException {
        try (java.sql.PreparedStatement i = c.prepareStatement(sql)) {
            i.setString(1, record);
            i.setString(2, record);
            i.setTimestamp(3, java.sql.Timestamp.from(started));
            i.setTimestamp(4, java.sql.Timestamp.from(started));
            i.executeUpdate();
        }
    }

    /** Each record: how many of its parts carry an end, and the end's cause. */
    private static List<String> ends(java.sql.Connection c) throws java.sql.SQLException {
        List<String> out = new ArrayList<>();
        try (java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT record_id, COUNT(ended_at), "
                + "MAX(termination_cause) FROM usage_part GROUP BY record_id ORDER BY record_id")) {
            while (rs.next()) {
                out.add(rs.getString(1) + ":" + rs.getInt(2) + (rs.getString(3) == null ? "" : ":" + rs.getString(3)));
            }
        }
        return out;
    }

    /** Two stores (two nodes) on one PostgreSQL reserving from one balance at once never grant more than it holds. */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"}) // one node per embedded file (the journal's lock)
    void concurrentReservationsFromTwoStoresNeverOverGrant(String kind) throws Exception {
        String url = Stores.fresh(kind);
        String user = kind.equals("postgres") ? "postgres" : null;
        try (JdbcBalanceStore a = JdbcBalanceStore.open(url, user, null, 4);
             JdbcBalanceStore b = JdbcBalanceStore.open(url, user, null, 4)) {
            a.add(List.of(bucket("4917006", UnitType.OCTETS, 10_000, null, null),
                    bucket("4917006", UnitType.OCTETS, 5_000, 7L, null)), false);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<Long>> grants = new ArrayList<>();
                for (int i = 0; i < 400; i++) {
                    JdbcBalanceStore node = i % 2 == 0 ? a : b;
                    int n = i;
                    grants.add(pool.submit(() -> node.reserve("4917006", UnitType.OCTETS, n % 3 == 0 ? 7L : null, 97,
                            "s" + n, LATER).reserved()));
                }
                long total = 0;
                for (Future<Long> f : grants) {
                    total += f.get();
                }
                assertEquals(15_000, total, "the whole balance and not one octet more");
            } finally {
                pool.shutdownNow();
            }
            for (Bucket bk : a.buckets("4917006")) {
                assertEquals(bk.amount(), bk.reserved());
            }
        }
    }

    /**
     * Issue 13, item 2: whatever the URL says, an H2 file opens no port, and the node closes it
     * itself. Issue 17: and H2 writes each commit's chunk itself (WRITE_DELAY=0; with a delay, a
     * kill -9 could leave a file no one can open).
     */
    @Test
    void anEmbeddedUrlNeverOpensADatabasePortNorWritesInTheBackground() {
        assertEquals("jdbc:h2:file:/x/ocs;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE",
                JdbcBalanceStore.embeddedUrl("jdbc:h2:file:/x/ocs;AUTO_SERVER=TRUE;AUTO_SERVER_PORT=9092"));
        assertEquals("jdbc:h2:/x/ocs;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE",
                JdbcBalanceStore.embeddedUrl("jdbc:h2:/x/ocs;WRITE_DELAY=500"));
        assertEquals("jdbc:h2:/x/ocs;DB_CLOSE_ON_EXIT=TRUE;WRITE_DELAY=0",
                JdbcBalanceStore.embeddedUrl("jdbc:h2:/x/ocs;DB_CLOSE_ON_EXIT=TRUE"));
    }

    /** What a node's (and ocs-admin's) embedded database runs with, asked of H2 itself on a new connection. */
    @Test
    void theEmbeddedDatabaseWritesEachCommitItself(@TempDir Path dir) throws Exception {
        for (boolean node : new boolean[] {true, false}) {
            String url = org.gyocs.testing.Stores.embeddedFile(dir.resolve(node ? "node" : "admin")) + ";WRITE_DELAY=500";
            try (JdbcBalanceStore s = JdbcBalanceStore.open(url, null, null, 2, node, ds -> ds);
                 java.sql.Connection c = s.dataSource().getConnection();
                 java.sql.ResultSet rs = c.createStatement().executeQuery(
                         "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME = 'WRITE_DELAY'")) {
                assertTrue(rs.next());
                assertEquals("0", rs.getString(1), node ? "node" : "ocs-admin");
            }
        }
    }

    /**
     * Rating's part of the contract: money is a bucket like any other (held, settled, kept apart
     * from the unit buckets), plans and tariffs round-trip, and a change's usage note is kept with
     * it, once, even when the change is sent again under its change key.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void moneyPlansTariffsAndUsageNotes(String kind) throws Exception {
        try (JdbcBalanceStore s = open(kind)) {
            s.add(List.of(bucket("4917009", UnitType.MONEY, 500, null, null),
                    bucket("4917009", UnitType.OCTETS, 1000, null, null)), java.util.Map.of("4917009", "gold"), false);
            assertEquals(Optional.of("gold"), s.plan("4917009"));
            assertEquals("gold", s.planOf("4917009"));
            assertEquals(new Reservation(200, 300), s.reserve("4917009", UnitType.MONEY, 7L, 200, "m|1", LATER));
            assertEquals(1000, s.available("4917009", UnitType.OCTETS, 7L), "the octets are another balance");
            org.gyocs.core.UsageNote record = org.gyocs.core.UsageNote.of(org.gyocs.core.UsageNote.SESSION, "rec-" + kind,
                    "4917009", "m", "pcef", Instant.now());
            org.gyocs.core.UsageNote line = record.line(7L, UnitType.OCTETS, 3_000, false, "EUR");
            assertEquals(150, s.settle("4917009", UnitType.MONEY, 7L, "m|1", 150, "change-1", line));
            assertEquals(150, s.settle("4917009", UnitType.MONEY, 7L, "m|1", 150, "change-1", line), "the same change again");
            assertEquals(350, s.available("4917009", UnitType.MONEY, null));
            s.recordUsage(record.end(Instant.now(), 2001L, "CCR_T"));
            List<UsageRecords.UsageRecord> r = List.of();
            for (int i = 0; i < 100 && r.isEmpty(); i++) {
                r = s.usage("4917009", Instant.EPOCH, LATER, 10);
                Thread.sleep(r.isEmpty() ? 50 : 0); // the embedded store writes back within a second
            }
            assertEquals(List.of(new UsageRecords.Line(7L, "octets", 3_000, 150, "EUR")), r.get(0).lines(), "kept once");
            assertEquals("CCR_T", r.get(0).terminationCause());
            assertTrue(s.setPlan("4917009", null));
            assertFalse(s.setPlan("4917099", "gold"), "no such subscriber");
            assertEquals(Optional.empty(), s.plan("4917009"));
            List<org.gyocs.core.rating.Tariff> tariffs = org.gyocs.core.rating.TariffCsv.parse(List.of(
                    "plan,rating_group,unit,price,per,currency,from,to", "gold,7,octets,1,1000,EUR,08:00,20:00",
                    "gold,7,octets,2,1000,EUR,20:00,08:00", "default,,seconds,5,60,JPY,,"), "t");
            s.replaceTariffs(tariffs);
            assertEquals(tariffs, s.tariffs());
            s.replaceTariffs(List.of());
            assertTrue(s.tariffs().isEmpty());
        }
    }
}
