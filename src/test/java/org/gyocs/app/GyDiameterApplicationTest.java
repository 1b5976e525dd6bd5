package org.gyocs.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.gyocs.client.GyTestClient;
import org.gyocs.core.RequestType;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.NodeStartException;
import org.jdiameter.api.Avp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GyDiameterApplicationTest {
    static final Path CONFIG = Path.of("config/jdiameter-config.xml");

    static GyDiameterApplication.Builder local() {
        // never the checkout's data/: a node run from it (bin/ocs.sh) holds that store
        return GyDiameterApplication.builder().ip("127.0.0.1").port(0).config(CONFIG).store(freshStore());
    }

    /**
     * Threads of ours or of jDiameter; test-framework and JVM threads are not counted, nor the
     * JVM's carriers of virtual threads (mock mode's charging workers from Java 24 on), which
     * outlive the node by their keep-alive, whichever test used them.
     */
    static Set<String> nodeThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> !n.startsWith("surefire") && !n.startsWith("ForkJoinPool-")
                        && !List.of("main", "Reference Handler", "Finalizer",
                        "Signal Dispatcher", "Common-Cleaner", "Notification Thread", "Attach Listener").contains(n))
                .collect(Collectors.toSet());
    }

    static void awaitNoNodeThreads() throws InterruptedException {
        for (int i = 0; i < 200 && !nodeThreads().isEmpty(); i++) {
            Thread.sleep(10);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void startReturnsOnceListeningAndStopLeavesNoThread(boolean mock) throws Exception {
        awaitNoNodeThreads();
        Set<String> before = nodeThreads();
        GyDiameterApplication app = local().mock(mock).build();
        app.start(false);
        assertTrue(ListeningPorts.isListening("127.0.0.1", app.getPort()), "listening when start returns");
        try (GyTestClient c = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "example.com", 5000)) {
            c.connect();
            assertEquals(2001, c.send(c.creditControlRequest(c.newSessionId(), RequestType.EVENT, 0, "1"))
                    .getResultCode().getUnsigned32());
        }
        app.stop();
        assertFalse(ListeningPorts.isListening("127.0.0.1", app.getPort()));
        awaitNoNodeThreads();
        assertEquals(before, nodeThreads(), "threads left behind");
        assertEquals(1L, app.getStatistics().get("ccr_event_received"), "statistics survive stop");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void startStopStartAgainInOneJvm(boolean mock) throws Exception {
        GyDiameterApplication app = local().mock(mock).build();
        for (int round = 0; round < 3; round++) {
            app.start(false);
            try (GyTestClient c = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "example.com", 5000)) {
                c.connect();
                assertEquals(2001, c.send(c.creditControlRequest(c.newSessionId(), RequestType.EVENT, 0, "1"))
                        .getResultCode().getUnsigned32());
            }
            assertEquals(1L, app.getStatistics().get("ccr_event_received"), "each start counts anew");
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stopSendsDisconnectPeerRequestToConnectedPeers(boolean mock) throws Exception {
        GyDiameterApplication app = local().mock(mock).build();
        app.start(false);
        try (GyTestClient c = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "example.com", 5000)) {
            c.connect();
            assertTrue(c.isPeerUp());
            long t0 = System.nanoTime();
            app.stop();
            long stopMillis = (System.nanoTime() - t0) / 1_000_000;
            // With DPR/DPA the peer is down at once; without it the client would only notice on
            // its next watchdog (30 s), and the server's stop would wait for its DPA timeout.
            for (int i = 0; i < 100 && c.isPeerUp(); i++) {
                Thread.sleep(10);
            }
            assertFalse(c.isPeerUp(), "the client saw the disconnection");
            assertTrue(stopMillis < 4_000, "stop took " + stopMillis + " ms");
        }
    }

    /**
     * jDiameter's stack is configured and initialised on a thread of its own while the store
     * opens: a start whose store cannot be opened stops that stack too, and leaves no thread.
     */
    @Test
    void aStartWhoseStoreFailsLeavesNoThreadOfTheStackPreparedMeanwhile() throws Exception {
        awaitNoNodeThreads();
        Set<String> before = nodeThreads();
        GyDiameterApplication app = local().store("jdbc:nosuch:store").build();
        NodeStartException e = assertThrows(NodeStartException.class, () -> app.start(false));
        assertTrue(e.getMessage().contains("jdbc:nosuch:store"), e.getMessage());
        assertFalse(app.isRunning());
        awaitNoNodeThreads();
        assertEquals(before, nodeThreads(), "threads left behind");
        // and the next start, with a store, works
        GyDiameterApplication next = local().build();
        next.start(false);
        next.stop();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void portInUseIsAClearError(boolean mock) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            GyDiameterApplication app = local().mock(mock).port(taken.getLocalPort()).build();
            NodeStartException e = assertThrows(NodeStartException.class, () -> app.start(false));
            assertEquals("Address already in use (127.0.0.1:" + taken.getLocalPort() + ")", e.getMessage());
            assertFalse(app.isRunning());
        }
    }

    @Test
    void missingConfigFileIsNamed() {
        GyDiameterApplication app = local().config(Path.of("no/such/file.xml")).build();
        NodeStartException e = assertThrows(NodeStartException.class, () -> app.start(false));
        assertTrue(e.getMessage().startsWith("Configuration file not found: ") && e.getMessage().endsWith("file.xml"),
                e.getMessage());
    }

    @Test
    void brokenXmlNamesFileAndLine(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.xml");
        Files.writeString(bad, "<?xml version=\"1.0\"?>\n<Configuration>\n  <LocalPeer>\n</Configuration>\n");
        NodeStartException e = assertThrows(NodeStartException.class, () -> local().config(bad).build().start(false));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("line 4"), e.getMessage());
    }

    @Test
    void configThatBreaksTheSchemaIsNamed(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("schema.xml");
        Files.writeString(bad, Files.readString(CONFIG).replace("<Parameters>", "<Parameters><NoSuchParameter/>"));
        NodeStartException e = assertThrows(NodeStartException.class, () -> local().config(bad).build().start(false));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("NoSuchParameter"), e.getMessage());
    }

    @Test
    void fromMapTakesTheDocumentedKeys() throws Exception {
        GyDiameterApplication app = GyDiameterApplication.fromMap(Map.of("host", "ocs.lab", "realm", "lab",
                "ip", "127.0.0.1", "port", "0", "config", CONFIG.toString(), "store", freshStore()));
        assertEquals("ocs.lab", app.settings().originHost());
        assertEquals("lab", app.settings().realm());
        app.start(false);
        try (GyTestClient c = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "lab", 5000)) {
            c.connect();
            var answer = c.send(c.creditControlRequest(c.newSessionId(), RequestType.EVENT, 0, "1"));
            assertEquals("ocs.lab", answer.getAvps().getAvp(Avp.ORIGIN_HOST).getDiameterIdentity());
            assertEquals("lab", answer.getAvps().getAvp(Avp.ORIGIN_REALM).getDiameterIdentity());
        } finally {
            app.stop();
        }
        assertThrows(IllegalArgumentException.class, () -> GyDiameterApplication.fromMap(Map.of("colour", "red")));
        assertThrows(IllegalArgumentException.class, () -> GyDiameterApplication.fromMap(Map.of("port", "x")));
    }


    @Test
    void blockingStartReturnsAfterStop() throws Exception {
        GyDiameterApplication app = local().build();
        Thread runner = new Thread(() -> {
            try {
                app.start(true);
            } catch (NodeStartException e) {
                throw new IllegalStateException(e);
            }
        });
        runner.start();
        for (int i = 0; i < 500 && !app.isRunning(); i++) {
            Thread.sleep(10);
        }
        assertTrue(app.isRunning());
        app.stop();
        runner.join(5_000);
        assertFalse(runner.isAlive());
    }

    /** Issue 13, item 14: a store that can change no balance any more stops the node (bin/ocs.sh then exits 1). */
    @Test
    void aFailedStoreStopsTheNodeAndSaysWhy(@org.junit.jupiter.api.io.TempDir Path data) throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true).dataDir(data).build();
        app.start(false);
        int port = app.getPort();
        assertEquals("UP", app.health().status());
        app.storeFailed("The balance journal failed: No space left on device");
        // what GET /health answers (503) from then on, until the node has stopped
        org.gyocs.http.HealthReport down = app.health();
        assertEquals("DOWN", down.status());
        assertTrue(down.reason().contains("No space left on device"), down.reason());
        for (int i = 0; i < 100 && app.isRunning(); i++) {
            Thread.sleep(50);
        }
        assertFalse(app.isRunning(), "stopped");
        assertEquals("The balance journal failed: No space left on device", app.failure());
        assertFalse(org.gyocs.node.ListeningPorts.isListening("127.0.0.1", port), "and no longer listening");
    }

    static String freshStore() {
        return org.gyocs.testing.Stores.freshH2();
    }
}
