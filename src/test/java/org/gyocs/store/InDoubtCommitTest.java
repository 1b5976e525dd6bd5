package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 4: a COMMIT whose reply is lost (the change committed, the node cannot know)
 * must not be made again. The group commit runs such a batch again; the change keys make that
 * second run find the first one's results. The audit saw one 1,000-octet event cost 2,000.
 */
class InDoubtCommitTest {
    static final Instant LATER = Instant.now().plusSeconds(3600);

    /** Connections whose next COMMIT commits and then reports the connection lost. */
    static final class LosesACommitReply {
        final AtomicBoolean armed = new AtomicBoolean();

        DataSource wrap(DataSource real) {
            return (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
                    (proxy, method, args) -> {
                        Object r = call(real, method, args);
                        return r instanceof Connection c ? connection(c) : r;
                    });
        }

        private Connection connection(Connection real) {
            AtomicBoolean broken = new AtomicBoolean();
            InvocationHandler h = (proxy, method, args) -> {
                if (broken.get() && !method.getName().equals("close") && !method.getName().equals("isClosed")) {
                    throw new SQLException("An I/O error occurred while sending to the backend", "08006");
                }
                Object r = call(real, method, args);
                if (method.getName().equals("commit") && armed.compareAndSet(true, false)) {
                    broken.set(true);
                    throw new SQLException("An I/O error occurred while sending to the backend", "08006");
                }
                return r;
            };
            return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class}, h);
        }

        private static Object call(Object target, java.lang.reflect.Method m, Object[] args) throws Throwable {
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }

    @Test
    void aChangeWhoseCommitReplyIsLostIsMadeOnce() throws Exception {
        LosesACommitReply fault = new LosesACommitReply();
        try (JdbcBalanceStore s = JdbcBalanceStore.open(Stores.freshPostgres(), "postgres", null, 4, true, fault::wrap)) {
            s.add(List.of(new Bucket(0, "4917100", UnitType.OCTETS, 10_000, 0, null, null)), false);

            fault.armed.set(true);
            assertEquals(1000, s.debit("4917100", UnitType.OCTETS, null, 1000, "ev;1|0|rg|4917100"),
                    "answered with what the first run debited");
            assertEquals(9000, s.buckets("4917100").get(0).amount(), "debited once");

            s.reserve("4917100", UnitType.OCTETS, null, 2000, "sess|rg", LATER, "sess|0|rg");
            fault.armed.set(true);
            assertEquals(1500, s.settle("4917100", UnitType.OCTETS, null, "sess|rg", 1500, "sess|1|rg"));
            assertEquals(7500, s.buckets("4917100").get(0).amount(), "the usage settled once");
            assertEquals(0, s.buckets("4917100").get(0).reserved());

            // and the key answers a retransmission that comes later, to this node or another
            assertEquals(java.util.Optional.of(1000L), s.recordedChange("4917100", "ev;1|0|rg|4917100"));
            assertEquals(1000, s.debit("4917100", UnitType.OCTETS, null, 1000, "ev;1|0|rg|4917100"));
            assertEquals(7500, s.buckets("4917100").get(0).amount());
        }
    }
}
