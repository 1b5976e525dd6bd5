package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.gy.jdiameter.JDiameterGyNode;
import org.gyocs.gy.nio.MockGyNode;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Requests built to hurt (issue 13, items 11 and 12), against both modes: deep nesting, a
 * flood of MSCCs. Each gets a clear answer, the connection goes on, and the node keeps serving.
 */
class HostileRequestsTest {

    static DiameterNode node(boolean mock) throws Exception {
        NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
        CreditControlCore core = new CreditControlCore(GrantPolicy.DEFAULT);
        DiameterNode n = mock ? new MockGyNode(s, core, new NodeStatistics()) : new JDiameterGyNode(s, core, new NodeStatistics());
        n.start();
        return n;
    }

    /** Service-Information nested in itself {@code depth} times: each level a known grouped AVP. */
    static Avp nested(int depth) {
        byte[] inner = new byte[0];
        for (int i = 0; i < depth; i++) {
            ByteBuffer b = ByteBuffer.allocate(12 + inner.length);
            b.putInt(873).putInt((0x80 | 0x40) << 24 | (12 + inner.length)).putInt((int) AvpCodes.VENDOR_3GPP).put(inner);
            inner = b.array();
        }
        return Avp.vendor(873, AvpCodes.VENDOR_3GPP, java.util.Arrays.copyOfRange(inner, 12, inner.length));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void groupsNestedThousandsDeepAreRefusedAndTheNodeServesOn(boolean mock) throws Exception {
        DiameterNode n = node(mock);
        try (TestPeer p = new TestPeer(n.port())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            List<Avp> avps = GyRequests.header("deep;1", 4, 0);
            avps.add(nested(5_000)); // 60 KB, under the 64 KB message limit
            DiameterMessage a = p.request(GyRequests.ccr(1, avps));
            if (mock) {
                assertEquals(5004, resultCode(a), "deeper than " + AvpCodes.MAX_GROUP_DEPTH + " levels");
            } else {
                // jDiameter reads only the AVPs it is asked for, so the nesting costs it nothing
                assertEquals(2001, resultCode(a));
            }
            // a realistic depth is fine
            List<Avp> ok = GyRequests.header("deep;2", 4, 0);
            ok.add(nested(6));
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(2, ok))));
            for (int i = 0; i < 5; i++) { // the same connection, and its loop, go on
                assertEquals(2001, resultCode(p.request(GyRequests.simple(10 + i, "deep;after" + i, 4, 0))));
            }
        } finally {
            n.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void moreThanSixtyFourMsccsAre5009(boolean mock) throws Exception {
        DiameterNode n = node(mock);
        try (TestPeer p = new TestPeer(n.port())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            List<Avp> avps = GyRequests.header("many;1", 1, 0);
            for (int i = 0; i <= CreditControlCore.MAX_SERVICES; i++) {
                avps.add(GyRequests.mscc((long) i, null, GyRequests.rsuOctets(1000), null));
            }
            DiameterMessage a = p.request(GyRequests.ccr(1, avps));
            assertEquals(5009, resultCode(a));
            assertEquals(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL, a.avp(AvpCodes.FAILED_AVP).group().get(0).code());
            List<Avp> enough = GyRequests.header("many;2", 1, 0);
            for (int i = 0; i < CreditControlCore.MAX_SERVICES; i++) {
                enough.add(GyRequests.mscc((long) i, null, GyRequests.rsuOctets(1000), null));
            }
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(2, enough))));
        } finally {
            n.stop();
        }
    }
}
