package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.gyocs.codec.Avp;
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

/**
 * Mock mode's charging workers on the newest Java of the machine, as bin/ocs.sh chooses it: from
 * Java 24 on they are virtual threads (WorkerThreads), and sessions of several peers at once on
 * PostgreSQL, whose decisions wait for group commits on those workers, are charged exactly. On a
 * machine without Java 24 or later, the same on the tests' own Java, with platform threads.
 */
class VirtualWorkersTest {
    private static final String SUB = "491700000001";
    private static final int PEERS = 8;
    private static final int SESSIONS = 15;
    @TempDir
    Path home;

    @Test
    void sessionsOfSeveralPeersOnPostgresAreChargedExactlyOnTheNewestJava() throws Exception {
        String url = Stores.freshPostgres();
        try (JdbcBalanceStore setup = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            setup.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, 10_000_000, 0, null, null)), false);
        }
        NewestJava java = NewestJava.find();
        int port = ListeningPorts.freePort();
        Process node = NodeProcess.startOn(java.binary(), home, port, "--store", url, "--store-user", "postgres");
        ExecutorService pool = Executors.newFixedThreadPool(PEERS);
        try {
            List<Future<Integer>> answered = new ArrayList<>();
            for (int w = 0; w < PEERS; w++) {
                int peer = w;
                answered.add(pool.submit(() -> sessions(node, port, peer)));
            }
            for (Future<Integer> f : answered) {
                assertEquals(3 * SESSIONS, f.get(120, TimeUnit.SECONDS), "every CCR answered 2001");
            }
        } finally {
            pool.shutdownNow();
            node.destroy();
            assertTrue(node.waitFor(30, TimeUnit.SECONDS));
        }
        String log = NodeProcess.log(home);
        String workers = java.version() >= 24 ? "on virtual threads (Java " + java.version() + ")"
                : "on platform threads (Java " + java.version() + ")";
        assertTrue(log.contains("Charging workers: 256 " + workers), log);
        assertFalse(log.contains(" ERROR "), log);
        try (JdbcBalanceStore store = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            assertEquals(10_000_000 - PEERS * SESSIONS * 4_500L, store.buckets(SUB).get(0).amount(),
                    "each session's 3,000 and 1,500 octets, once");
            assertEquals(0, store.buckets(SUB).get(0).reserved(), "no hold left");
        }
    }

    /** One peer's sessions, one after the other (CCR-I, CCR-U, CCR-T): how many answers were 2001. */
    private int sessions(Process node, int port, int peer) throws Exception {
        int ok = 0;
        int hop = 0;
        try (TestPeer p = NodeProcess.peer(node, home, port)) {
            p.handshake();
            for (int s = 0; s < SESSIONS; s++) {
                String session = "vt;" + peer + ";" + s;
                List<Avp> i = GyRequests.header(session, 1, 0);
                i.add(GyRequests.mscc(1L, null, GyRequests.rsuOctets(10_000), null));
                List<Avp> u = GyRequests.header(session, 2, 1);
                u.add(GyRequests.mscc(1L, null, GyRequests.rsuOctets(10_000), GyRequests.usuOctets(3_000)));
                List<Avp> t = GyRequests.header(session, 3, 2);
                t.add(GyRequests.mscc(1L, null, null, GyRequests.usuOctets(1_500)));
                for (List<Avp> ccr : List.of(i, u, t)) {
                    if (resultCode(p.request(GyRequests.ccr(++hop, ccr))) == 2001) {
                        ok++;
                    }
                }
            }
        }
        return ok;
    }

    /** The newest JDK under /usr/lib/jvm (as bin/lib/common.sh looks), or this test's own Java. */
    private record NewestJava(String binary, int version) {
        static NewestJava find() throws java.io.IOException {
            NewestJava best = new NewestJava(ProcessHandle.current().info().command().orElse("java"),
                    Runtime.version().feature());
            Path jvms = Path.of("/usr/lib/jvm");
            if (!Files.isDirectory(jvms)) {
                return best;
            }
            try (var dirs = Files.list(jvms)) {
                for (Path d : dirs.toList()) {
                    Path release = d.resolve("release");
                    Path bin = d.resolve("bin/java");
                    if (!Files.isReadable(release) || !Files.isExecutable(bin)) {
                        continue;
                    }
                    for (String line : Files.readAllLines(release)) {
                        if (line.startsWith("JAVA_VERSION=\"")) {
                            String v = line.substring("JAVA_VERSION=\"".length()).replaceAll("[^0-9].*", "");
                            if (!v.isEmpty() && Integer.parseInt(v) > best.version()) {
                                best = new NewestJava(bin.toString(), Integer.parseInt(v));
                            }
                        }
                    }
                }
            }
            return best;
        }
    }
}
