package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;

import org.gyocs.client.GyTestClient;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControl;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.jdiameter.api.Answer;
import org.junit.jupiter.api.Test;

/** Faults around the jDiameter node: a failing core, a peer that must receive our DPR, a peer that reconnects at once. */
class JDiameterGyNodeFaultTest {
    static NodeSettings settings() {
        return new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false,
                TransportLimits.DEFAULT);
    }

    @Test
    void anExceptionWhileAnsweringIsAnswered5012AndCounted() throws Exception {
        CreditControlCore real = new CreditControlCore(GrantPolicy.DEFAULT);
        CreditControl failing = new CreditControl() {
            @Override
            public Optional<CreditControlAnswer> validate(CreditControlRequest request) {
                return real.validate(request);
            }

            @Override
            public CreditControlAnswer answer(CreditControlRequest request) {
                throw new IllegalStateException("balance store unreachable");
            }
        };
        NodeStatistics stats = new NodeStatistics();
        JDiameterGyNode node = new JDiameterGyNode(settings(), failing, stats);
        node.start();
        try (GyTestClient c = new GyTestClient("127.0.0.1", node.port(), "pcef.test.local", "test.local", 5000)) {
            c.connect();
            for (RequestType type : new RequestType[] {RequestType.INITIAL, RequestType.EVENT}) {
                Answer a = c.send(c.creditControlRequest(c.newSessionId(), type, 0, "1"));
                assertEquals(5012, a.getResultCode().getUnsigned32(), type.name());
            }
        } finally {
            node.stop();
        }
        assertEquals(2, stats.errors());
        assertEquals(java.util.Map.of(5012L, 2L), stats.snapshot().get("answers_by_result_code"));
    }

    /**
     * jDiameter starts a 60 s timer on every message a session sends, answers too: each answer
     * stayed in the stack's timer queue for a minute (under sustained load, the heap full). The
     * node clears an answer's timer once it is sent.
     */
    @Test
    void answersSentThroughSessionsLeaveNoTimerBehind() throws Exception {
        JDiameterGyNode node = new JDiameterGyNode(settings(), new CreditControlCore(GrantPolicy.DEFAULT),
                new NodeStatistics());
        node.start();
        try (GyTestClient c = new GyTestClient("127.0.0.1", node.port(), "pcef.test.local", "test.local", 5000)) {
            c.connect();
            int before = node.stackTimers();
            for (int i = 0; i < 200; i++) {
                String sid = c.newSessionId();
                assertEquals(2001, c.send(c.creditControlRequest(sid, RequestType.INITIAL, 0, "1")).getResultCode()
                        .getUnsigned32());
                assertEquals(2001, c.send(c.creditControlRequest(sid, RequestType.TERMINATION, 1, "1")).getResultCode()
                        .getUnsigned32());
            }
            // the client's own requests are answered, their timers cancelled; 400 answers sent
            int after = node.stackTimers();
            assertTrue(after - before < 50, "timers before " + before + ", after 400 answers " + after);
            // a timer due within the second, so that an answer's 60 s timer is never the earliest
            // (the earliest wakes the stack's timer thread)
            assertTrue(node.earliestStackTimerMillis() <= 1000, "earliest " + node.earliestStackTimerMillis() + " ms");
        } finally {
            node.stop();
        }
    }

    /**
     * On the embedded store a session request is decided without waiting for the journal (its
     * answer goes out after the sync), so its session delivers it on the connection's reading
     * thread, not through the ApplicationSession pool; an event (it may be a refund, which waits)
     * and any request on a store without sync points still go through the pool.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "embedded {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void sessionRequestsAreDeliveredOnTheReadingThreadOnlyWhereTheyWaitForNothing(boolean embedded,
            @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String subscriber = "491700000001";
        try (org.gyocs.store.JdbcBalanceStore store = org.gyocs.store.JdbcBalanceStore.open(
                embedded ? org.gyocs.testing.Stores.embeddedFile(dir) : org.gyocs.testing.Stores.freshH2(), null, null, 4)) {
            store.add(java.util.List.of(new org.gyocs.store.Bucket(0, subscriber, org.gyocs.core.UnitType.OCTETS,
                    100_000_000, 0, null, null)), false);
            NodeStatistics stats = new NodeStatistics();
            org.gyocs.core.OnlineCharging core = new org.gyocs.core.OnlineCharging(org.gyocs.app.OcsConfiguration
                    .of(java.util.Map.of("default-octets", "1000")).chargingPolicy(), store, stats);
            org.gyocs.gy.GyPipeline pipeline = new org.gyocs.gy.GyPipeline(core, stats, "ocs.test.local", "test.local");
            store.syncPoints().ifPresent(pipeline::answersAfterSync);
            JDiameterGyNode node = new JDiameterGyNode(settings(), pipeline);
            node.start();
            try (GyTestClient c = new GyTestClient("127.0.0.1", node.port(), "pcef.test.local", "test.local", 5000)) {
                c.connect();
                for (int i = 0; i < 10; i++) {
                    String sid = c.newSessionId();
                    for (RequestType type : new RequestType[] {RequestType.INITIAL, RequestType.UPDATE,
                            RequestType.TERMINATION}) {
                        assertEquals(2001, c.send(c.creditControlRequest(sid, type, type.ordinal(), subscriber))
                                .getResultCode().getUnsigned32());
                    }
                }
                long sessions = node.deliveredOnCaller();
                assertEquals(2001, c.send(c.creditControlRequest(c.newSessionId(), RequestType.EVENT, 0, subscriber))
                        .getResultCode().getUnsigned32());
                assertEquals(embedded ? 30 : 0, sessions, "I, U and T of 10 sessions");
                assertEquals(sessions, node.deliveredOnCaller(), "an event goes through the pool");
                assertTrue(store.buckets(subscriber).get(0).amount() < 100_000_000, "charged for real");
            } finally {
                node.stop();
                core.close(); // its supervision thread, before the store closes
            }
        }
    }

    /**
     * A peer that sends requests but reads none of its answers: once nothing could be written to
     * it for --stall-timeout, its connection is closed and counted (jDiameter's own writer spun on
     * it for ever, holding whichever thread sent), and another peer is answered meanwhile.
     */
    @Test
    void aPeerThatReadsNoAnswersIsClosedAfterTheStallTimeout() throws Exception {
        NodeStatistics stats = new NodeStatistics();
        JDiameterGyNode node = new JDiameterGyNode(new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, new TransportLimits(65_536, 10, 30_000, 1_000)),
                new CreditControlCore(GrantPolicy.DEFAULT), stats);
        node.start();
        java.net.Socket raw = new java.net.Socket();
        raw.setReceiveBufferSize(4096); // before connecting: a small window, soon full
        raw.connect(new java.net.InetSocketAddress("127.0.0.1", node.port()));
        try (TestPeer deaf = new TestPeer(raw); TestPeer other = new TestPeer(node.port())) {
            assertEquals(2001, GyRequests.resultCode(deaf.handshake("deaf.test.local")));
            assertEquals(2001, GyRequests.resultCode(other.handshake("other.test.local")));
            Thread.sleep(300); // both peers open (OKAY) at the node
            long errors = stats.errors();
            Thread writer = new Thread(() -> {
                try {
                    for (int batch = 0; batch < 200; batch++) { // 40,000 events at most, answers never read
                        java.util.List<byte[]> many = new java.util.ArrayList<>();
                        for (int i = 0; i < 200; i++) {
                            int n = batch * 200 + i;
                            many.add(org.gyocs.codec.DiameterCodec.encode(GyRequests.ccr(n, GyRequests.header(
                                    "deaf;" + n, 4, 0))));
                        }
                        deaf.write(TestPeer.concat(many));
                    }
                } catch (java.io.IOException closed) {
                    // the node closed it: what this test waits for
                }
            });
            writer.setDaemon(true);
            writer.start();
            boolean closed = false;
            for (int i = 0; i < 300 && !closed; i++) {
                Thread.sleep(50);
                closed = stats.errors() > errors;
            }
            assertTrue(closed, "the deaf peer closed within 15 s");
            DiameterMessage answer = other.request(GyRequests.ccr(7, GyRequests.header("other;1", 4, 0)));
            assertEquals(2001, GyRequests.resultCode(answer), "another peer is answered");
            writer.join(10_000);
        } finally {
            node.stop();
        }
    }

    @Test
    void stopSendsDprToAConnectedPeer() throws Exception {
        JDiameterGyNode node = new JDiameterGyNode(settings(), new CreditControlCore(GrantPolicy.DEFAULT),
                new NodeStatistics());
        node.start();
        try (TestPeer peer = new TestPeer(node.port())) {
            DiameterMessage cea = peer.handshake();
            assertEquals(CommandCodes.CAPABILITIES_EXCHANGE, cea.commandCode());
            assertEquals(2001, cea.avp(AvpCodes.RESULT_CODE).unsigned32());
            assertEquals(4, cea.avp(AvpCodes.AUTH_APPLICATION_ID).unsigned32(), "the CEA advertises Gy");
            peer.awaitOpen(); // jDiameter sends DPR only to peers it has marked OKAY, just after the CEA
            Thread stopper = new Thread(node::stop);
            stopper.start();
            DiameterMessage dpr = peer.read();
            assertTrue(dpr.isRequest());
            assertEquals(CommandCodes.DISCONNECT_PEER, dpr.commandCode());
            peer.answer(dpr);
            stopper.join(10_000);
        } finally {
            node.stop();
        }
    }

    /**
     * A peer that drops its connection and comes straight back, sending its first CCR the moment
     * the CEA arrives, is answered every time. jDiameter starts a peer's event thread lazily and
     * counts it only once it runs: two events of a new connection could both start one (the
     * second failed with "Statistic already defined" and its event was lost), and an event could
     * be queued to the thread of the connection that just ended, which was about to stop
     * (OrderedFsmFactory).
     */
    @Test
    void aPeerThatReconnectsAtOnceIsAnsweredEveryTime() throws Exception {
        JDiameterGyNode node = new JDiameterGyNode(settings(), new CreditControlCore(GrantPolicy.DEFAULT),
                new NodeStatistics());
        node.start();
        try {
            for (int i = 0; i < 60; i++) {
                try (TestPeer peer = new TestPeer(node.port())) {
                    assertEquals(2001, peer.handshake().avp(AvpCodes.RESULT_CODE).unsigned32(), "CEA " + i);
                    for (int k = 0; k < 10; k++) { // pipelined, as a PCEF with traffic waiting sends them
                        java.util.List<org.gyocs.codec.Avp> avps = GyRequests.header("again;" + i + ";" + k, 4, 0);
                        avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
                        peer.send(GyRequests.ccr(i * 100 + k, avps));
                    }
                    for (int k = 0; k < 10; k++) {
                        assertEquals(2001, GyRequests.resultCode(peer.read()), "CCR " + k + " of connection " + i);
                    }
                    if (i % 2 == 0) { // half of them say goodbye first, as freeDiameter does
                        DiameterMessage dpr = new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.DISCONNECT_PEER, 0,
                                peer.nextHopByHop(), 7, java.util.List.of(
                                org.gyocs.codec.Avp.utf8(AvpCodes.ORIGIN_HOST, "raw.test.local"),
                                org.gyocs.codec.Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local"),
                                org.gyocs.codec.Avp.unsigned32(AvpCodes.DISCONNECT_CAUSE, 0)));
                        assertEquals(CommandCodes.DISCONNECT_PEER, peer.request(dpr).commandCode(), "DPA " + i);
                    }
                } // the next connection follows at once
            }
        } finally {
            node.stop();
        }
    }
}
