package org.gyocs.gy.nio;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.store.Bucket;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, item 3: a stop answers every request it has committed before it sends DPR. An audit
 * stopped mock mode with 5,000 pipelined debits in flight: all were committed, 988 answered.
 */
class StopDrainsAnswersTest {
    static final String SUB = "491700000001";
    static final int EVENTS = 5_000;
    @TempDir
    Path tmp;

    /** A node (mock or jDiameter mode) that debits 10 octets a request from SUB, who has 100,000,000. */
    private GyDiameterApplication charging(boolean mock, org.gyocs.node.TransportLimits limits) throws Exception {
        Path csv = tmp.resolve("s.csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets,100000000,,\n");
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.test.local").realm("test.local").config(Path.of("config/jdiameter-config.xml"))
                .limits(limits)
                .charging(OcsConfiguration.of(java.util.Map.of("default-octets", "10", "max-octets", "10")).chargingPolicy())
                .store(Stores.embeddedFile(tmp.resolve("data"))).subscribers(csv).build();
        app.start(false);
        return app;
    }

    /** SUB's balance as a new node reads it from the stopped one's store. */
    private long balanceAfterRestart() throws Exception {
        GyDiameterApplication again = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .store(Stores.embeddedFile(tmp.resolve("data"))).build();
        again.start(false);
        try {
            return again.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
        } finally {
            again.stop();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void everyCommittedDebitIsAnsweredBeforeTheDpr(boolean mock) throws Exception {
        GyDiameterApplication app = charging(mock, org.gyocs.node.TransportLimits.DEFAULT);
        Thread stopper = new Thread(app::stop);
        int answers = 0;
        try (TestPeer p = new TestPeer(app.getPort())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int i = 0; i < EVENTS; i++) {
                List<Avp> avps = GyRequests.header("drain;" + i, 4, 0);
                avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(10), null));
                all.write(DiameterCodec.encode(GyRequests.ccr(i, avps)));
            }
            p.write(all.toByteArray());
            // stop while most of them are still being decided
            while (app.getStatistics().get("cca_sent") instanceof Long n && n < 100) {
                Thread.sleep(1);
            }
            stopper.start();
            while (true) {
                DiameterMessage m = p.read();
                if (m.isRequest() && m.commandCode() == CommandCodes.DISCONNECT_PEER) {
                    p.answer(m);
                    break;
                }
                if (m.commandCode() == CommandCodes.DEVICE_WATCHDOG) {
                    continue; // the answer to awaitOpen's late DWR, or the node's own
                }
                assertEquals(CommandCodes.CREDIT_CONTROL, m.commandCode());
                assertEquals(2001, resultCode(m));
                answers++;
            }
        }
        stopper.join(20_000);
        assertEquals(EVENTS, answers, "every request answered before the DPR");
        assertEquals(100_000_000L - 10L * EVENTS, balanceAfterRestart(), "and each debited once");
        assertTrue(answers > 0);
    }

    /**
     * A CCR that reaches a stopping node after its DPR (in flight when the DPR left) is refused
     * with 3004 and debits nothing, in both modes: the peer's DPA closes the connection at once,
     * and a debit decided then would have no answer (a process test stopping under load saw 13 of
     * 2,000). Here a session's CCR-U reporting usage, and an event.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aRequestAfterTheDprIsRefusedWithoutADebit(boolean mock) throws Exception {
        GyDiameterApplication app = charging(mock, org.gyocs.node.TransportLimits.DEFAULT);
        Thread stopper = new Thread(app::stop);
        try (TestPeer p = new TestPeer(app.getPort())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            List<Avp> initial = GyRequests.header("after-dpr;1", 1, 0);
            initial.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(10), null));
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(1, initial))));
            stopper.start();
            DiameterMessage dpr;
            do {
                dpr = p.read();
            } while (!(dpr.isRequest() && dpr.commandCode() == CommandCodes.DISCONNECT_PEER));
            List<Avp> update = GyRequests.header("after-dpr;1", 2, 1);
            update.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(10), GyRequests.usuOctets(10)));
            List<Avp> event = GyRequests.header("after-dpr;2", 4, 0);
            event.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(10), null));
            for (DiameterMessage late : List.of(GyRequests.ccr(2, update), GyRequests.ccr(3, event))) {
                p.write(DiameterCodec.encode(late));
                DiameterMessage answer;
                do {
                    answer = p.read();
                } while (answer.commandCode() == CommandCodes.DEVICE_WATCHDOG);
                assertEquals(CommandCodes.CREDIT_CONTROL, answer.commandCode());
                assertEquals(3004, resultCode(answer), "DIAMETER_TOO_BUSY: to another OCS");
            }
            p.answer(dpr);
        }
        stopper.join(20_000);
        assertEquals(100_000_000L, balanceAfterRestart(), "nothing debited (the CCR-I's hold released)");
    }

    /**
     * A stop under steady traffic, the requests never pausing: every debit made is answered 2001
     * before the DPR, and what comes after the refusals begin gets 3004 and debits nothing. In
     * jDiameter mode the 100 ms without a request in flight never came, the DPRs went out at the
     * drain's deadline with requests still being decided, and the stopping stack sent none of
     * their answers: debits without an answer.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aStopUnderSteadyTrafficAnswersEveryDebitItMakes(boolean mock) throws Exception {
        GyDiameterApplication app = charging(mock, new org.gyocs.node.TransportLimits(65_536, 1_000, 30_000, 10_000, 1_000));
        Thread stopper = new Thread(app::stop);
        int answered = 0;
        int refused = 0;
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        try (TestPeer p = new TestPeer(app.getPort())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            Thread writer = new Thread(() -> { // an event every 0.2 ms, for at most 20,000 (bounded)
                for (int i = 0; i < 20_000 && writing.get(); i++) {
                    List<Avp> avps = GyRequests.header("steady;" + i, 4, 0);
                    avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(10), null));
                    try {
                        synchronized (p) {
                            p.write(DiameterCodec.encode(GyRequests.ccr(i, avps)));
                        }
                    } catch (java.io.IOException e) {
                        return; // closed by the node
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                }
            });
            writer.start();
            while (app.getStatistics().get("cca_sent") instanceof Long n && n < 200) {
                Thread.sleep(1);
            }
            stopper.start();
            DiameterMessage dpr = null;
            while (dpr == null) {
                DiameterMessage m = p.read();
                if (m.isRequest() && m.commandCode() == CommandCodes.DISCONNECT_PEER) {
                    dpr = m;
                } else if (m.commandCode() == CommandCodes.CREDIT_CONTROL) {
                    if (resultCode(m) == 2001) { // a request decided before the refusals began may come after one
                        answered++;
                    } else {
                        assertEquals(3004, resultCode(m));
                        refused++;
                    }
                }
            }
            writing.set(false);
            writer.join(10_000);
            synchronized (p) {
                p.answer(dpr);
            }
            try { // what is left before the close: refusals only
                while (true) {
                    DiameterMessage m = p.read();
                    if (m.commandCode() == CommandCodes.CREDIT_CONTROL) {
                        assertEquals(3004, resultCode(m), "after the DPR");
                    }
                }
            } catch (java.io.IOException | org.gyocs.codec.DiameterDecodeException e) {
                // closed by the node
            }
        }
        stopper.join(20_000);
        assertTrue(answered >= 200, "answered " + answered);
        assertEquals(100_000_000L - 10L * answered, balanceAfterRestart(),
                "each of the " + answered + " answered debits made once, and nothing else (" + refused + " refused)");
    }

    /**
     * Issue 11, item 4: from the moment a stop begins new peers are refused (no CEA), and a peer
     * that never answers its DPR holds the stop no longer than the configured drain plus the DPA
     * wait (jDiameter's stack adds its own bounded shutdown).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aStopRefusesNewPeersAndEndsWithinItsTimeout(boolean mock) throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.test.local").realm("test.local").config(Path.of("config/jdiameter-config.xml"))
                .limits(new org.gyocs.node.TransportLimits(65_536, 1_000, 30_000, 10_000, 1_000))
                .store(Stores.freshH2()).build();
        app.start(false);
        int port = app.getPort();
        Thread stopper = new Thread(app::stop);
        long started;
        try (TestPeer p = new TestPeer(port)) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            started = System.nanoTime();
            stopper.start();
            DiameterMessage dpr;
            do {
                dpr = p.read();
            } while (!(dpr.isRequest() && dpr.commandCode() == CommandCodes.DISCONNECT_PEER));
            // the DPR is not answered: the node waits for it, bounded, and lets nobody new in
            boolean refused;
            try (TestPeer late = new TestPeer(port)) {
                DiameterMessage cea = late.handshake("late.test.local");
                refused = resultCode(cea) != 2001;
            } catch (java.io.IOException | org.gyocs.codec.DiameterDecodeException e) {
                refused = true; // connection refused, or closed before any CEA
            }
            assertTrue(refused, "a peer connecting during the stop is not let in");
            stopper.join(20_000);
        }
        long took = (System.nanoTime() - started) / 1_000_000;
        assertTrue(!stopper.isAlive(), "the stop ended");
        assertTrue(took < 1_000 + org.gyocs.node.TransportLimits.DPA_WAIT_MILLIS + 6_000, "took " + took + " ms");
        assertTrue(!app.isRunning());
    }
}
