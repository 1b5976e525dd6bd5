package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;

import org.gyocs.client.GyTestClient;
import org.gyocs.core.CreditControl;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.testing.TestPeer;
import org.jdiameter.api.Answer;
import org.junit.jupiter.api.Test;

/** Faults around the jDiameter node: a failing core, a peer that must receive our DPR. */
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

    @Test
    void stopSendsDprToAConnectedPeer() throws Exception {
        JDiameterGyNode node = new JDiameterGyNode(settings(), new CreditControlCore(GrantPolicy.DEFAULT),
                new NodeStatistics());
        node.start();
        try (TestPeer peer = new TestPeer(node.port())) {
            DiameterMessage cea = peer.handshake();
            assertEquals(TestPeer.CER, cea.commandCode());
            assertEquals(2001, cea.avp(AvpCodes.RESULT_CODE).unsigned32());
            assertEquals(4, cea.avp(AvpCodes.AUTH_APPLICATION_ID).unsigned32(), "the CEA advertises Gy");
            peer.awaitOpen(); // jDiameter sends DPR only to peers it has marked OKAY, just after the CEA
            Thread stopper = new Thread(node::stop);
            stopper.start();
            DiameterMessage dpr = peer.read();
            assertTrue(dpr.isRequest());
            assertEquals(TestPeer.DPR, dpr.commandCode());
            peer.answer(dpr);
            stopper.join(10_000);
        } finally {
            node.stop();
        }
    }
}
