package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.client.GyTestClient;
import org.gyocs.core.RequestType;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpDataException;
import org.jdiameter.api.AvpSet;
import org.jdiameter.api.Request;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The jDiameter node answering a real jDiameter peer over TCP on an ephemeral port. */
class JDiameterGyNodeTest {
    static final String MSISDN = "491700000001";
    static GyDiameterApplication app;
    static GyTestClient client;

    @BeforeAll
    static void start() throws Exception {
        app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).host("ocs.test.local").realm("test.local")
                .config(Path.of("config/jdiameter-config.xml")).defaultOctets(500_000).validityTime(120)
                .store(org.gyocs.testing.Stores.freshH2()).build();
        app.start(false);
        client = new GyTestClient("127.0.0.1", app.getPort(), "pcef.test.local", "test.local", 5000);
        client.connect();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (app != null) {
            app.stop();
        }
    }

    static long u32(AvpSet set, int code) throws AvpDataException {
        Avp a = set.getAvp(code);
        assertNotNull(a, "AVP " + code + " missing");
        return a.getUnsigned32();
    }

    static List<Integer> codes(AvpSet set) {
        List<Integer> codes = new ArrayList<>();
        for (Avp a : set) {
            codes.add(a.getCode());
        }
        return codes;
    }

    @Test
    void sessionInitialUpdateTerminate() throws Exception {
        String sid = client.newSessionId();
        Answer i = client.send(client.creditControlRequest(sid, RequestType.INITIAL, 0, MSISDN));
        // RFC 4006 3.2 order: Session-Id, Result-Code, Origin-Host, Origin-Realm, Auth-Application-Id,
        // CC-Request-Type, CC-Request-Number, then the MSCC.
        assertEquals(List.of(263, 268, 264, 296, 258, 416, 415, 456), codes(i.getAvps()));
        assertEquals(sid, i.getAvps().getAvp(Avp.SESSION_ID).getUTF8String());
        assertEquals(2001, u32(i.getAvps(), Avp.RESULT_CODE));
        assertEquals("ocs.test.local", i.getAvps().getAvp(Avp.ORIGIN_HOST).getDiameterIdentity());
        assertEquals("test.local", i.getAvps().getAvp(Avp.ORIGIN_REALM).getDiameterIdentity());
        assertEquals(4, u32(i.getAvps(), Avp.AUTH_APPLICATION_ID));
        assertEquals(1, i.getAvps().getAvp(Avp.CC_REQUEST_TYPE).getInteger32());
        assertEquals(0, u32(i.getAvps(), Avp.CC_REQUEST_NUMBER));
        assertTrue(i.getAvps().getAvp(Avp.RESULT_CODE).isMandatory());
        AvpSet mscc = i.getAvps().getAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL).getGrouped();
        assertEquals(List.of(431, 439, 432, 448, 268), codes(mscc));
        // the client asks 1048576, the default is 500000: the smaller is granted
        assertEquals(500_000, mscc.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TOTAL_OCTETS).getUnsigned64());
        assertEquals(8, mscc.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TOTAL_OCTETS).getRaw().length);
        assertEquals(100, u32(mscc, Avp.RATING_GROUP));
        assertEquals(1, u32(mscc, Avp.SERVICE_IDENTIFIER_CCA));
        assertEquals(120, u32(mscc, Avp.VALIDITY_TIME));
        assertEquals(2001, u32(mscc, Avp.RESULT_CODE));

        Answer u = client.send(client.creditControlRequest(sid, RequestType.UPDATE, 1, MSISDN));
        assertEquals(2001, u32(u.getAvps(), Avp.RESULT_CODE));
        assertEquals(2, u.getAvps().getAvp(Avp.CC_REQUEST_TYPE).getInteger32());
        assertEquals(1, u32(u.getAvps(), Avp.CC_REQUEST_NUMBER));
        assertNotNull(u.getAvps().getAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL).getGrouped().getAvp(Avp.GRANTED_SERVICE_UNIT));

        Answer t = client.send(client.creditControlRequest(sid, RequestType.TERMINATION, 2, MSISDN));
        assertEquals(2001, u32(t.getAvps(), Avp.RESULT_CODE));
        assertEquals(3, t.getAvps().getAvp(Avp.CC_REQUEST_TYPE).getInteger32());
        AvpSet tm = t.getAvps().getAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL).getGrouped();
        assertNull(tm.getAvp(Avp.GRANTED_SERVICE_UNIT), "a CCR-T gets no grant");
        assertNull(tm.getAvp(Avp.VALIDITY_TIME));

        // the session is closed: a further update is unknown to the stack
        Answer after = client.send(client.creditControlRequest(sid, RequestType.UPDATE, 3, MSISDN));
        assertEquals(5002, u32(after.getAvps(), Avp.RESULT_CODE));
    }

    @Test
    void event() throws Exception {
        Answer e = client.send(client.creditControlRequest(client.newSessionId(), RequestType.EVENT, 0, MSISDN));
        assertEquals(2001, u32(e.getAvps(), Avp.RESULT_CODE));
        assertEquals(4, e.getAvps().getAvp(Avp.CC_REQUEST_TYPE).getInteger32());
        AvpSet mscc = e.getAvps().getAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL).getGrouped();
        assertEquals(500_000, mscc.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TOTAL_OCTETS).getUnsigned64());
    }

    @Test
    void severalMsccsEachGetTheirOwnAnswerInTheirUnit() throws Exception {
        Request r = bare(client.newSessionId(), RequestType.INITIAL);
        AvpSet time = r.getAvps().addGroupedAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, true, false);
        time.addGroupedAvp(Avp.REQUESTED_SERVICE_UNIT, true, false).addAvp(Avp.CC_TIME, 30L, true, false, true);
        time.addAvp(Avp.RATING_GROUP, 10L, true, false, true);
        // Open5GS: an empty RSU and no Rating-Group
        AvpSet empty = r.getAvps().addGroupedAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, true, false);
        empty.addGroupedAvp(Avp.REQUESTED_SERVICE_UNIT, true, false);
        AvpSet units = r.getAvps().addGroupedAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, true, false);
        units.addGroupedAvp(Avp.REQUESTED_SERVICE_UNIT, true, false).addAvp(Avp.CC_SERVICE_SPECIFIC_UNITS, 5L, true, false);
        units.addAvp(Avp.SERVICE_IDENTIFIER_CCA, 7L, true, false, true);
        units.addAvp(Avp.RATING_GROUP, 30L, true, false, true);

        Answer a = client.send(r);
        assertEquals(2001, u32(a.getAvps(), Avp.RESULT_CODE));
        AvpSet msccs = a.getAvps().getAvps(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL);
        assertEquals(3, msccs.size());
        AvpSet m0 = msccs.getAvpByIndex(0).getGrouped();
        assertEquals(30, m0.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TIME).getUnsigned32());
        assertEquals(10, u32(m0, Avp.RATING_GROUP));
        AvpSet m1 = msccs.getAvpByIndex(1).getGrouped();
        assertEquals(500_000, m1.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TOTAL_OCTETS).getUnsigned64());
        assertNull(m1.getAvp(Avp.RATING_GROUP), "no Rating-Group asked, none echoed");
        AvpSet m2 = msccs.getAvpByIndex(2).getGrouped();
        assertEquals(5, m2.getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_SERVICE_SPECIFIC_UNITS).getUnsigned64());
        assertEquals(7, u32(m2, Avp.SERVICE_IDENTIFIER_CCA));
        assertEquals(30, u32(m2, Avp.RATING_GROUP));
    }

    @Test
    void ccrWithoutMsccGetsTopLevelGrant() throws Exception {
        Answer a = client.send(bare(client.newSessionId(), RequestType.EVENT));
        assertEquals(2001, u32(a.getAvps(), Avp.RESULT_CODE));
        assertNull(a.getAvps().getAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL));
        assertEquals(500_000, a.getAvps().getAvp(Avp.GRANTED_SERVICE_UNIT).getGrouped().getAvp(Avp.CC_TOTAL_OCTETS).getUnsigned64());
        assertEquals(120, u32(a.getAvps(), Avp.VALIDITY_TIME));
    }

    @ParameterizedTest
    @ValueSource(ints = {Avp.SERVICE_CONTEXT_ID, Avp.CC_REQUEST_TYPE, Avp.CC_REQUEST_NUMBER, Avp.AUTH_APPLICATION_ID})
    void missingMandatoryAvpOnANewSessionIsAnswered5005(int code) throws Exception {
        long errorsBefore = (Long) app.getStatistics().get("errors");
        Request r = client.creditControlRequest(client.newSessionId(), RequestType.INITIAL, 0, MSISDN);
        r.getAvps().removeAvp(code);
        Answer a = client.send(r);
        assertEquals(5005, u32(a.getAvps(), Avp.RESULT_CODE));
        AvpSet failed = a.getAvps().getAvp(Avp.FAILED_AVP).getGrouped();
        assertEquals(code, failed.getAvpByIndex(0).getCode());
        assertNotNull(a.getAvps().getAvp(Avp.ORIGIN_HOST));
        assertEquals(errorsBefore + 1, (Long) app.getStatistics().get("errors"));
    }

    @Test
    void missingRequestNumberOnAnOpenSessionIsAnswered5005AndTheSessionLivesOn() throws Exception {
        String sid = client.newSessionId();
        assertEquals(2001, u32(client.send(client.creditControlRequest(sid, RequestType.INITIAL, 0, MSISDN)).getAvps(),
                Avp.RESULT_CODE));
        Request broken = client.creditControlRequest(sid, RequestType.UPDATE, 1, MSISDN);
        broken.getAvps().removeAvp(Avp.CC_REQUEST_NUMBER);
        Answer a = client.send(broken);
        assertEquals(5005, u32(a.getAvps(), Avp.RESULT_CODE));
        assertEquals(Avp.CC_REQUEST_NUMBER, a.getAvps().getAvp(Avp.FAILED_AVP).getGrouped().getAvpByIndex(0).getCode());
        assertEquals(2001, u32(client.send(client.creditControlRequest(sid, RequestType.UPDATE, 1, MSISDN)).getAvps(),
                Avp.RESULT_CODE));
        assertEquals(2001, u32(client.send(client.creditControlRequest(sid, RequestType.TERMINATION, 2, MSISDN)).getAvps(),
                Avp.RESULT_CODE));
    }

    @Test
    void outOfRangeRequestTypeIsAnswered5004() throws Exception {
        Request r = client.creditControlRequest(client.newSessionId(), RequestType.INITIAL, 0, MSISDN);
        r.getAvps().removeAvp(Avp.CC_REQUEST_TYPE);
        r.getAvps().addAvp(Avp.CC_REQUEST_TYPE, 7, true, false);
        Answer a = client.send(r);
        assertEquals(5004, u32(a.getAvps(), Avp.RESULT_CODE));
        Avp failed = a.getAvps().getAvp(Avp.FAILED_AVP).getGrouped().getAvpByIndex(0);
        assertEquals(Avp.CC_REQUEST_TYPE, failed.getCode());
        assertEquals(7, failed.getInteger32());
    }

    @Test
    void undecodableAvpIsAnswered5004() throws Exception {
        Request r = client.creditControlRequest(client.newSessionId(), RequestType.EVENT, 0, MSISDN);
        r.getAvps().removeAvp(Avp.CC_REQUEST_NUMBER);
        r.getAvps().addAvp(Avp.CC_REQUEST_NUMBER, new byte[] {1, 2}, true, false); // Unsigned32 of 2 bytes
        Answer a = client.send(r);
        assertEquals(5004, u32(a.getAvps(), Avp.RESULT_CODE));
        assertEquals(Avp.CC_REQUEST_NUMBER, a.getAvps().getAvp(Avp.FAILED_AVP).getGrouped().getAvpByIndex(0).getCode());
    }

    @Test
    void updateOfAnUnknownSessionIsAnswered5002() throws Exception {
        Answer a = client.send(client.creditControlRequest(client.newSessionId(), RequestType.UPDATE, 1, MSISDN));
        assertEquals(5002, u32(a.getAvps(), Avp.RESULT_CODE));
    }

    @Test
    void statisticsCountRequestsAndAnswers() throws Exception {
        Map<String, Object> before = app.getStatistics();
        String sid = client.newSessionId();
        client.send(client.creditControlRequest(sid, RequestType.INITIAL, 0, MSISDN));
        client.send(client.creditControlRequest(sid, RequestType.UPDATE, 1, MSISDN));
        client.send(client.creditControlRequest(sid, RequestType.TERMINATION, 2, MSISDN));
        client.send(client.creditControlRequest(client.newSessionId(), RequestType.EVENT, 0, MSISDN));
        Map<String, Object> after = app.getStatistics();
        for (String key : List.of("ccr_initial_received", "ccr_update_received", "ccr_terminate_received", "ccr_event_received")) {
            assertEquals((Long) before.get(key) + 1, (Long) after.get(key), key);
        }
        assertEquals((Long) before.get("cca_sent") + 4, (Long) after.get("cca_sent"));
    }

    /** A CCR with the mandatory AVPs only: no MSCC, no Subscription-Id. */
    static Request bare(String sid, RequestType type) throws Exception {
        Request r = client.newRequest(sid);
        r.getAvps().addAvp(Avp.SERVICE_CONTEXT_ID, GyTestClient.SERVICE_CONTEXT_GY, true, false, false);
        r.getAvps().addAvp(Avp.CC_REQUEST_TYPE, type.code(), true, false);
        r.getAvps().addAvp(Avp.CC_REQUEST_NUMBER, 0L, true, false, true);
        return r;
    }
}
