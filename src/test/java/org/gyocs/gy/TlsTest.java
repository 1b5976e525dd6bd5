package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.TlsSettings;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 13, item 9: Diameter over TLS (RFC 6733 section 13) in both modes: TLS at connect on a
 * port of its own, mutual authentication, and the certificate's identity checked against the
 * peer's Origin-Host. Certificates are made here with the JDK's keytool; the handshake is also
 * checked with OpenSSL's client, an independent TLS stack.
 */
class TlsTest {
    static final char[] PASSWORD = "secret".toCharArray();
    @TempDir
    static Path pki;

    static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + "\n" + out);
    }

    /** A self-signed EC key and certificate for {@code host}, and its certificate in {@code name}.crt. */
    static void identity(String name, String host) throws Exception {
        keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + host,
                "-ext", "SAN=dns:" + host, "-validity", "30", "-keystore", pki.resolve(name + ".p12").toString(),
                "-storetype", "PKCS12", "-storepass", "secret");
        keytool("-exportcert", "-rfc", "-alias", name, "-keystore", pki.resolve(name + ".p12").toString(),
                "-storepass", "secret", "-file", pki.resolve(name + ".crt").toString());
    }

    static void trust(String store, String... names) throws Exception {
        for (String n : names) {
            keytool("-importcert", "-noprompt", "-alias", n, "-file", pki.resolve(n + ".crt").toString(),
                    "-keystore", pki.resolve(store).toString(), "-storetype", "PKCS12", "-storepass", "secret");
        }
    }

    @BeforeAll
    static void certificates() throws Exception {
        identity("ocs", "ocs.test.local");
        identity("pcef", "pcef.test.local");
        identity("other", "other.test.local");
        identity("rogue", "pcef.test.local"); // names the PCEF, but nobody vouches for it
        trust("node-trust.p12", "pcef", "other");
        trust("peer-trust.p12", "ocs");
    }

    GyDiameterApplication start(boolean mock) throws Exception {
        return start(mock, org.gyocs.testing.Stores.freshH2(), null);
    }

    GyDiameterApplication start(boolean mock, String store, Path subscribers) throws Exception {
        return start(mock, store, subscribers, org.gyocs.node.TransportLimits.DEFAULT);
    }

    GyDiameterApplication start(boolean mock, String store, Path subscribers, org.gyocs.node.TransportLimits limits)
            throws Exception {
        TlsSettings tls = TlsSettings.load(mock ? 0 : ListeningPorts.freePort(), pki.resolve("ocs.p12"),
                pki.resolve("node-trust.p12"), PASSWORD);
        GyDiameterApplication.Builder b = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.test.local").realm("test.local").config(Path.of("config/jdiameter-config.xml"))
                .store(store).tls(tls).limits(limits);
        GyDiameterApplication app = (subscribers == null ? b : b.subscribers(subscribers)).build();
        app.start(false);
        return app;
    }

    /** A TLS client with {@code keyStore}'s certificate (or none), trusting the node's. */
    static SSLSocket connect(int port, String keyStore) throws Exception {
        return connect(port, keyStore, null);
    }

    /**
     * ... over {@code plain} when given (connected with its own options; the test closes it when
     * the TLS layer's close would wait behind a blocked write).
     */
    static SSLSocket connect(int port, String keyStore, java.net.Socket plain) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        if (keyStore != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(pki.resolve(keyStore))) {
                ks.load(in, PASSWORD);
            }
            kmf.init(ks, PASSWORD);
        } else {
            KeyStore empty = KeyStore.getInstance("PKCS12");
            empty.load(null, null);
            kmf.init(empty, PASSWORD);
        }
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(pki.resolve("peer-trust.p12"))) {
            trust.load(in, PASSWORD);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLSocket s;
        if (plain == null) {
            s = (SSLSocket) ctx.getSocketFactory().createSocket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        } else {
            s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
        }
        s.setSoTimeout(5000);
        s.startHandshake();
        return s;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aPeerWithItsOwnCertificateIsServedOverTls(boolean mock) throws Exception {
        // charged on the embedded store: answers sent after the journal's sync (over TLS, jDiameter
        // mode writes them on the connection's own writer)
        Path csv = Files.createTempFile(pki, "subscribers", ".csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n491700000001,octets,10000000,,\n");
        GyDiameterApplication app = start(mock, org.gyocs.testing.Stores.freshEmbeddedFile(), csv);
        try (TestPeer p = new TestPeer(connect(app.getTlsPort(), "pcef.p12"))) {
            assertEquals(2001, resultCode(p.handshake("pcef.test.local")));
            p.awaitOpen();
            assertEquals(2001, resultCode(p.request(GyRequests.simple(1, "tls;1", 1, 0))));
            assertEquals(2001, resultCode(p.request(GyRequests.simple(2, "tls;1", 2, 1))));
            assertEquals(2001, resultCode(p.request(GyRequests.simple(3, "tls;1", 3, 2))));
            long left = app.subscriberAdmin().buckets("491700000001").stream()
                    .mapToLong(org.gyocs.store.Bucket::amount).sum();
            assertEquals(10_000_000 - 2 * 524_288, left, "charged for real");
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aCertificateOfAnotherPeerOrNoneOrAnUntrustedOneIsRefused(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock);
        try {
            try (TestPeer p = new TestPeer(connect(app.getTlsPort(), "other.p12"))) {
                assertEquals(3010, resultCode(p.handshake("pcef.test.local")), "other.test.local's certificate");
                assertTrue(p.closedByNode());
            }
            // no certificate, or one nobody vouches for: the handshake fails (the node requires one)
            for (String keyStore : new String[] {null, "rogue.p12"}) {
                assertThrows(IOException.class, () -> {
                    try (TestPeer p = new TestPeer(connect(app.getTlsPort(), keyStore))) {
                        p.handshake("pcef.test.local");
                    }
                }, String.valueOf(keyStore));
            }
            assertTrue((Long) app.getStatistics().get("peers_refused") >= 1);
            // and plain TCP goes on as before
            try (TestPeer plain = new TestPeer(app.getPort())) {
                assertEquals(2001, resultCode(plain.handshake()));
            }
        } finally {
            app.stop();
        }
    }

    /** An independent TLS stack: OpenSSL's client completes the handshake with the PCEF's certificate. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void openSslCompletesTheHandshake(boolean mock) throws Exception {
        Path pem = pki.resolve("pcef.pem");
        if (!Files.exists(pem)) {
            run("openssl", "pkcs12", "-in", pki.resolve("pcef.p12").toString(), "-passin", "pass:secret", "-nodes",
                    "-out", pem.toString());
        }
        GyDiameterApplication app = start(mock);
        try {
            String out = run("openssl", "s_client", "-connect", "127.0.0.1:" + app.getTlsPort(), "-cert", pem.toString(),
                    "-key", pem.toString(), "-CAfile", pki.resolve("ocs.crt").toString(), "-verify_return_error",
                    "-brief");
            assertTrue(out.contains("Verification: OK"), out);
            assertTrue(out.contains("ocs.test.local"), out);
        } finally {
            app.stop();
        }
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close(); // s_client ends when its input does
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
        return out;
    }

    /** Peers that connect to the TLS port and send nothing hold up no other peer's handshake. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void silentConnectionsDoNotHoldUpOtherHandshakes(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock);
        List<java.net.Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                idle.add(new java.net.Socket("127.0.0.1", app.getTlsPort()));
            }
            long t0 = System.nanoTime();
            try (TestPeer p = new TestPeer(connect(app.getTlsPort(), "pcef.p12"))) {
                assertEquals(2001, resultCode(p.handshake("pcef.test.local")));
            }
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 3_000, "not behind the silent ones");
        } finally {
            for (java.net.Socket s : idle) {
                s.close();
            }
            app.stop();
        }
    }

    /**
     * A TLS peer that sends requests but reads none of its answers is closed and counted, as over
     * plain TCP (jDiameter mode: once nothing could be written to it for --stall-timeout; mock
     * mode: once over 4 MiB is unsent), and another peer is answered meanwhile. A TLS write has no
     * timeout of its own: in jDiameter mode it held the thread writing to that peer, and the
     * connection, for ever.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aTlsPeerThatReadsNoAnswersIsClosedAfterTheStallTimeout(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, org.gyocs.testing.Stores.freshH2(), null,
                new org.gyocs.node.TransportLimits(65_536, 10, 30_000, 1_000, 1_000));
        java.net.Socket plain = smallWindow(app.getTlsPort());
        TestPeer deaf = null;
        boolean stopped = false;
        try (TestPeer other = new TestPeer(connect(app.getTlsPort(), "other.p12"))) {
            deaf = new TestPeer(connect(app.getTlsPort(), "pcef.p12", plain));
            assertEquals(2001, resultCode(deaf.handshake("pcef.test.local")));
            deaf.awaitOpen();
            assertEquals(2001, resultCode(other.handshake("other.test.local")));
            other.awaitOpen();
            long errors = (Long) app.getStatistics().get("errors");
            java.util.concurrent.atomic.AtomicBoolean refused = new java.util.concurrent.atomic.AtomicBoolean();
            // 100,000 events at most: past 4 MiB unsent in mock mode
            Thread writer = flood(deaf, "deaf", 500, refused);
            boolean closed = false;
            for (int i = 0; i < 300 && !closed; i++) {
                Thread.sleep(50);
                closed = (Long) app.getStatistics().get("errors") > errors;
            }
            assertTrue(closed, "the deaf peer closed within 15 s");
            writer.join(15_000);
            assertTrue(refused.get(), "its connection is gone: writing to it fails");
            assertEquals(2001, resultCode(other.request(GyRequests.ccr(7, GyRequests.header("other;1", 4, 0)))),
                    "another peer is answered");
            stopped = true;
            // jDiameter's queue thread once waited 30 s for room in its own full queue, and the
            // connection's reader for room in the queue of the peer it had just closed
            java.util.concurrent.FutureTask<Void> stopping = new java.util.concurrent.FutureTask<>(app::stop, null);
            Thread stopper = new Thread(stopping);
            stopper.start();
            stopper.join(10_000);
            String waiting = stopper.isAlive() ? threadDump() : "";
            stopping.get(); // what the stop threw
            assertTrue(waiting.isEmpty(), "still stopping after 10 s, not behind the closed peer's queue:\n" + waiting);
        } finally {
            plain.close(); // first: were the node not to close it, closing TLS would wait for the blocked writer
            if (deaf != null) {
                deaf.close();
            }
            if (!stopped) {
                app.stop();
            }
        }
    }

    /**
     * A node stops promptly while a TLS peer reads nothing: closing its socket waited for the TLS
     * record lock its blocked write held, for ever, unless the stall timeout came first.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aNodeStopsWhileATlsPeerReadsNothing(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, org.gyocs.testing.Stores.freshH2(), null,
                // the stop may come first, or the stall timeout (jDiameter's stop waits for room in
                // the stuck peer's full queue until then, or 30 s)
                new org.gyocs.node.TransportLimits(65_536, 10, 30_000, 2_000, 1_000));
        java.net.Socket plain = smallWindow(app.getTlsPort());
        TestPeer deaf = new TestPeer(connect(app.getTlsPort(), "pcef.p12", plain));
        Thread stopper = new Thread(app::stop);
        try {
            assertEquals(2001, resultCode(deaf.handshake("pcef.test.local")));
            deaf.awaitOpen();
            flood(deaf, "stuck", 200, new java.util.concurrent.atomic.AtomicBoolean());
            Thread.sleep(1_500); // the node's answers fill the socket: its write waits on the peer
            long t0 = System.nanoTime();
            stopper.setDaemon(true);
            stopper.start();
            stopper.join(30_000);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(!stopper.isAlive() && ms < 20_000, "stopped in " + ms + " ms (still stopping: "
                    + stopper.isAlive() + ")");
        } finally {
            plain.close(); // first: closing TLS would wait for the blocked writer
            deaf.close();
            if (!stopper.isAlive() && stopper.getState() == Thread.State.NEW) {
                app.stop();
            }
        }
    }

    /** Every thread's stack, for a failure that happens once in many runs. */
    private static String threadDump() {
        StringBuilder out = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, frames) -> {
            out.append('"').append(thread.getName()).append("\" ").append(thread.getState()).append('\n');
            for (StackTraceElement frame : frames) {
                out.append("    at ").append(frame).append('\n');
            }
        });
        return out.toString();
    }

    /** A TCP connection that advertises a small receive window, soon full when nothing is read. */
    private static java.net.Socket smallWindow(int port) throws IOException {
        java.net.Socket plain = new java.net.Socket();
        plain.setReceiveBufferSize(4096); // before connecting: the window it advertises
        plain.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return plain;
    }

    /**
     * A thread sending {@code batches} x 200 events on {@code peer}, whose answers nobody reads;
     * {@code refused} is set when the node closed the connection.
     */
    private static Thread flood(TestPeer peer, String prefix, int batches,
                                java.util.concurrent.atomic.AtomicBoolean refused) {
        Thread writer = new Thread(() -> {
            try {
                for (int batch = 0; batch < batches; batch++) {
                    List<byte[]> many = new ArrayList<>();
                    for (int i = 0; i < 200; i++) {
                        int n = batch * 200 + i;
                        many.add(org.gyocs.codec.DiameterCodec.encode(GyRequests.ccr(n, GyRequests.header(
                                prefix + ";" + n, 4, 0))));
                    }
                    peer.write(TestPeer.concat(many));
                }
            } catch (IOException closed) {
                refused.set(true);
            }
        });
        writer.setDaemon(true);
        writer.start();
        return writer;
    }
}
