package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
