package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 13: each request has a deadline on the store, and one subscriber's trouble does
 * not hold up the others. An audit saw answers after 10 to 70 s with PostgreSQL frozen, and a
 * lock on one subscriber delay 18 of 20 debits of another by 5 to 11 s.
 */
class StoreDeadlineTest {

    @Test
    void aRowLockedElsewhereHoldsUpOnlyItsOwnSubscriber() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 4)) {
            s.answerDeadline(Duration.ofMillis(1500));
            s.add(List.of(new Bucket(0, "4917201", UnitType.OCTETS, 1_000_000, 0, null, null),
                    new Bucket(0, "4917202", UnitType.OCTETS, 1_000_000, 0, null, null)), false);
            try (Connection psql = java.sql.DriverManager.getConnection(url, "postgres", null)) {
                psql.setAutoCommit(false);
                try (Statement st = psql.createStatement()) { // a transaction left open on 4917201
                    st.execute("SELECT * FROM bucket WHERE subscriber_id = '4917201' FOR UPDATE");
                }
                CompletableFuture<Long> locked = CompletableFuture.supplyAsync(
                        () -> s.debit("4917201", UnitType.OCTETS, null, 10, "locked|0|x|4917201"));
                List<CompletableFuture<Long>> others = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    String key = "free|" + i + "|x|4917202";
                    others.add(CompletableFuture.supplyAsync(() -> s.debit("4917202", UnitType.OCTETS, null, 10, key)));
                }
                for (CompletableFuture<Long> f : others) {
                    // well inside the locked one's deadline: it waits alone
                    assertEquals(10L, f.get(1_000, TimeUnit.MILLISECONDS));
                }
                Exception e = assertThrows(Exception.class, () -> locked.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof StoreException, String.valueOf(e.getCause()));
                psql.rollback();
            }
            assertEquals(1_000_000 - 200, s.buckets("4917202").get(0).amount());
            assertEquals(1_000_000, s.buckets("4917201").get(0).amount(), "the refused debit was not made");
            assertEquals(10, s.debit("4917201", UnitType.OCTETS, null, 10, "later|0|x|4917201"), "and it serves again");
        }
    }

    /** A server that stops answering (its statements block): the caller gets an error at its deadline. */
    @Test
    void aFrozenServerIsAnErrorAtTheDeadlineNotAHang() throws Exception {
        AtomicBoolean frozen = new AtomicBoolean();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(Stores.freshPostgres(), "postgres", null, 4, true,
                ds -> freezing(ds, frozen))) {
            s.answerDeadline(Duration.ofMillis(800));
            s.add(List.of(new Bucket(0, "4917203", UnitType.OCTETS, 1_000, 0, null, null)), false);
            frozen.set(true);
            long t0 = System.nanoTime();
            assertThrows(StoreException.class, () -> s.debit("4917203", UnitType.OCTETS, null, 10, "frozen|0|x|4917203"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 5_000, "answered at its deadline, not when the server came back: " + ms + " ms");
            frozen.set(false);
        }
    }

    static DataSource freezing(DataSource real, AtomicBoolean frozen) {
        return (DataSource) Proxy.newProxyInstance(StoreDeadlineTest.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (p, m, a) -> {
                    Object r = invoke(real, m, a);
                    if (!(r instanceof Connection c)) {
                        return r;
                    }
                    return Proxy.newProxyInstance(StoreDeadlineTest.class.getClassLoader(), new Class<?>[] {Connection.class},
                            (p2, m2, a2) -> {
                                Object r2 = invoke(c, m2, a2);
                                if (!(r2 instanceof PreparedStatement ps)) {
                                    return r2;
                                }
                                return Proxy.newProxyInstance(StoreDeadlineTest.class.getClassLoader(),
                                        new Class<?>[] {PreparedStatement.class}, (p3, m3, a3) -> {
                                            if (m3.getName().startsWith("execute")) {
                                                for (int i = 0; i < 100 && frozen.get(); i++) {
                                                    Thread.sleep(50); // as long as it is frozen, at most 5 s
                                                }
                                            }
                                            return invoke(ps, m3, a3);
                                        });
                            });
                });
    }

    static Object invoke(Object target, java.lang.reflect.Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
