package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.UnitType;
import org.gyocs.node.ListeningPorts;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.NodeProcess;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every acknowledged debit survives kill -9; nodes sharing PostgreSQL never grant more than a balance holds. */
class DurabilityAndSharedStoreTest {
    static final String SUB = "491700000001";
    @TempDir
    Path home;

    @Test
    void killMinus9AfterAcknowledgedDebitsLosesNone() throws Exception {
        Files.writeString(home.resolve("subs.csv"), "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets,1000000,,\n");
        int port = ListeningPorts.freePort();
        Process node = startNode(port, "--default-octets", "1000");
        int acknowledged = 0;
        try {
            try (TestPeer p = peerOf(node, port)) {
                p.handshake();
                // events of 1000 octets (RSU 1048576, max = default 1000), each acknowledged 2001
                for (int i = 0; i < 137; i++) {
                    List<org.gyocs.codec.Avp> avps = GyRequests.header("dur;" + i, 4, 0);
                    avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
                    DiameterMessage a = p.request(GyRequests.ccr(i, avps));
                    assertEquals(2001, resultCode(a));
                    acknowledged++;
                }
            }
        } finally {
            node.destroyForcibly(); // SIGKILL: no shutdown hook, no graceful close of the store
            assertTrue(node.waitFor(10, TimeUnit.SECONDS));
        }
        assertEquals(137, acknowledged);
        String url = GyDiameterApplication.embeddedStore(home.resolve("data"));
        try (JdbcBalanceStore store = JdbcBalanceStore.open(url, null, null, 1)) {
            long left = store.buckets(SUB).stream().mapToLong(Bucket::amount).sum();
            assertEquals(1_000_000 - 137 * 1000, left, "start minus exactly the acknowledged debits");
        }
    }

    @Test
    void twoNodesOnOnePostgresDrainingOneBalanceNeverOverGrant() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore setup = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            setup.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, 50_000, 0, null, null)), false);
        }
        List<GyDiameterApplication> nodes = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                    .host("ocs" + n + ".test.local").realm("test.local")
                    .charging(OcsConfiguration.of(java.util.Map.of("default-octets", "700")).chargingPolicy())
                    .store(url).storeCredentials("postgres", null).build();
            app.start(false);
            nodes.add(app);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                GyDiameterApplication node = nodes.get(w % 2);
                int worker = w;
                results.add(pool.submit(() -> {
                    long granted = 0;
                    try (TestPeer p = new TestPeer(node.getPort())) {
                        p.handshake();
                        for (int s = 0; s < 15; s++) {
                            String sid = "shared;" + worker + ";" + s;
                            List<org.gyocs.codec.Avp> avps = GyRequests.header(sid, 1, 0);
                            avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(700), null));
                            DiameterMessage i = p.request(GyRequests.ccr(s, avps));
                            if (resultCode(i) == 2001) {
                                granted += DiameterMessage.find(DiameterMessage.find(i.avp(
                                        AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group(), AvpCodes.GRANTED_SERVICE_UNIT)
                                        .group(), AvpCodes.CC_TOTAL_OCTETS).unsigned64();
                            }
                        }
                    }
                    return granted;
                }));
            }
            long total = 0;
            for (Future<Long> f : results) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            // 120 sessions x 700 asked = 84000 > 50000: exactly the balance is granted, never more
            assertEquals(50_000, total);
        } finally {
            pool.shutdownNow();
            nodes.forEach(GyDiameterApplication::stop);
        }
    }

    /**
     * Rated sessions and events, then kill -9 right after the last answer: after the restart every
     * debit has its usage line and every line its debit (the money taken equals the lines' cost,
     * to the cent), finished sessions and events have their end, and the sessions that were open
     * are ended NODE_STOPPED with the usage they had reported.
     */
    @Test
    void killMinus9KeepsEveryDebitWithItsUsageLineAndNoOther() throws Exception {
        Files.writeString(home.resolve("subs.csv"), "subscriber,unit,amount,rating_group,expires,plan\n" + SUB
                + ",money,100000,,,paid\n");
        Files.writeString(home.resolve("tariffs.csv"), "plan,rating_group,unit,price,per,currency\npaid,,octets,1,1000,EUR\n");
        int port = ListeningPorts.freePort();
        Process node = startNode(port, "--tariffs", home.resolve("tariffs.csv").toString());
        long cost = 0;
        try {
            try (TestPeer p = peerOf(node, port)) {
                p.handshake();
                int hop = 0;
                for (int i = 0; i < 60; i++) {
                    String session = "kill;" + i;
                    List<org.gyocs.codec.Avp> ccrI = GyRequests.header(session, 1, 0);
                    ccrI.add(GyRequests.mscc(1L, null, GyRequests.rsuOctets(10_000), null));
                    assertEquals(2001, resultCode(p.request(GyRequests.ccr(++hop, ccrI))));
                    List<org.gyocs.codec.Avp> ccrU = GyRequests.header(session, 2, 1);
                    ccrU.add(GyRequests.mscc(1L, null, GyRequests.rsuOctets(10_000), GyRequests.usuOctets(3_000)));
                    assertEquals(2001, resultCode(p.request(GyRequests.ccr(++hop, ccrU))));
                    cost += 3;
                    if (i % 3 != 0) {
                        List<org.gyocs.codec.Avp> ccrT = GyRequests.header(session, 3, 2);
                        ccrT.add(GyRequests.mscc(1L, null, null, GyRequests.usuOctets(1_500)));
                        assertEquals(2001, resultCode(p.request(GyRequests.ccr(++hop, ccrT))));
                        cost += 2; // 1.5 cents, rounded up
                    }
                }
                for (int i = 0; i < 20; i++) {
                    List<org.gyocs.codec.Avp> event = GyRequests.header("kill-event;" + i, 4, 0);
                    event.add(GyRequests.mscc(1L, null, GyRequests.rsuOctets(2_000), null));
                    assertEquals(2001, resultCode(p.request(GyRequests.ccr(++hop, event))));
                    cost += 2;
                }
            }
        } finally {
            node.destroyForcibly(); // SIGKILL right after the last answer: the last tenth of a second not written back
            assertTrue(node.waitFor(10, TimeUnit.SECONDS));
        }
        String url = GyDiameterApplication.embeddedStore(home.resolve("data"));
        try (JdbcBalanceStore store = JdbcBalanceStore.open(url, null, null, 1)) {
            long left = store.buckets(SUB).stream().mapToLong(Bucket::amount).sum();
            assertEquals(100_000 - cost, left, "exactly the acknowledged debits");
            List<org.gyocs.store.UsageRecords.UsageRecord> records = store.usage(SUB, java.time.Instant.EPOCH,
                    java.time.Instant.now().plusSeconds(60), 1000);
            assertEquals(80, records.size(), "one per session and per event");
            long linesCost = records.stream().flatMap(r -> r.lines().stream()).mapToLong(l -> l.cost()).sum();
            assertEquals(cost, linesCost, "no debit without its line, no line without its debit");
            long ended = records.stream().filter(r -> "CCR_T".equals(r.terminationCause()) && r.resultCode() == 2001).count();
            long stopped = records.stream().filter(r -> "NODE_STOPPED".equals(r.terminationCause())).count();
            long events = records.stream().filter(r -> r.kind().equals("event") && r.resultCode() == 2001).count();
            assertEquals(40, ended, records.toString());
            assertEquals(20, stopped, "the sessions open at the kill, ended at the restart");
            assertEquals(20, events);
            assertTrue(records.stream().filter(r -> "NODE_STOPPED".equals(r.terminationCause()))
                    .allMatch(r -> r.lines().equals(List.of(new org.gyocs.store.UsageRecords.Line(1L, "octets", 3_000, 3,
                            "EUR")))), "their reported usage and its cost");
            assertTrue(records.stream().allMatch(r -> r.ended() != null));
        }
    }

    /** The node as a process, on the embedded store under home with home/subs.csv imported. */
    private Process startNode(int port, String... more) throws Exception {
        List<String> options = new ArrayList<>(List.of("--subscribers", home.resolve("subs.csv").toString()));
        options.addAll(List.of(more));
        return NodeProcess.start(home, port, options.toArray(String[]::new));
    }

    private TestPeer peerOf(Process node, int port) throws Exception {
        return NodeProcess.peer(node, home, port);
    }
}
