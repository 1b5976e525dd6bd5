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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
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
        try (HikariDataSource ds = dataSource(kind)) {
            sql(ds, "CREATE TABLE t (id INT PRIMARY KEY)");
            sql(ds, "INSERT INTO t (id) VALUES (7)");
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

    /**
     * Where a commit needs a journal to be durable (the embedded store), callers return only
     * after a journal write that started after their commit, with their batch's amount changes;
     * the committer goes on meanwhile; a failed write fails them.
     */
    @Test
    void callersReturnOnlyAfterTheJournalKeepsTheirBatch() throws Exception {
        try (HikariDataSource ds = dataSource("h2")) {
            sql(ds, "CREATE TABLE t (id INT PRIMARY KEY)");
            CountDownLatch writing = new CountDownLatch(1);
            CountDownLatch letWriteEnd = new CountDownLatch(1);
            List<long[]> written = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicInteger writes = new AtomicInteger();
            GroupCommit.Journal journal = new GroupCommit.Journal() {
                @Override
                public long lastBatch() {
                    return 41;
                }

                @Override
                public void numbered(SqlTransaction tx, long batch) {
                }

                @Override
                public void write(List<GroupCommit.Committed> committed) throws java.io.IOException {
                    int n = writes.incrementAndGet();
                    committed.forEach(c -> written.add(new long[] {c.batch(), c.amountChanges()[0], c.amountChanges()[1]}));
                    writing.countDown();
                    try {
                        letWriteEnd.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    if (n == 2) {
                        throw new java.io.IOException("disk gone");
                    }
                }

                @Override
                public boolean checkpointDue() {
                    return false;
                }

                @Override
                public void checkpointNow(SqlTransaction tx) {
                }

                @Override
                public void checkpointed() {
                }
            };
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try (GroupCommit commits = new GroupCommit(ds, 1, "test", null, journal)) {
                Future<Integer> first = pool.submit(() -> commits.run(tx -> {
                    tx.amountChanged(7, -300);
                    return tx.prepare("INSERT INTO t (id) VALUES (1)").executeUpdate();
                }));
                assertTrue(writing.await(10, TimeUnit.SECONDS), "the journal is written after the commit");
                assertEquals(1, count(ds, "SELECT COUNT(*) FROM t"), "committed");
                assertEquals(List.of(42L, 7L, -300L), List.of(written.get(0)[0], written.get(0)[1], written.get(0)[2]),
                        "the next batch number, with its amount change");
                Thread.sleep(200);
                assertFalse(first.isDone(), "not answered before the journal has it");
                // the committer is not held by the journal: a second change commits meanwhile
                Future<Integer> second = pool.submit(() -> commits.run(tx -> {
                    tx.amountChanged(8, -5);
                    return tx.prepare("INSERT INTO t (id) VALUES (2)").executeUpdate();
                }));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (count(ds, "SELECT COUNT(*) FROM t") < 2 && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
                assertEquals(2, count(ds, "SELECT COUNT(*) FROM t"), "committed while the first write runs");
                letWriteEnd.countDown();
                assertEquals(1, first.get(10, TimeUnit.SECONDS));
                // the second change waited for a write of its own, which failed: not acknowledged
                Exception e = assertThrows(Exception.class, () -> second.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof StoreException, e.toString());
                assertEquals(2, writes.get());
                assertEquals(43L, written.get(1)[0]);
            } finally {
                pool.shutdownNow();
            }
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
