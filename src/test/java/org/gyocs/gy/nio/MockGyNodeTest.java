package org.gyocs.gy.nio;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CapturedVectors;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The mock node over real sockets: protocol, framing, and every kind of bad input. */
class MockGyNodeTest {
    static final TransportLimits LIMITS = new TransportLimits(4096, 40, 400, 400);
    MockGyNode node;
    NodeStatistics stats;

    @BeforeEach
    void start() throws Exception {
        stats = new NodeStatistics();
        NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0, Path.of("unused.xml"), false,
                LIMITS);
        node = new MockGyNode(s, new CreditControlCore(GrantPolicy.DEFAULT), stats);
        node.start();
    }

    @AfterEach
    void stop() {
        node.stop();
    }

    /** After any bad input: a new, well-behaved peer still gets answers. */
    void assertNodeStillServes() throws Exception {
        try (TestPeer good = new TestPeer(node.port())) {
            assertEquals(2001, resultCode(good.handshake()));
            assertEquals(2001, resultCode(good.request(GyRequests.simple(5, "good;1", 4, 0))));
        }
    }

    @Test
    void capabilitiesExchangeWatchdogAndDisconnect() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            DiameterMessage cea = p.handshake();
            assertFalse(cea.isRequest());
            assertEquals(1, cea.hopByHop());
            assertEquals(List.of(268, 264, 296, 257, 266, 269, 278, 258, 267),
                    cea.avps().stream().map(Avp::code).toList(), "RFC 6733 5.3.2 order");
            assertEquals("ocs.test.local", cea.avp(AvpCodes.ORIGIN_HOST).utf8());
            assertArrayEquals(new byte[] {0, 1, 127, 0, 0, 1}, cea.avp(AvpCodes.HOST_IP_ADDRESS).data());
            assertEquals(4, cea.avp(AvpCodes.AUTH_APPLICATION_ID).unsigned32());
            assertFalse(cea.avp(AvpCodes.PRODUCT_NAME).isMandatory());

            DiameterMessage dwr = new DiameterMessage(0x80, CommandCodes.DEVICE_WATCHDOG, 0, 77, 78, List.of(
                    Avp.utf8(AvpCodes.ORIGIN_HOST, "raw.test.local"), Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local")));
            DiameterMessage dwa = p.request(dwr);
            assertEquals(CommandCodes.DEVICE_WATCHDOG, dwa.commandCode());
            assertEquals(77, dwa.hopByHop());
            assertEquals(78, dwa.endToEnd());
            assertEquals(2001, resultCode(dwa));

            DiameterMessage dpr = new DiameterMessage(0x80, CommandCodes.DISCONNECT_PEER, 0, 79, 79, List.of(
                    Avp.utf8(AvpCodes.ORIGIN_HOST, "raw.test.local"), Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local"),
                    Avp.unsigned32(AvpCodes.DISCONNECT_CAUSE, 2)));
            assertEquals(2001, resultCode(p.request(dpr)));
            assertTrue(p.closedByNode(), "DPA, then the node closes");
        }
        assertEquals(0, stats.errors());
    }

    @Test
    void capturedFreeDiameterRequestsGetTheCapturedAnswersByteForByte() throws Exception {
        // The vectors were captured from a node with this identity and the default grants.
        List<CapturedVectors.Pdu> pdus = CapturedVectors.load();
        int compared = 0;
        try (TestPeer p = new TestPeer(node.port())) {
            assertEquals(2001, resultCode(p.handshake()));
            for (int i = 0; i + 1 < pdus.size(); i++) {
                if (pdus.get(i).kind().equals("CCR-R")) {
                    p.write(pdus.get(i).bytes());
                    assertArrayEquals(pdus.get(i + 1).bytes(), p.readFrame(), "answer to vector " + i);
                    compared++;
                }
            }
        }
        assertEquals(7, compared);
    }

    @Test
    void manyRequestsInOneWriteAndOneRequestOverManyWrites() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                batch.add(DiameterCodec.encode(GyRequests.simple(100 + i, "pipe;" + i, 4, 0)));
            }
            p.write(TestPeer.concat(batch)); // several messages in one TCP segment
            Map<Integer, String> answered = new HashMap<>();
            for (int i = 0; i < 50; i++) {
                DiameterMessage a = p.read();
                answered.put(a.hopByHop(), a.avp(AvpCodes.SESSION_ID).utf8());
                assertEquals(2001, resultCode(a));
            }
            for (int i = 0; i < 50; i++) {
                assertEquals("pipe;" + i, answered.get(100 + i), "answer matched to its request");
            }
            byte[] one = DiameterCodec.encode(GyRequests.simple(999, "split;1", 1, 0));
            for (byte b : one) { // one byte per write
                p.write(new byte[] {b});
                Thread.sleep(0, 200_000);
            }
            DiameterMessage a = p.read();
            assertEquals(999, a.hopByHop());
            assertEquals(2001, resultCode(a));
        }
        assertEquals(0, stats.errors());
    }

    @Test
    void manyPeersWithManyRequestsInFlight() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int peer = 0; peer < 20; peer++) {
                int id = peer;
                results.add(pool.submit(() -> {
                    try (TestPeer p = new TestPeer(node.port())) {
                        p.handshake();
                        List<byte[]> batch = new ArrayList<>();
                        for (int i = 0; i < 200; i++) {
                            batch.add(DiameterCodec.encode(GyRequests.simple(i, "peer" + id + ";" + i, 4, 0)));
                        }
                        p.write(TestPeer.concat(batch));
                        int ok = 0;
                        for (int i = 0; i < 200; i++) {
                            DiameterMessage a = p.read();
                            if (a.avp(AvpCodes.SESSION_ID).utf8().equals("peer" + id + ";" + a.hopByHop()) && resultCode(a) == 2001) {
                                ok++;
                            }
                        }
                        return ok;
                    }
                }));
            }
            for (Future<Integer> f : results) {
                assertEquals(200, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(4000L, stats.snapshot().get("ccr_event_received"));
    }

    @Test
    void notDiameterIsClosed() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.write("test\n".getBytes(StandardCharsets.US_ASCII)); // echo test | nc 127.0.0.1 3868
            assertTrue(p.closedByNode());
        }
        assertEquals(1, stats.errors());
        assertNodeStillServes();
    }

    @Test
    void badHeadersAreClosedWithoutAllocating() throws Exception {
        for (byte[] header : List.of(
                ByteBuffer.allocate(20).putInt(2 << 24 | 20).array(),          // version 2
                ByteBuffer.allocate(20).putInt(1 << 24 | 12).array(),          // under 20
                ByteBuffer.allocate(4).putInt(1 << 24 | 0xFFFFF0).array())) {  // 16 MiB announced
            try (TestPeer p = new TestPeer(node.port())) {
                p.handshake();
                p.write(header);
                assertTrue(p.closedByNode());
            }
        }
        assertEquals(3, stats.errors());
        assertNodeStillServes();
    }

    @Test
    void avpLengthPastTheMessageIsAnswered5014() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            byte[] bytes = DiameterCodec.encode(GyRequests.simple(42, "len;1", 1, 0));
            // Session-Id is the first AVP at offset 20: claim 0xFFF0 bytes for it
            bytes[20 + 6] = (byte) 0xFF;
            bytes[20 + 7] = (byte) 0xF0;
            p.write(bytes);
            DiameterMessage a = p.read();
            assertEquals(42, a.hopByHop());
            assertEquals(5014, resultCode(a));
            Avp failed = a.avp(AvpCodes.FAILED_AVP).group().get(0);
            assertEquals(AvpCodes.SESSION_ID, failed.code());
            // the connection goes on
            assertEquals(2001, resultCode(p.request(GyRequests.simple(43, "len;2", 4, 0))));
        }
        assertEquals(1, stats.errors());
    }

    @Test
    void avpLengthPastItsGroupIsAnswered5014() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            List<Avp> avps = GyRequests.header("grp;1", 1, 0);
            // an MSCC whose inner Rating-Group claims 40 bytes in a 12-byte group
            avps.add(Avp.of(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL,
                    ByteBuffer.allocate(12).putInt(AvpCodes.RATING_GROUP).putInt(0x40 << 24 | 40).putInt(100).array()));
            DiameterMessage a = p.request(GyRequests.ccr(7, avps));
            assertEquals(5014, resultCode(a));
            assertEquals(AvpCodes.RATING_GROUP, a.avp(AvpCodes.FAILED_AVP).group().get(0).code());
        }
        assertNodeStillServes();
    }

    @Test
    void unknownMandatoryAvpIs5001AndUnknownOptionalIsIgnored() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            List<Avp> avps = GyRequests.header("unk;1", 4, 0);
            avps.add(Avp.unsigned32(99999, 1)); // M-bit set
            DiameterMessage a = p.request(GyRequests.ccr(8, avps));
            assertEquals(5001, resultCode(a));
            assertEquals(99999, a.avp(AvpCodes.FAILED_AVP).group().get(0).code());

            List<Avp> nested = GyRequests.header("unk;2", 4, 0);
            nested.add(GyRequests.mscc(100L, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT,
                    Avp.unsigned64(AvpCodes.CC_TOTAL_OCTETS, 10), Avp.unsigned32(88888, 1)), null));
            DiameterMessage n = p.request(GyRequests.ccr(9, nested));
            assertEquals(5001, resultCode(n), "inside the MSCC's RSU too");
            assertEquals(88888, n.avp(AvpCodes.FAILED_AVP).group().get(0).code());

            List<Avp> optional = GyRequests.header("unk;3", 4, 0);
            optional.add(Avp.unsigned32(99999, 1).optional());
            optional.add(Avp.vendor(12345, 4242, new byte[] {1, 2, 3, 4}).optional());
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(10, optional))));
        }
    }

    /** RFC 4006 3.2: even a refusal is a CCA, with Auth-Application-Id, CC-Request-Type and CC-Request-Number. */
    @Test
    void a5001AnswerIsAWholeCcaNamingTheVendorAvp() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            List<Avp> avps = GyRequests.header("unk;vendor", 2, 7);
            avps.add(Avp.vendor(65001, AvpCodes.VENDOR_3GPP, new byte[] {0, 0, 0, 1}));
            DiameterMessage a = p.request(GyRequests.ccr(11, avps));
            assertEquals(5001, resultCode(a));
            assertEquals(4, a.avp(AvpCodes.AUTH_APPLICATION_ID).unsigned32());
            assertEquals(2, a.avp(AvpCodes.CC_REQUEST_TYPE).unsigned32());
            assertEquals(7, a.avp(AvpCodes.CC_REQUEST_NUMBER).unsigned32());
            Avp failed = a.avp(AvpCodes.FAILED_AVP).group().get(0);
            assertEquals(65001, failed.code());
            assertEquals(AvpCodes.VENDOR_3GPP, failed.vendorId());
        }
        assertEquals(1L, ((java.util.Map<?, ?>) stats.snapshot().get(NodeStatistics.ANSWERS_BY_RESULT_CODE)).get(5001L),
                "the refusal is counted as an answer");
    }

    @Test
    void answerWhereARequestWasExpectedIsDropped() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            DiameterMessage stray = GyRequests.simple(11, "stray;1", 4, 0).answer(false,
                    List.of(Avp.unsigned32(AvpCodes.RESULT_CODE, 2001)));
            p.send(stray);
            p.socket().setSoTimeout(300);
            try {
                p.read();
                throw new AssertionError("a stray answer must not be answered");
            } catch (SocketTimeoutException expected) {
                // nothing came back
            }
            p.socket().setSoTimeout(5000);
            assertEquals(2001, resultCode(p.request(GyRequests.simple(12, "stray;2", 4, 0))));
        }
        assertEquals(1, stats.errors());
    }

    @Test
    void requestBeforeCerIsRefusedAndClosed() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            DiameterMessage a = p.request(GyRequests.simple(13, "early;1", 4, 0));
            assertEquals(3010, resultCode(a));
            assertTrue(a.isError());
            assertTrue(p.closedByNode());
        }
        assertEquals(1, stats.errors());
    }

    @Test
    void cerWithoutCreditControlIs5010() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.send(TestPeer.cer("s6a.test.local", "test.local", 16777251));
            assertEquals(5010, resultCode(p.read()));
            assertTrue(p.closedByNode());
        }
    }

    @Test
    void unsupportedCommandAndApplication() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            DiameterMessage asr = new DiameterMessage(0xC0, 274, 4, 14, 14, GyRequests.header("asr;1", 1, 0));
            DiameterMessage a = p.request(asr);
            assertEquals(3001, resultCode(a));
            assertTrue(a.isError());
            DiameterMessage otherApp = new DiameterMessage(0xC0, 272, 16777238, 15, 15, GyRequests.header("gx;1", 1, 0));
            DiameterMessage b = p.request(otherApp);
            assertEquals(3007, resultCode(b));
            assertTrue(b.isError());
            assertEquals("gx;1", b.avp(AvpCodes.SESSION_ID).utf8());
        }
        assertEquals(2, stats.errors());
    }

    @Test
    void silentPeerAndHalfMessageAreClosedAfterTheStallTimeout() throws Exception {
        try (TestPeer silent = new TestPeer(node.port()); TestPeer half = new TestPeer(node.port())) {
            half.handshake();
            byte[] ccr = DiameterCodec.encode(GyRequests.simple(16, "half;1", 4, 0));
            half.write(java.util.Arrays.copyOf(ccr, ccr.length / 2));
            long t0 = System.nanoTime();
            assertTrue(silent.closedByNode(), "no CER");
            assertTrue(half.closedByNode(), "half a message");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 3_000, "closed after " + ms + " ms");
        }
        assertEquals(2, stats.errors());
        assertNodeStillServes();
    }

    @Test
    void idlePeerGetsADwrAndIsClosedWhenItDoesNotAnswer() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            DiameterMessage dwr = p.read(); // after Tw = 400 ms of silence
            assertTrue(dwr.isRequest());
            assertEquals(CommandCodes.DEVICE_WATCHDOG, dwr.commandCode());
            assertEquals("ocs.test.local", dwr.avp(AvpCodes.ORIGIN_HOST).utf8());
            p.answer(dwr);
            DiameterMessage again = p.read(); // answered: the link is fine, next DWR after another Tw
            assertEquals(CommandCodes.DEVICE_WATCHDOG, again.commandCode());
            assertTrue(p.closedByNode(), "no DWA this time: closed after Tw");
        }
        assertEquals(1, stats.errors());
    }

    @Test
    void connectionFloodIsCapped() throws Exception {
        List<TestPeer> peers = new ArrayList<>();
        try {
            for (int i = 0; i < LIMITS.maxConnections(); i++) {
                TestPeer p = new TestPeer(node.port());
                peers.add(p);
                assertEquals(2001, resultCode(p.handshake()));
            }
            try (TestPeer extra = new TestPeer(node.port())) {
                assertTrue(extra.closedByNode(), "over the cap");
            }
        } finally {
            for (TestPeer p : peers) {
                p.close();
            }
        }
        for (int i = 0; i < 100 && node.openConnections() > 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(0, node.openConnections(), "no leaked connection");
        assertNodeStillServes();
    }

    /**
     * A peer that sends and never reads is closed once its unread answers pass the bound, and
     * the answers that never left are not counted as sent: cca_sent and the counts by Result-Code
     * stay those of what went out (they counted every answer decided before).
     */
    @Test
    void answersThatNeverLeaveAreNotCountedAsSent() throws Exception {
        java.net.Socket s = new java.net.Socket();
        s.setReceiveBufferSize(4096); // before the connect: the window stays small
        s.connect(new java.net.InetSocketAddress("127.0.0.1", node.port()), 5_000);
        try (TestPeer p = new TestPeer(s)) {
            assertEquals(2001, resultCode(p.handshake()));
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                batch.add(DiameterCodec.encode(GyRequests.simple(i, "noread;" + i, 4, 0)));
            }
            byte[] thousand = TestPeer.concat(batch);
            // about 60,000 events: their answers are more than the node keeps for a peer plus
            // what the two sockets buffer; bounded in count and in time
            long until = System.currentTimeMillis() + 30_000;
            try {
                for (int i = 0; i < 60 && System.currentTimeMillis() < until && node.openConnections() > 0; i++) {
                    p.write(thousand);
                }
            } catch (IOException closedByTheNode) {
                // expected once the node gives up on this peer
            }
            for (int i = 0; i < 500 && node.openConnections() > 0; i++) {
                Thread.sleep(20);
            }
            assertEquals(0, node.openConnections(), "the peer that does not read is closed");
        }
        Map<String, Object> snap = stats.snapshot();
        long received = (Long) snap.get("ccr_event_received");
        long sent = (Long) snap.get("cca_sent");
        assertTrue(received > 20_000, "enough to pass the bound: " + received);
        assertTrue(sent < received, "answers queued at the close were not sent: " + sent + " of " + received);
        assertEquals(Map.of(2001L, sent), stats.answersByResultCode(), "the counts by Result-Code agree");
        assertNodeStillServes();
    }

    @Test
    void stopSendsDprAndClosesAfterDpa() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.handshake();
            Thread stopper = new Thread(node::stop);
            stopper.start();
            DiameterMessage dpr = p.read();
            assertEquals(CommandCodes.DISCONNECT_PEER, dpr.commandCode());
            assertTrue(dpr.isRequest());
            assertEquals(0, dpr.avp(AvpCodes.DISCONNECT_CAUSE).unsigned32(), "REBOOTING");
            p.answer(dpr);
            assertTrue(p.closedByNode());
            stopper.join(5_000);
            assertFalse(stopper.isAlive());
        }
    }

    @Test
    void randomGarbageNeverKillsTheNode() throws Exception {
        java.util.Random r = new java.util.Random(3868);
        for (int i = 0; i < 30; i++) {
            try (TestPeer p = new TestPeer(node.port())) {
                p.handshake();
                byte[] ccr = DiameterCodec.encode(GyRequests.simple(i, "fuzz;" + i, 1 + r.nextInt(4), 0));
                for (int k = 0; k < 1 + r.nextInt(6); k++) {
                    int at = 20 + r.nextInt(ccr.length - 20); // keep the header sound
                    ccr[at] = (byte) r.nextInt(256);
                }
                p.write(ccr);
                p.socket().setSoTimeout(1500);
                try {
                    DiameterMessage a = p.read();
                    assertEquals(i, a.hopByHop());
                    assertNotNull(a.avp(AvpCodes.RESULT_CODE));
                } catch (IOException | org.gyocs.codec.DiameterDecodeException e) {
                    // closed or timed out are acceptable outcomes of garbage; a dead node is not
                }
            }
        }
        assertNodeStillServes();
        for (int i = 0; i < 100 && node.openConnections() > 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(0, node.openConnections());
    }
}
