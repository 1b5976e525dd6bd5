package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.UnitType;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * PostgreSQL stopped under load, then started again: while it is gone no request is granted
 * (nothing can be held for it) and each is answered within the deadline rather than left
 * hanging, 3004 once the node knows it is gone; once it is back the node charges again by itself, without a restart, and the balance
 * is the start minus exactly the usage it acknowledged.
 */
class PostgresOutageTest {
    private static final String SUB = "491700000001";
    private static final long START = 10_000_000;
    @TempDir
    Path dir;

    /** One I/U/T session: the Result-Codes of its answers, and the usage acknowledged (2001). */
    private static long[] session(TestPeer p, String id) throws Exception {
        long[] out = new long[4];
        long i = resultCode(p.request(ccr(0, 1, id, 1000L, null)));
        out[0] = i;
        if (i != 2001) {
            return out;
        }
        long u = resultCode(p.request(ccr(1, 2, id, 1000L, 500L)));
        out[1] = u;
        long t = resultCode(p.request(ccr(2, 3, id, null, 200L)));
        out[2] = t;
        out[3] = (u == 2001 ? 500 : 0) + (t == 2001 ? 200 : 0);
        return out;
    }

    private static DiameterMessage ccr(int number, int type, String session, Long asked, Long used) {
        List<Avp> avps = GyRequests.header(session, type, number);
        avps.add(GyRequests.mscc(100L, 1L, asked == null ? null : GyRequests.rsuOctets(asked),
                used == null ? null : GyRequests.usuOctets(used)));
        return GyRequests.ccr(2000 + number, avps);
    }

    /**
     * Two nodes, PostgreSQL gone for longer than the node timeout: when it is back every
     * heartbeat in it is old, and neither node may take the other's sessions for a dead node's.
     */
    @Test
    void anOutageLongerThanTheNodeTimeoutReleasesNoLiveSession() throws Exception {
        EmbeddedPostgres.Builder server = EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pg2"))
                .setCleanDataDirectory(false);
        EmbeddedPostgres pg = server.start();
        server.setPort(pg.getPort());
        String url = pg.getJdbcUrl("postgres", "postgres");
        try (JdbcBalanceStore setup = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            setup.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, START, 0, null, null)), false);
        }
        List<GyDiameterApplication> nodes = new java.util.ArrayList<>();
        try {
            for (String name : List.of("ocs-a", "ocs-b")) {
                GyDiameterApplication n = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                        .host(name + ".test.local").realm("test.local")
                        .charging(OcsConfiguration.of(Map.of("default-octets", "1000")).chargingPolicy())
                        .nodeTimeout(Duration.ofSeconds(2)).answerDeadline(Duration.ofMillis(1000)).store(url)
                        .storeCredentials("postgres", null).build();
                n.start(false);
                nodes.add(n);
            }
            for (int k = 0; k < 2; k++) {
                try (TestPeer p = new TestPeer(nodes.get(k).getPort())) {
                    p.handshake();
                    assertEquals(2001, resultCode(p.request(ccr(0, 1, "live;" + k, 1000L, null))));
                }
            }
            pg.close();
            Thread.sleep(4000); // twice the node timeout
            pg = server.start();
            Thread.sleep(4000); // the supervisions' claims run every second
            for (GyDiameterApplication n : nodes) {
                assertEquals(0L, n.getStatistics().get("sessions_expired"), "nothing released");
            }
            for (int k = 0; k < 2; k++) {
                try (TestPeer p = new TestPeer(nodes.get(k).getPort())) {
                    p.handshake();
                    assertEquals(2001, resultCode(p.request(ccr(1, 2, "live;" + k, 1000L, 100L))));
                    assertEquals(2001, resultCode(p.request(ccr(2, 3, "live;" + k, null, 100L))));
                }
            }
        } finally {
            nodes.forEach(GyDiameterApplication::stop);
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            Bucket b = s.buckets(SUB).get(0);
            assertEquals(START - 400, b.amount());
            assertEquals(0, b.reserved());
        } finally {
            pg.close();
        }
    }

    @Test
    void noGrantWhilePostgresIsGoneAndChargingResumesWhenItIsBack() throws Exception {
        EmbeddedPostgres.Builder server = EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pg"))
                .setCleanDataDirectory(false);
        EmbeddedPostgres pg = server.start();
        server.setPort(pg.getPort()); // the same address when it comes back
        String url = pg.getJdbcUrl("postgres", "postgres");
        try (JdbcBalanceStore setup = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            setup.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, START, 0, null, null)), false);
        }
        GyDiameterApplication node = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .host("ocs.test.local").realm("test.local")
                .charging(OcsConfiguration.of(Map.of("default-octets", "1000")).chargingPolicy())
                .answerDeadline(Duration.ofMillis(1000)).store(url).storeCredentials("postgres", null).build();
        node.start(false);
        long acknowledged = 0;
        long uncertain = 0;
        long mayHold = 0;
        try (TestPeer p = new TestPeer(node.getPort())) {
            p.handshake();
            for (int s = 0; s < 10; s++) {
                long[] r = session(p, "before;" + s);
                assertEquals(2001, r[0]);
                acknowledged += r[3];
            }
            pg.close(); // PostgreSQL gone: the node cannot hold anything
            for (int s = 0; s < 5; s++) {
                long began = System.nanoTime();
                long[] r = session(p, "during;" + s);
                assertTrue(r[0] == 5012 || r[0] == 3004, "no grant without a committed hold: " + r[0]);
                assertTrue(System.nanoTime() - began < Duration.ofSeconds(10).toNanos(), "answered, not left hanging");
            }
            // once the node's probe has found PostgreSQL gone (within the deadline and a second):
            // 3004 at once, which sends the PCEF to another OCS, rather than 5012 after the deadline
            Thread.sleep(2500);
            long began = System.nanoTime();
            assertEquals(3004, session(p, "during;known")[0]);
            assertTrue(System.nanoTime() - began < Duration.ofMillis(500).toNanos(), "at once");
            pg = server.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long[] r = session(p, "after;0");
            for (int s = 1; !(r[0] == 2001 && r[1] == 2001 && r[2] == 2001) && System.nanoTime() < deadline; s++) {
                // a request answered 5012 at its deadline while PostgreSQL came back may still
                // have committed: what it reported or held is not known, only bounded
                uncertain += r[0] == 2001 ? 700 - r[3] : 0;
                mayHold += r[0] != 2001 || r[2] != 2001 ? 1000 : 0;
                acknowledged += r[3];
                Thread.sleep(500);
                r = session(p, "after;" + s);
            }
            assertEquals(2001, r[0], "the node charges again by itself once PostgreSQL is back");
            assertEquals(2001, r[2]);
            acknowledged += r[3];
            for (int s = 0; s < 10; s++) {
                long[] again = session(p, "back;" + s);
                assertEquals(2001, again[0]);
                assertEquals(2001, again[1]);
                assertEquals(2001, again[2]);
                acknowledged += again[3];
            }
        } finally {
            node.stop();
        }
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            Bucket b = s.buckets(SUB).get(0);
            // exact unless an answer at the deadline hid a commit (then within what it could be)
            assertTrue(b.amount() <= START - acknowledged && b.amount() >= START - acknowledged - uncertain,
                    b.amount() + " left; acknowledged " + acknowledged + ", uncertain " + uncertain);
            assertTrue(b.reserved() <= mayHold, b.reserved() + " held");
        } finally {
            pg.close();
        }
    }
}
