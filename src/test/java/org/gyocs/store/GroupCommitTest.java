package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.gyocs.testing.Stores;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/** Changes that share a commit: each returns after it, and a bad one fails alone. */
class GroupCommitTest {
    private static final int CALLERS = 40;

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void concurrentChangesShareCommitsAndABadOneFailsAlone(String kind) throws Exception {
        try (HikariDataSource ds = tableHoldingSeven(kind)) {
            try (GroupCommit commits = new GroupCommit(ds, 2, "test")) {
                CountDownLatch start = new CountDownLatch(1);
                ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
                List<Future<Integer>> results = new ArrayList<>();
                for (int i = 0; i < CALLERS; i++) {
                    int id = i == 13 ? 7 : 100 + i; // caller 13 inserts a duplicate key
                    results.add(pool.submit(() -> {
                        start.await();
                        return commits.run(tx -> {
                            PreparedStatement s = tx.prepare("INSERT INTO t (id) VALUES (?)");
                            s.setInt(1, id);
                            return s.executeUpdate();
                        });
                    }));
                }
                start.countDown();
                for (int i = 0; i < CALLERS; i++) {
                    Future<Integer> f = results.get(i);
                    if (i == 13) {
                        Exception e = assertThrows(Exception.class, f::get);
                        assertTrue(e.getCause() instanceof StoreException, e.toString());
                    } else {
                        assertEquals(1, f.get(10, TimeUnit.SECONDS));
                        // returned: committed, so visible to any other connection
                        assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = " + (100 + i)));
                    }
                }
                pool.shutdownNow();
            }
            assertEquals(CALLERS, count(ds, "SELECT COUNT(*) FROM t"), "39 inserted + the 7 from before");
        }
    }

    /** Work nobody waits for is committed in order with the others (in a batch, or alone after a failure), fails alone, and is committed by the close. */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void workNobodyWaitsForIsCommittedWithTheNextBatchAndFailsAlone(String kind) throws Exception {
        try (HikariDataSource ds = tableHoldingSeven(kind)) {
            GroupCommit commits = new GroupCommit(ds, 1, "test");
            CompletableFuture<Integer> one = commits.submit(
                    tx -> tx.prepare("INSERT INTO t (id) VALUES (1)").executeUpdate(), "one");
            CompletableFuture<Integer> duplicate = commits.submit(
                    tx -> tx.prepare("INSERT INTO t (id) VALUES (7)").executeUpdate(), "a duplicate");
            assertEquals(1, (int) commits.run(tx -> tx.prepare("INSERT INTO t (id) VALUES (2)").executeUpdate()),
                    "the duplicate fails alone: the others of its batch are committed");
            assertEquals(1, one.get(5, TimeUnit.SECONDS));
            ExecutionException failed = assertThrows(ExecutionException.class, () -> duplicate.get(5, TimeUnit.SECONDS),
                    "its submitter hears of the failure");
            assertTrue(failed.getCause() instanceof StoreException, failed.toString());
            assertEquals(3, count(ds, "SELECT COUNT(*) FROM t"), "7, 1 and 2: one committer, in order");
            commits.submit(tx -> tx.prepare("INSERT INTO t (id) VALUES (3)").executeUpdate(), "three");
            commits.close();
            assertEquals(4, count(ds, "SELECT COUNT(*) FROM t"), "7, 1, 2, and 3 committed at the close");
            assertThrows(StoreException.class, () -> commits.submit(tx -> 0, "late"));
        }
    }

    /**
     * A stop tries again, until its deadline, the work that found a row locked elsewhere: a
     * record's end that nobody waits for was dropped when the stop came while it waited. Two
     * committers: the one that leaves first must not fail what the other still tries.
     */
    @ParameterizedTest
    @ValueSource(strings = {"postgres"})
    void closingTriesAgainWhatWaitsForALockedRowUntilItsDeadline(String kind) throws Exception {
        try (HikariDataSource ds = tableHoldingSeven(kind); Connection holder = ds.getConnection();
             Statement lock = holder.createStatement()) {
            lock.execute("SELECT id FROM t WHERE id = 7 FOR UPDATE"); // held until the holder commits
            GroupCommit commits = new GroupCommit(ds, 2, "test");
            commits.deadline(java.time.Duration.ofSeconds(30)); // far beyond what a slow machine takes here
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Integer> end = commits.submit(deleteSevenWaitingBriefly(attempts), "a record's end");
            awaitAttempts(attempts, 2); // in its batch, then alone: now in the retry queue
            CompletableFuture<Void> closing = CompletableFuture.runAsync(commits::close);
            int before = attempts.get();
            awaitAttempts(attempts, before + 2); // tried again after the close began
            assertFalse(end.isDone(), "it still waits for the row");
            assertFalse(closing.isDone(), "the stop waits for it");
            holder.commit();
            closing.get(10, TimeUnit.SECONDS);
            assertEquals(1, end.get(1, TimeUnit.SECONDS), "committed before the stop ended");
            assertEquals(0, count(ds, "SELECT COUNT(*) FROM t WHERE id = 7"));
        }
    }

    /** A row that stays locked: the stop ends at the work's deadline, and the work fails, with why. */
    @ParameterizedTest
    @ValueSource(strings = {"postgres"})
    void closingGivesUpOnALockedRowAtItsDeadline(String kind) throws Exception {
        try (HikariDataSource ds = tableHoldingSeven(kind); Connection holder = ds.getConnection();
             Statement lock = holder.createStatement()) {
            lock.execute("SELECT id FROM t WHERE id = 7 FOR UPDATE");
            GroupCommit commits = new GroupCommit(ds, 2, "test");
            commits.deadline(java.time.Duration.ofSeconds(1));
            AtomicInteger attempts = new AtomicInteger();
            CompletableFuture<Integer> end = commits.submit(deleteSevenWaitingBriefly(attempts), "a record's end");
            awaitAttempts(attempts, 2);
            long t0 = System.nanoTime();
            commits.close();
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(8), "bounded by the deadline");
            ExecutionException failed = assertThrows(ExecutionException.class, () -> end.get(1, TimeUnit.SECONDS));
            assertTrue(failed.getCause().getMessage().contains("lock"), failed.toString());
            holder.rollback();
            assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = 7"));
        }
    }

    /**
     * Deletes row 7, giving up on its lock after 50 ms (as ocs_apply does after 100: SQLState
     * 55P03), and counts its attempts.
     */
    private static GroupCommit.Work<Integer> deleteSevenWaitingBriefly(AtomicInteger attempts) {
        return tx -> {
            attempts.incrementAndGet();
            tx.prepare("SET LOCAL lock_timeout = '50ms'").execute();
            return tx.prepare("DELETE FROM t WHERE id = 7").executeUpdate();
        };
    }

    /** Waits until the work has been tried at least {@code n} times, 20 s at most. */
    private static void awaitAttempts(AtomicInteger attempts, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (attempts.get() < n) {
            assertTrue(System.nanoTime() < deadline, "tried " + attempts.get() + " times, not " + n);
            Thread.sleep(10);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void closingFinishesWhatIsQueuedAndRefusesTheRest(String kind) throws Exception {
        try (HikariDataSource ds = dataSource(kind)) {
            sql(ds, "CREATE TABLE t (id INT PRIMARY KEY)");
            GroupCommit commits = new GroupCommit(ds, 1, "test");
            int inserted = commits.run(tx -> tx.prepare("INSERT INTO t (id) VALUES (1)").executeUpdate());
            assertEquals(1, inserted);
            commits.close();
            assertThrows(StoreException.class, () -> commits.run(tx -> 0L));
            assertEquals(1, count(ds, "SELECT COUNT(*) FROM t"));
        }
    }

    /**
     * A batch of described changes and others (a session's state): the described ones still go
     * through the batch runner in one call (on PostgreSQL, one ocs_apply), the others run each
     * on its own, in the same transaction, and every caller gets its own result.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void describedChangesShareOneBatchCallWithOthersInTheirBatch(String kind) throws Exception {
        List<List<Object>> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        GroupCommit.BatchRunner runner = (tx, descriptions, between) -> {
            calls.add(List.copyOf(descriptions));
            return descriptions.stream().map(d -> (Object) (10 * (Integer) d)).toArray();
        };
        try (HikariDataSource ds = dataSource(kind); GroupCommit commits = new GroupCommit(ds, 1, "test", runner)) {
            CountDownLatch release = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(14);
            // the one committer is held by a first piece while the others queue behind it
            Future<Integer> first = heldCommitter(pool, commits, release);
            List<Future<Integer>> described = new ArrayList<>();
            List<Future<Integer>> others = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                int d = i;
                described.add(pool.submit(() -> commits.run(tx -> -1, d)));
            }
            for (int i = 1; i <= 3; i++) {
                int own = 1000 + i;
                others.add(pool.submit(() -> commits.run(tx -> own)));
            }
            Thread.sleep(300);
            release.countDown();
            assertEquals(0, first.get(10, TimeUnit.SECONDS));
            for (int i = 1; i <= 10; i++) {
                assertEquals(10 * i, described.get(i - 1).get(10, TimeUnit.SECONDS), "from the batch runner");
            }
            for (int i = 1; i <= 3; i++) {
                assertEquals(1000 + i, others.get(i - 1).get(10, TimeUnit.SECONDS));
            }
            pool.shutdownNow();
            assertEquals(1, calls.size(), "the ten described changes in one call: " + calls);
            assertEquals(10, calls.get(0).size());
        }
    }

    /**
     * A batch runner that inserts each piece's id into t (its result: ten times the id), then
     * what the early pieces' callers add; it fails after that when a piece is 666.
     */
    private static GroupCommit.BatchRunner inserting(List<List<Object>> calls) {
        return (tx, descriptions, between) -> {
            calls.add(List.copyOf(descriptions));
            Object[] results = new Object[descriptions.size()];
            for (int k = 0; k < results.length; k++) {
                insert(tx, (Integer) descriptions.get(k));
                results[k] = 10 * (Integer) descriptions.get(k);
            }
            for (Object more : between.more(results)) {
                insert(tx, (Integer) more);
            }
            if (descriptions.contains(666)) {
                throw new java.sql.SQLException("refused after its results were given");
            }
            return results;
        };
    }

    /**
     * A piece that fails before its caller has its result (a piece before it broke the batch's
     * statement, a connection lost) fails its caller at once, not at its deadline; and a
     * piece without a description that fails in a batch of early pieces (a refund) does not
     * fail them: it runs before they have their results, and they run again without it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void anEarlyChangeThatFailsBeforeItsResultFailsAtOnceAndABadNeighbourDoesNotFailIt(String kind) throws Exception {
        List<List<Object>> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        try (HikariDataSource ds = tableHoldingSeven(kind);
             GroupCommit commits = new GroupCommit(ds, 1, "test", inserting(calls))) {
            commits.deadline(java.time.Duration.ofSeconds(60));
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
                try (GroupCommit.Together together = commits.together()) {
                    StoreException duplicate = assertThrows(StoreException.class, () -> commits.runEarly(tx -> -1, 7));
                    together.committed(); // nothing open: the piece failed
                    assertTrue(duplicate.getMessage().toLowerCase().contains("unique")
                            || duplicate.getMessage().contains("23505") || duplicate.getMessage().contains("PRIMARY"),
                            duplicate.getMessage());
                }
            });

            CountDownLatch release = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(6);
            Future<Integer> holder = heldCommitter(pool, commits, release); // what follows queues behind it
            List<Future<Integer>> early = new ArrayList<>();
            for (int i = 21; i <= 23; i++) {
                int id = i;
                early.add(pool.submit(() -> {
                    try (GroupCommit.Together together = commits.together()) {
                        int r = commits.runEarly(tx -> -1, id);
                        commits.withOpen(tx -> -1, id + 100);
                        together.committed();
                        return r;
                    }
                }));
            }
            Future<Integer> bad = pool.submit(() -> commits.run(tx -> tx.prepare("INSERT INTO t (id) VALUES (7)")
                    .executeUpdate()));
            Thread.sleep(300);
            release.countDown();
            assertEquals(0, holder.get(10, TimeUnit.SECONDS));
            for (int i = 0; i < 3; i++) {
                assertEquals(10 * (21 + i), early.get(i).get(10, TimeUnit.SECONDS));
            }
            ExecutionException failed = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
            assertTrue(failed.getCause() instanceof StoreException, failed.toString());
            pool.shutdownNow();
            assertEquals(6, count(ds, "SELECT COUNT(*) FROM t WHERE id IN (21, 22, 23, 121, 122, 123)"),
                    "the early changes and what their callers added");
        }
    }

    private static void insert(SqlTransaction tx, int id) throws java.sql.SQLException {
        PreparedStatement s = tx.prepare("INSERT INTO t (id) VALUES (?)");
        s.setInt(1, id);
        s.executeUpdate();
    }

    /**
     * In a scope (GroupCommit#together) a described change gives its result before its commit,
     * and what its caller adds then is written in the same transaction: one batch, one commit.
     * A request's balance change and its session's state on PostgreSQL so wait for one commit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void anEarlyChangeGivesItsResultBeforeItsCommitAndWhatItsCallerAddsSharesIt(String kind) throws Exception {
        withEarlyCommits(kind, java.time.Duration.ofSeconds(10), (ds, commits, calls) -> {
        try (GroupCommit.Together together = commits.together()) {
            assertEquals(10, (int) commits.runEarly(tx -> -1, 1));
            assertEquals(0, count(ds, "SELECT COUNT(*) FROM t WHERE id IN (1, 2)"), "not committed yet");
            CompletableFuture<Object> added = commits.withOpen(tx -> -1, 2);
            together.committed();
            assertTrue(added.isDone() && !added.isCompletedExceptionally());
        }
        assertEquals(2, count(ds, "SELECT COUNT(*) FROM t WHERE id IN (1, 2)"), "committed before committed() returns");
        assertEquals(List.of(List.of(1)), calls, "the change and what was added: one batch, one transaction");

        // a second change of the scope commits the first (and its additions) before it is made
        calls.clear();
        try (GroupCommit.Together together = commits.together()) {
            assertEquals(80, (int) commits.runEarly(tx -> -1, 8));
            commits.withOpen(tx -> -1, 18);
            assertEquals(90, (int) commits.runEarly(tx -> -1, 9));
            assertEquals(2, count(ds, "SELECT COUNT(*) FROM t WHERE id IN (8, 18)"), "the first, before the second");
            assertEquals(0, count(ds, "SELECT COUNT(*) FROM t WHERE id = 9"));
            together.committed();
        }
        assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = 9"));
        assertEquals(List.of(List.of(8), List.of(9)), calls);

        // without a scope, a change returns once committed, as run() does
        assertEquals(30, (int) commits.runEarly(tx -> -1, 3));
        assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = 3"));
        });
    }

    /**
     * A batch that fails after its early pieces' callers had their results: those pieces fail
     * (answered 5012 by the node), nothing of them is kept, and they are not run again, since a
     * second working out could differ from what the caller decided on.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void anEarlyChangeWhoseBatchFailsAfterItsResultIsNotKeptNorRunAgain(String kind) throws Exception {
        withEarlyCommits(kind, java.time.Duration.ofSeconds(10), (ds, commits, calls) -> {
        try (GroupCommit.Together together = commits.together()) {
            assertEquals(6660, (int) commits.runEarly(tx -> -1, 666));
            CompletableFuture<Object> added = commits.withOpen(tx -> -1, 5);
            StoreException failed = assertThrows(StoreException.class, together::committed);
            assertTrue(failed.getMessage().contains("refused after its results"), failed.getMessage());
            assertTrue(added.isCompletedExceptionally(), "what was added failed with it");
        }
        assertEquals(0, count(ds, "SELECT COUNT(*) FROM t WHERE id IN (666, 5)"));
        assertEquals(List.of(List.of(666)), calls, "not run again alone");
        });
    }

    /**
     * A caller slower than the batch waits for: the change commits without its additions, which
     * then commit in a transaction of their own, before the caller's committed() returns.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void whatALateCallerAddsIsCommittedAfterItsChangeBeforeItGoesOn(String kind) throws Exception {
        withEarlyCommits(kind, java.time.Duration.ofMillis(1), (ds, commits, calls) -> {
        try (GroupCommit.Together together = commits.together()) {
            assertEquals(40, (int) commits.runEarly(tx -> -1, 4));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (count(ds, "SELECT COUNT(*) FROM t WHERE id = 4") == 0 && System.nanoTime() < until) {
                Thread.sleep(5); // the batch stopped waiting for this caller and committed
            }
            assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = 4"));
            CompletableFuture<Object> added = commits.withOpen(tx -> -1, 14);
            together.committed();
            assertTrue(added.isDone() && !added.isCompletedExceptionally());
        }
        assertEquals(1, count(ds, "SELECT COUNT(*) FROM t WHERE id = 14"));
        assertEquals(List.of(List.of(4), List.of(14)), calls);
        });
    }

    /** A test of early pieces: t's database, one committer with {@link #inserting}, what it was called with. */
    @FunctionalInterface
    private interface EarlyCase {
        void run(HikariDataSource ds, GroupCommit commits, List<List<Object>> calls) throws Exception;
    }

    /** Runs an EarlyCase; its batches wait {@code wait} for the early callers' additions. */
    private static void withEarlyCommits(String kind, java.time.Duration wait, EarlyCase test) throws Exception {
        List<List<Object>> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        try (HikariDataSource ds = tableHoldingSeven(kind);
             GroupCommit commits = new GroupCommit(ds, 1, "test", inserting(calls))) {
            commits.withItWait(wait);
            test.run(ds, commits, calls);
        }
    }

    /** Holds the (one) committer with a piece until {@code release}; @return that piece's result (0). */
    private static Future<Integer> heldCommitter(ExecutorService pool, GroupCommit commits, CountDownLatch release)
            throws InterruptedException {
        Future<Integer> held = pool.submit(() -> commits.run(tx -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }));
        Thread.sleep(100);
        return held;
    }

    /** A database with table t, which holds id 7 (a duplicate key for the tests' bad change). */
    private static HikariDataSource tableHoldingSeven(String kind) throws Exception {
        HikariDataSource ds = dataSource(kind);
        try {
            sql(ds, "CREATE TABLE t (id INT PRIMARY KEY)");
            sql(ds, "INSERT INTO t (id) VALUES (7)");
            return ds;
        } catch (Exception e) {
            ds.close();
            throw e;
        }
    }

    private static HikariDataSource dataSource(String kind) throws Exception {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(Stores.fresh(kind));
        if (kind.equals("postgres")) {
            c.setUsername("postgres");
        }
        c.setAutoCommit(false);
        c.setMaximumPoolSize(6);
        return new HikariDataSource(c);
    }

    private static void sql(HikariDataSource ds, String statement) throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(statement);
            c.commit();
        }
    }

    private static long count(HikariDataSource ds, String query) throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            long n = rs.getLong(1);
            c.commit();
            return n;
        }
    }
}
