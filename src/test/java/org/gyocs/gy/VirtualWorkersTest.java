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
 * Mock mode's charging workers on the newest Java under /usr/lib/jvm (or the tests' own, when it
 * is newer or there is none), as bin/ocs.sh chooses it: from Java 24 on they are virtual threads
 * (WorkerThreads), before it platform threads, and sessions of several peers at once on
 * PostgreSQL, whose decisions wait for group commits on those workers, are charged exactly. The
 * kernel's threads of the node say which ran the decisions: no thread of its own per worker when
 * they are virtual.
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
        List<String> threads;
        try {
            List<Future<Integer>> answered = new ArrayList<>();
            for (int w = 0; w < PEERS; w++) {
                int peer = w;
                answered.add(pool.submit(() -> sessions(node, port, peer)));
            }
            for (Future<Integer> f : answered) {
                assertEquals(3 * SESSIONS, f.get(120, TimeUnit.SECONDS), "every CCR answered 2001");
            }
            threads = kernelThreads(node.pid());
        } finally {
            pool.shutdownNow();
            node.destroy();
            node.waitFor(30, TimeUnit.SECONDS);
        }
        assertFalse(node.isAlive(), "the node stopped");
        boolean virtual = java.version() >= 24;
        String log = NodeProcess.log(home);
        assertTrue(log.contains("Charging workers: 256 on " + (virtual ? "virtual" : "platform") + " threads (Java "
                + java.version() + ")"), log);
        long workerThreads = threads.stream().filter(t -> t.startsWith("mock-charging")).count();
        if (virtual) {
            assertEquals(0, workerThreads, "no kernel thread per worker: " + threads);
            assertTrue(threads.stream().anyMatch(t -> t.startsWith("ForkJoinPool")), "their carriers: " + threads);
        } else {
            assertTrue(workerThreads > 0, "a kernel thread per worker that decided: " + threads);
        }
        String levels = Files.readString(home.resolve("logs/ocs.log")); // with each line's level
        assertFalse(levels.contains(" ERROR "), levels);
        try (JdbcBalanceStore store = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            assertEquals(10_000_000 - PEERS * SESSIONS * 4_500L, store.buckets(SUB).get(0).amount(),
                    "each session's 3,000 and 1,500 octets, once");
            assertEquals(0, store.buckets(SUB).get(0).reserved(), "no hold left");
        }
    }

    /** The names of a process's kernel threads (Linux: /proc/PID/task/TID/comm, 15 characters at most). */
    private static List<String> kernelThreads(long pid) throws java.io.IOException {
        List<String> names = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    names.add(Files.readString(t.resolve("comm")).trim());
                } catch (java.nio.file.NoSuchFileException ended) {
                    // the thread ended meanwhile
                }
            }
        }
        return names;
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
