package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.header;
import static org.gyocs.testing.GyRequests.mscc;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterCodec;
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
import org.gyocs.testing.Open5gsRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same scenario suite against the jDiameter node and the mock node: every answer must be the
 * same, byte for byte (both copy the identifiers of the request, so even the header matches).
 */
class BothModesAnswerAlikeTest {
    static final GrantPolicy POLICY = new GrantPolicy(500_000, 600, 50, 120);
    static DiameterNode jdiameter;
    static DiameterNode mock;

    @BeforeAll
    static void start() throws Exception {
        NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
        jdiameter = new JDiameterGyNode(s, new CreditControlCore(POLICY), new NodeStatistics());
        mock = new MockGyNode(s, new CreditControlCore(POLICY), new NodeStatistics());
        jdiameter.start();
        mock.start();
    }

    @AfterAll
    static void stop() {
        if (jdiameter != null) {
            jdiameter.stop();
        }
        if (mock != null) {
            mock.stop();
        }
    }

    static List<Avp> without(List<Avp> avps, int code) {
        List<Avp> out = new ArrayList<>(avps);
        out.removeIf(a -> a.code() == code);
        return out;
    }

    static List<Avp> replace(List<Avp> avps, Avp with) {
        List<Avp> out = new ArrayList<>(avps);
        out.replaceAll(a -> a.code() == with.code() ? with : a);
        return out;
    }

    /** Scenario name to request; a session's requests follow each other in order. */
    static Map<String, DiameterMessage> scenarios() {
        Map<String, DiameterMessage> s = new LinkedHashMap<>();
        int h = 500;
        s.put("CCR-I", GyRequests.simple(h++, "both;session", 1, 0));
        s.put("CCR-U", GyRequests.simple(h++, "both;session", 2, 1));
        s.put("CCR-T", GyRequests.simple(h++, "both;session", 3, 2));
        s.put("CCR-E", GyRequests.simple(h++, "both;event", 4, 0));
        List<Avp> several = header("both;several", 4, 0);
        several.add(mscc(10L, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.CC_TIME, 30)), null));
        several.add(mscc(null, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT), null)); // Open5GS
        several.add(mscc(30L, 7L, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT,
                Avp.unsigned64(AvpCodes.CC_SERVICE_SPECIFIC_UNITS, 500)), null));
        several.add(mscc(40L, null, null, GyRequests.usuOctets(99)));
        s.put("several MSCCs", GyRequests.ccr(h++, several));
        s.put("no MSCC", GyRequests.ccr(h++, header("both;top", 4, 0)));
        Function<Integer, DiameterMessage> missing = code -> GyRequests.ccr(500 + code,
                without(GyRequests.simple(0, "both;missing" + code, 1, 0).avps(), code));
        for (int code : new int[] {AvpCodes.SERVICE_CONTEXT_ID, AvpCodes.CC_REQUEST_TYPE, AvpCodes.CC_REQUEST_NUMBER,
                AvpCodes.AUTH_APPLICATION_ID, AvpCodes.ORIGIN_REALM, AvpCodes.DESTINATION_REALM}) {
            s.put("missing AVP " + code, missing.apply(code));
        }
        s.put("CC-Request-Type 7", GyRequests.ccr(h++,
                replace(GyRequests.simple(0, "both;type7", 1, 0).avps(), Avp.unsigned32(AvpCodes.CC_REQUEST_TYPE, 7))));
        s.put("Unsigned32 of 2 bytes", GyRequests.ccr(h++,
                replace(GyRequests.simple(0, "both;short", 4, 0).avps(), Avp.of(AvpCodes.CC_REQUEST_NUMBER, new byte[] {0, 1}))));
        s.put("foreign realm", GyRequests.ccr(h++, replace(GyRequests.simple(0, "both;foreign", 1, 0).avps(),
                Avp.utf8(AvpCodes.DESTINATION_REALM, "elsewhere.example.org"))));
        List<Avp> proxied = GyRequests.simple(0, "both;proxied", 4, 0).avps();
        proxied = new ArrayList<>(proxied);
        proxied.add(Avp.grouped(AvpCodes.PROXY_INFO, Avp.utf8(AvpCodes.PROXY_HOST, "relay.example.org"),
                Avp.of(AvpCodes.PROXY_STATE, new byte[] {1, 2, 3})));
        s.put("Proxy-Info", GyRequests.ccr(h++, proxied));
        List<Avp> huge = header("both;huge", 1, 0);
        huge.add(mscc(40L, null, null, Avp.grouped(AvpCodes.USED_SERVICE_UNIT,
                Avp.of(AvpCodes.CC_INPUT_OCTETS, new byte[] {(byte) 0x80, 0, 0, 0, 0, 0, 0, 1}))));
        s.put("Unsigned64 above 2^63-1", GyRequests.ccr(h++, huge));
        List<Avp> overflow = header("both;overflow", 1, 0);
        overflow.add(mscc(40L, null, null, Avp.grouped(AvpCodes.USED_SERVICE_UNIT,
                Avp.unsigned64(AvpCodes.CC_INPUT_OCTETS, Long.MAX_VALUE),
                Avp.unsigned64(AvpCodes.CC_OUTPUT_OCTETS, 10))));
        s.put("usage adding up past 2^63-1", GyRequests.ccr(h++, overflow));
        s.putAll(open5gs("both"));
        return s;
    }

    /** An Open5GS SMF's sessions, with a CC-Total-Octets request (since 2023) and with an empty one. */
    static Map<String, DiameterMessage> open5gs(String prefix) {
        Map<String, DiameterMessage> s = new LinkedHashMap<>();
        int h = 700;
        for (Long octets : new Long[] {1_000_000L, null}) {
            String id = "smf.localdomain;" + prefix + ";" + (octets == null ? "empty" : "octets");
            for (int type = 1; type <= 3; type++) {
                s.put("Open5GS " + (octets == null ? "empty RSU " : "") + "CCR-" + "IUT".charAt(type - 1),
                        Open5gsRequests.ccr(h++, id, type, type - 1, octets));
            }
        }
        return s;
    }

    /** Open5GS refuses every PDU session whose CCR-I is not answered 2001 (it was 5001 in mock mode). */
    @Test
    void open5gsSessionsAreAnswered2001InBothModes() throws Exception {
        for (DiameterNode node : List.of(jdiameter, mock)) {
            try (TestPeer peer = new TestPeer(node.port())) {
                assertEquals(2001, GyRequests.resultCode(peer.handshake()));
                peer.awaitOpen();
                for (Map.Entry<String, DiameterMessage> e : open5gs(node.getClass().getSimpleName()).entrySet()) {
                    peer.send(e.getValue());
                    DiameterMessage answer = DiameterCodec.decode(read(peer, node.getClass().getSimpleName(), e.getKey()));
                    assertEquals(2001, GyRequests.resultCode(answer), node.getClass().getSimpleName() + " " + e.getKey()
                            + ": " + dump(DiameterCodec.encode(answer)));
                }
            }
        }
    }

    @Test
    void everyScenarioGetsTheSameBytesFromBothModes() throws Exception {
        Map<String, DiameterMessage> scenarios = scenarios();
        try (TestPeer toJdiameter = new TestPeer(jdiameter.port()); TestPeer toMock = new TestPeer(mock.port())) {
            assertEquals(2001, GyRequests.resultCode(toJdiameter.handshake()));
            toJdiameter.awaitOpen();
            assertEquals(2001, GyRequests.resultCode(toMock.handshake()));
            for (Map.Entry<String, DiameterMessage> e : scenarios.entrySet()) {
                toJdiameter.send(e.getValue());
                toMock.send(e.getValue());
                byte[] fromJdiameter = read(toJdiameter, "jdiameter", e.getKey());
                byte[] fromMock = read(toMock, "mock", e.getKey());
                assertArrayEquals(fromJdiameter, fromMock, e.getKey() + ":\n jdiameter " + dump(fromJdiameter)
                        + "\n mock      " + dump(fromMock));
            }
        }
    }

    static byte[] read(TestPeer peer, String mode, String scenario) throws java.io.IOException {
        try {
            return peer.readFrame();
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError(mode + " did not answer scenario '" + scenario + "'", e);
        }
    }

    static String dump(byte[] b) {
        try {
            DiameterMessage m = DiameterCodec.decode(b);
            StringBuilder sb = new StringBuilder("flags=" + Integer.toHexString(m.flags()));
            for (Avp a : m.avps()) {
                sb.append(' ').append(a.code()).append('/').append(Integer.toHexString(a.flags())).append(':')
                        .append(HexFormat.of().formatHex(a.data()));
            }
            return sb.toString();
        } catch (Exception e) {
            return HexFormat.of().formatHex(b);
        }
    }

    /**
     * Issue 10, item 2: jDiameter once answered a CCR without Destination-Realm (5005 without
     * Failed-AVP) and one for a foreign realm (3003) itself, outside the statistics; mock mode
     * answered the foreign realm 2001. Both now answer alike (the scenarios above compare the
     * bytes) and count every answer they send.
     */
    @Test
    void everyAnswerIsCountedInBothModes() throws Exception {
        for (boolean isMock : new boolean[] {true, false}) {
            NodeStatistics stats = new NodeStatistics();
            NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                    Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
            DiameterNode n = isMock ? new MockGyNode(s, new CreditControlCore(POLICY), stats)
                    : new JDiameterGyNode(s, new CreditControlCore(POLICY), stats);
            n.start();
            try (TestPeer p = new TestPeer(n.port())) {
                assertEquals(2001, GyRequests.resultCode(p.handshake()));
                p.awaitOpen();
                for (int i = 0; i < 3; i++) {
                    DiameterMessage foreign = GyRequests.ccr(10 + i, replace(GyRequests.simple(0, "count;f" + i, 4, 0).avps(),
                            Avp.utf8(AvpCodes.DESTINATION_REALM, "elsewhere.example.org")));
                    assertEquals(3003, GyRequests.resultCode(p.request(foreign)));
                }
                DiameterMessage noRealm = GyRequests.ccr(20, without(GyRequests.simple(0, "count;n", 4, 0).avps(),
                        AvpCodes.DESTINATION_REALM));
                DiameterMessage answer = p.request(noRealm);
                assertEquals(5005, GyRequests.resultCode(answer));
                assertEquals(AvpCodes.DESTINATION_REALM, answer.avp(AvpCodes.FAILED_AVP).group().get(0).code(),
                        "with Failed-AVP");
                assertEquals(2001, GyRequests.resultCode(p.request(GyRequests.simple(21, "count;ok", 4, 0))));
            } finally {
                n.stop();
            }
            assertEquals(java.util.Map.of(3003L, 3L, 5005L, 1L, 2001L, 1L),
                    stats.snapshot().get(NodeStatistics.ANSWERS_BY_RESULT_CODE), isMock ? "mock" : "jdiameter");
            assertEquals(5L, stats.snapshot().get(NodeStatistics.CCA_SENT));
            // a 3003 answers a request read whole: received like the 5005 and the 2001 (it was
            // once in CCA Sent and Errors, and in no CCR Received line)
            assertEquals(5L, stats.snapshot().get(NodeStatistics.CCR_EVENT_RECEIVED), isMock ? "mock" : "jdiameter");
            assertEquals(4L, stats.snapshot().get(NodeStatistics.ERRORS), isMock ? "mock" : "jdiameter");
        }
    }

    /**
     * A PCEF configured with the wrong realm sends every request so: 3003 was a WARN line per
     * request. Now one line a second, which says how many more came; the stop logs the rest.
     */
    @Test
    void aFloodOfRequestsForAnotherRealmIsOneLineASecond() throws Exception {
        for (boolean isMock : new boolean[] {true, false}) {
            NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                    Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
            DiameterNode n = isMock ? new MockGyNode(s, new CreditControlCore(POLICY), new NodeStatistics())
                    : new JDiameterGyNode(s, new CreditControlCore(POLICY), new NodeStatistics());
            List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
            org.apache.logging.log4j.core.Logger logger = (org.apache.logging.log4j.core.Logger)
                    org.apache.logging.log4j.LogManager.getLogger(GyPipeline.class);
            org.apache.logging.log4j.core.Appender appender = new org.apache.logging.log4j.core.appender.AbstractAppender(
                    "realm-flood", null, null, true, org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
                @Override
                public void append(org.apache.logging.log4j.core.LogEvent event) {
                    String m = event.getMessage().getFormattedMessage();
                    if (m.contains("3003")) {
                        lines.add(m);
                    }
                }
            };
            appender.start();
            logger.addAppender(appender);
            int sent = 60;
            long started = System.nanoTime();
            n.start();
            try (TestPeer p = new TestPeer(n.port())) {
                assertEquals(2001, GyRequests.resultCode(p.handshake()));
                p.awaitOpen();
                for (int i = 0; i < sent; i++) {
                    DiameterMessage foreign = GyRequests.ccr(10 + i, replace(GyRequests.simple(0, "flood;" + i, 4, 0).avps(),
                            Avp.utf8(AvpCodes.DESTINATION_REALM, "elsewhere.example.org")));
                    assertEquals(3003, GyRequests.resultCode(p.request(foreign)));
                }
            } finally {
                n.stop();
                logger.removeAppender(appender);
            }
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;
            String mode = isMock ? "mock" : "jdiameter";
            assertTrue(lines.size() >= 2 && lines.size() <= seconds + 3, mode + ": " + lines);
            assertTrue(lines.get(0).contains(" from raw.test.local"
                    + " for realm elsewhere.example.org refused: this node serves test.local"), mode + ": " + lines.get(0));
            // every refusal is in a line: the first, the "more" of the later ones, the stop's rest
            long counted = 0;
            for (String line : lines) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) more").matcher(line);
                counted += m.find() ? Long.parseLong(m.group(1)) + (line.startsWith("CCR of session") ? 1 : 0) : 1;
            }
            assertEquals(sent, counted, mode + ": " + lines);
        }
    }
}
