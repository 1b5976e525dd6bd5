package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
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
import org.gyocs.testing.RawDiameter;
import org.jdiameter.api.Answer;
import org.junit.jupiter.api.Test;

/** Faults around the jDiameter node: a failing core, a peer that must receive our DPR. */
class JDiameterGyNodeFaultTest {
    static NodeSettings settings() {
        return new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, GrantPolicy.DEFAULT,
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
        try (Socket s = new Socket("127.0.0.1", node.port())) {
            s.setSoTimeout(5000);
            RawDiameter.write(s.getOutputStream(), RawDiameter.cer("raw.test.local", "test.local"));
            RawDiameter.Message cea = RawDiameter.read(s.getInputStream());
            assertEquals(RawDiameter.CER, cea.command());
            assertEquals(2001, cea.u32(268));
            assertEquals(4, cea.u32(258), "the CEA advertises Gy");
            Thread stopper = new Thread(node::stop);
            stopper.start();
            RawDiameter.Message dpr = RawDiameter.read(s.getInputStream());
            assertTrue(dpr.isRequest());
            assertEquals(RawDiameter.DPR, dpr.command());
            RawDiameter.write(s.getOutputStream(), RawDiameter.answer(dpr, "raw.test.local", "test.local"));
            stopper.join(10_000);
        } finally {
            node.stop();
        }
    }
}
