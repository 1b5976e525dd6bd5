package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.core.CreditControlCore;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.PeerAllowList;
import org.gyocs.node.TransportLimits;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 10: jDiameter mode has mock mode's limits, with the same options. An audit's
 * 300 idle connections made 300 threads, none closed without a CER within 70 s, and a message
 * announcing 16 MB was read into a growing buffer (3.4 s of CPU per MB).
 */
class JDiameterLimitsTest {
    static final TransportLimits LIMITS = new TransportLimits(4096, 3, 30_000, 500);
    JDiameterGyNode node;
    NodeStatistics stats;

    @BeforeEach
    void start() throws Exception {
        stats = new NodeStatistics();
        node = new JDiameterGyNode(new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, LIMITS, PeerAllowList.ANY),
                new CreditControlCore(GrantPolicy.DEFAULT), stats);
        node.start();
    }

    @AfterEach
    void stop() {
        node.stop();
    }

    void assertServes() throws Exception {
        try (TestPeer good = new TestPeer(node.port())) {
            assertEquals(2001, GyRequests.resultCode(good.handshake()));
            good.awaitOpen();
            assertEquals(2001, GyRequests.resultCode(good.request(GyRequests.simple(5, "good;" + System.nanoTime(), 4, 0))));
        }
    }

    @Test
    void aMessageOverTheLimitIsClosedBeforeItIsRead() throws Exception {
        try (TestPeer p = new TestPeer(node.port())) {
            p.write(ByteBuffer.allocate(4).putInt(1 << 24 | 0xFFFFFC).array()); // announces 16 MB
            assertTrue(p.closedByNode());
        }
        try (TestPeer p = new TestPeer(node.port())) {
            p.write(ByteBuffer.allocate(8).putInt(0x02000014).putInt(0).array()); // version 2
            assertTrue(p.closedByNode());
        }
        assertServes();
    }

    @Test
    void aPeerWithoutCerOrWithHalfAMessageIsClosedAfterTheStallTimeout() throws Exception {
        long t0 = System.nanoTime();
        try (TestPeer silent = new TestPeer(node.port()); TestPeer half = new TestPeer(node.port())) {
            assertEquals(2001, GyRequests.resultCode(half.handshake()));
            half.write(ByteBuffer.allocate(8).putInt(1 << 24 | 200).putInt(0x80000110).array()); // 8 of 200 bytes
            assertTrue(silent.closedByNode(), "no CER");
            assertTrue(half.closedByNode(), "half a message");
        }
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 5_000, "within the stall timeout, not jDiameter's 2 minutes");
        assertServes();
    }

    @Test
    void connectionsBeyondTheMaximumAreClosedAtOnce() throws Exception {
        List<TestPeer> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                TestPeer p = new TestPeer(node.port());
                // distinct peers: jDiameter keeps one connection per Origin-Host
                assertEquals(2001, GyRequests.resultCode(p.handshake("p" + i + ".test.local")));
                open.add(p);
            }
            try (TestPeer fourth = new TestPeer(node.port())) {
                assertTrue(fourth.closedByNode());
            }
        } finally {
            for (TestPeer p : open) {
                p.close();
            }
        }
        Thread.sleep(300); // the closed ones no longer count
        assertServes();
        assertTrue(stats.errors() >= 1, "counted");
    }

    /** Mock mode's fuzz test, against jDiameter mode: garbage in a CCR never kills the node. */
    @Test
    void randomGarbageNeverKillsTheNode() throws Exception {
        java.util.Random r = new java.util.Random(3868);
        for (int i = 0; i < 20; i++) {
            try (TestPeer p = new TestPeer(node.port())) {
                assertEquals(2001, GyRequests.resultCode(p.handshake("fuzz" + i + ".test.local")));
                byte[] ccr = org.gyocs.codec.DiameterCodec.encode(GyRequests.simple(i, "fuzz;" + i, 1 + r.nextInt(4), 0));
                for (int k = 0; k < 1 + r.nextInt(6); k++) {
                    int at = 20 + r.nextInt(ccr.length - 20); // keep the header sound
                    ccr[at] = (byte) r.nextInt(256);
                }
                p.write(ccr);
                p.socket().setSoTimeout(1500);
                try {
                    p.read();
                } catch (java.io.IOException | org.gyocs.codec.DiameterDecodeException e) {
                    // closed or timed out are acceptable outcomes of garbage; a dead node is not
                }
            }
        }
        assertServes();
    }

    /**
     * The reader takes several messages from one read, a message split over two writes, and one
     * longer than its 64 KiB read buffer; each is answered, in the order sent.
     */
    @Test
    void messagesTogetherSplitOrLongerThanTheReadBufferAreAllAnswered() throws Exception {
        NodeStatistics wideStats = new NodeStatistics();
        JDiameterGyNode wide = new JDiameterGyNode(new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, new TransportLimits(200_000, 3, 30_000, 2_000),
                PeerAllowList.ANY), new CreditControlCore(GrantPolicy.DEFAULT), wideStats);
        wide.start();
        try (TestPeer p = new TestPeer(wide.port())) {
            assertEquals(2001, GyRequests.resultCode(p.handshake()));
            p.awaitOpen();
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                batch.add(org.gyocs.codec.DiameterCodec.encode(GyRequests.simple(100 + i, "batch;" + i, 4, 0)));
            }
            List<org.gyocs.codec.Avp> avps = GyRequests.header("long;1", 4, 0);
            // not mandatory and unknown: ignored by the answer, but 100,000 bytes to read
            avps.add(new org.gyocs.codec.Avp(99_999, 0, 0, new byte[100_000]));
            batch.add(org.gyocs.codec.DiameterCodec.encode(GyRequests.ccr(120, avps)));
            p.write(TestPeer.concat(batch));
            byte[] split = org.gyocs.codec.DiameterCodec.encode(GyRequests.simple(121, "split;1", 4, 0));
            p.write(java.util.Arrays.copyOf(split, 30));
            Thread.sleep(100);
            p.write(java.util.Arrays.copyOfRange(split, 30, split.length));
            for (int i = 0; i < 22; i++) {
                org.gyocs.codec.DiameterMessage answer = p.read();
                assertEquals(100 + i, answer.hopByHop());
                assertEquals(2001, GyRequests.resultCode(answer));
            }
        } finally {
            wide.stop();
        }
        assertEquals(0, wideStats.errors());
    }
}
