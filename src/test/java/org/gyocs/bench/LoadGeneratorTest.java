package org.gyocs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.cli.BenchCommandAccess;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

/** ocs-bench against a real mock node: counts, Result-Codes, percentiles, JSON, bounds. */
class LoadGeneratorTest {
    @TempDir
    Path tmp;

    GyDiameterApplication node() throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .realm("test.local").store(Stores.freshH2()).build();
        app.start(false);
        return app;
    }

    static LoadSettings settings(int port, boolean event, long sessions, int updates, double rate, boolean hold) {
        return new LoadSettings("127.0.0.1", port, 2, 20, sessions, 30, event, updates,
                List.of("491720000001", "491720000002"), rate, 5000, "test.local", "bench.test.local", null, hold);
    }

    /**
     * A node stopped under the load: ocs-bench says it sent DPR, sends nothing more, and gets an
     * answer to everything it sent (the node's 3004s to requests that crossed its DPR go out before
     * it closes at the DPA). It printed "closed the connection with 50 requests unanswered" on
     * every stop under load: it went on sending after the DPR, and mock mode closed at the DPA
     * with those 3004s still queued.
     */
    @Test
    void aNodeStoppedUnderLoadIsReportedAsStoppingNotAsLosingRequests() throws Exception {
        GyDiameterApplication app = node();
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            app.stop();
        });
        stopper.start();
        long start = System.nanoTime();
        // the answer timeout (0.8 s) shorter than the time to the stop: the run still waits for the
        // node's last answers after its DPR (it ended at once, and lost them, when it came later than that)
        LoadResult r = new LoadGenerator(new LoadSettings("127.0.0.1", app.getPort(), 2, 20, 0, 10, false, 2,
                List.of("491720000001", "491720000002"), 0, 800, "test.local", "bench.test.local", null, false), null)
                .run();
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        stopper.join(20_000);
        // it ends with the node's last answers, not at its 10 s duration
        assertTrue(tookMs < 4_500, "the run took " + tookMs + " ms after a stop at 1 s");
        assertTrue(r.answered() > 0, r.toString());
        assertEquals(r.sent(), r.answered(), "every request answered: " + r.byResultCode());
        assertEquals(0, r.timeouts());
        assertEquals(List.of("the node sent DPR (it is stopping): the run ends"), r.problems().stream().distinct().toList());
        assertTrue(r.byResultCode().keySet().stream().allMatch(rc -> rc == 2001L || rc == 3004L), r.byResultCode()
                + ": granted, or refused once the node stops");
    }

    /**
     * A node killed under load resets the connection: ocs-bench says so once, with what was left
     * unanswered, and ends. It counted an error per request written after the reset (52 of them),
     * 100 timeouts, and went on to the end of its duration (a newcomer's kill -9 in mock mode).
     */
    @Test
    void aConnectionResetUnderLoadIsOneProblemAndEndsTheRun() throws Exception {
        GyDiameterApplication app = node();
        try (java.net.ServerSocket proxy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            // between ocs-bench and the node: forwards both ways, then resets ocs-bench's side at 1 s.
            // This thread reads ocs-bench's side itself and closes it: closed while another thread
            // was blocked reading it, the socket stayed open until that read ended, and ocs-bench
            // (in CI, twice) saw no reset at all.
            Thread relay = new Thread(() -> {
                try (java.net.Socket node = new java.net.Socket("127.0.0.1", app.getPort());
                     java.net.Socket client = proxy.accept()) {
                    Thread down = new Thread(() -> pump(node, client));
                    down.setDaemon(true);
                    down.start();
                    client.setSoTimeout(20);
                    byte[] b = new byte[65536];
                    long resetAt = System.nanoTime() + 1_000_000_000L;
                    while (System.nanoTime() < resetAt) {
                        try {
                            int n = client.getInputStream().read(b);
                            if (n < 0) {
                                return;
                            }
                            node.getOutputStream().write(b, 0, n);
                        } catch (java.net.SocketTimeoutException e) {
                            // nothing to forward within 20 ms: time to reset yet?
                        }
                    }
                    client.setSoLinger(true, 0); // an RST, as a killed process's socket with unread data
                } catch (Exception e) {
                    // the test's assertions say what went wrong
                }
            });
            relay.start();
            long start = System.nanoTime();
            LoadResult r = new LoadGenerator(new LoadSettings("127.0.0.1", proxy.getLocalPort(), 1, 50, 0, 10, false,
                    2, List.of("491720000001", "491720000002"), 0, 2_000, "test.local", "bench.test.local", null,
                    false), null).run();
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            relay.join(5_000);
            assertTrue(tookMs < 4_000, "the run took " + tookMs + " ms after a reset at 1 s (its duration: 10 s)");
            assertTrue(r.answered() > 0, r.toString());
            assertEquals(1, r.errors(), r.problems().toString());
            assertEquals(0, r.timeouts(), r.problems().toString());
            assertEquals(1, r.problems().size(), r.problems().toString());
            assertTrue(r.problems().get(0).startsWith("the connection to the node failed")
                    || r.problems().get(0).startsWith("the node closed the connection"), r.problems().toString());
        } finally {
            app.stop();
        }
    }

    private static void pump(java.net.Socket from, java.net.Socket to) {
        byte[] b = new byte[65536];
        try {
            int n;
            while ((n = from.getInputStream().read(b)) > 0) {
                to.getOutputStream().write(b, 0, n);
            }
        } catch (java.io.IOException e) {
            // one side is gone
        }
    }

    @Test
    void closedLoopSessionsAreCountedAndTimed() throws Exception {
        GyDiameterApplication app = node();
        try {
            LoadResult r = new LoadGenerator(settings(app.getPort(), false, 300, 2, 0, false), null).run();
            assertEquals(1200, r.sent(), "300 sessions x (I, U, U, T)");
            assertEquals(1200, r.answered());
            assertEquals(0, r.timeouts());
            assertEquals(0, r.errors());
            assertEquals(300, r.completed());
            assertEquals(Map.of(2001L, 1200L), r.byResultCode());
            assertEquals(1200, r.latency().getTotalCount());
            assertTrue(r.percentileMillis(50) > 0 && r.percentileMillis(99) >= r.percentileMillis(50));
            assertEquals(300L, app.getStatistics().get("ccr_initial_received"));
            assertEquals(0L, app.getStatistics().get("sessions_open"), "every session terminated");
        } finally {
            app.stop();
        }
    }

    /**
     * Several connections are several peers, each with an Origin-Host of its own: jDiameter mode
     * refused the CERs of four connections of one Origin-Host (5012) once it had seen that peer,
     * so the README's {@code -c 4} example failed from its second run on.
     */
    @Test
    void severalConnectionsRunAgainAndAgainAgainstJdiameterMode() throws Exception {
        assertEquals("bench.test.local", LoadGenerator.originHost("bench.test.local", 0));
        assertEquals("bench-3.test.local", LoadGenerator.originHost("bench.test.local", 2));
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).realm("test.local")
                .store(Stores.freshH2()).dataDir(tmp).build();
        app.start(false);
        try {
            for (int run = 1; run <= 3; run++) {
                LoadResult r = new LoadGenerator(new LoadSettings("127.0.0.1", app.getPort(), 4, 20, 100, 30, false,
                        1, List.of("491720000001"), 0, 5000, "test.local", "bench.test.local", null, false), null).run();
                assertEquals(Map.of(2001L, 300L), r.byResultCode(), "run " + run + ": " + r.problems());
            }
        } finally {
            app.stop();
        }
    }

    @Test
    void openLoopRateAndHeldSessions() throws Exception {
        GyDiameterApplication app = node();
        try {
            long t0 = System.nanoTime();
            LoadResult events = new LoadGenerator(settings(app.getPort(), true, 400, 0, 800, false), null).run();
            double secs = (System.nanoTime() - t0) / 1e9;
            assertEquals(400, events.answered());
            assertTrue(secs > 0.35, "400 events at 800/s take about half a second, took " + secs);
            LoadResult held = new LoadGenerator(settings(app.getPort(), false, 50, 0, 0, true), null).run();
            assertEquals(50, held.sent(), "CCR-I only");
            assertEquals(50L, app.getStatistics().get("sessions_open"));
        } finally {
            app.stop();
        }
    }

    /**
     * jDiameter mode: the measured run's connections come as the same peers (Origin-Hosts) a few
     * milliseconds after the warm-up's left, and are served.
     */
    @Test
    void aWarmUpThenTheMeasuredRunOnTheSamePeersInJDiameterMode() throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(false)
                .realm("test.local").store(Stores.freshH2()).build();
        app.start(false);
        try {
            Path json = tmp.resolve("j.json");
            assertEquals(0, BenchCommandAccess.run("--port", String.valueOf(app.getPort()), "--destination-realm",
                    "test.local", "-c", "2", "-n", "100", "--warmup", "100", "-k", "10", "--json", json.toString()));
            Map<?, ?> m = new ObjectMapper().readValue(Files.readString(json), Map.class);
            assertEquals(300, m.get("answered"), "100 sessions of I, U, T");
            assertEquals(200L, app.getStatistics().get("ccr_initial_received"), "100 warm-up sessions, then 100");
        } finally {
            app.stop();
        }
    }

    @Test
    void commandWritesJsonAndRefusesRemoteTargets() throws Exception {
        GyDiameterApplication app = node();
        try {
            Path json = tmp.resolve("r.json");
            int status = BenchCommandAccess.run("--port", String.valueOf(app.getPort()), "--destination-realm",
                    "test.local", "-m", "event", "-n", "200", "-k", "10", "--json", json.toString());
            assertEquals(0, status);
            Map<?, ?> m = new ObjectMapper().readValue(Files.readString(json), Map.class);
            assertEquals(200, m.get("answered"));
            assertTrue(((Map<?, ?>) m.get("latency_ms")).containsKey("p99_9"));
            // a warm-up runs first and is not counted
            Files.delete(json);
            assertEquals(0, BenchCommandAccess.run("--port", String.valueOf(app.getPort()), "--destination-realm",
                    "test.local", "-m", "event", "-n", "200", "--warmup", "300", "-k", "10", "--json", json.toString()));
            m = new ObjectMapper().readValue(Files.readString(json), Map.class);
            assertEquals(200, m.get("answered"));
            assertEquals(200L + 500L, app.getStatistics().get("ccr_event_received"), "200, then 300 and 200");
            // the client's spelling of events, --event, is the bench's too
            assertEquals(0, BenchCommandAccess.run("--port", String.valueOf(app.getPort()), "--destination-realm",
                    "test.local", "--event", "-n", "50", "-k", "10"));
            assertEquals(750L, app.getStatistics().get("ccr_event_received"), "--event sends events");
            assertEquals(2, BenchCommandAccess.run("--port", String.valueOf(app.getPort()), "--event", "-m", "session",
                    "-n", "1"), "--event and -m session disagree");
        } finally {
            app.stop();
        }
        assertEquals(2, BenchCommandAccess.run("--host", "192.0.2.1", "-n", "1"), "outside 127.0.0.0/8");
    }
}
