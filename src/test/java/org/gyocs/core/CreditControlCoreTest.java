package org.gyocs.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CreditControlCoreTest {
    private static final GrantPolicy POLICY = new GrantPolicy(1000, 60, 10, 300);
    private final CreditControlCore core = new CreditControlCore(POLICY);

    static CreditControlRequest ccr(long type, List<ServiceCreditRequest> services, ServiceUnits topLevelRsu) {
        return new CreditControlRequest("s;1", "pcef.test", "test", "example.com", 4L, "32251@3gpp.org", type, 0L,
                List.of(new SubscriptionId(SubscriptionId.END_USER_E164, "4917000")), null, services, topLevelRsu, null);
    }

    static ServiceCreditRequest mscc(Long rg, Long si, ServiceUnits rsu, ServiceUnits usu) {
        return new ServiceCreditRequest(rg, si, rsu, usu, null);
    }

    @Test
    void grantsTheSmallerOfRequestAndDefaultPerMscc() {
        CreditControlAnswer a = core.answer(ccr(1, List.of(
                mscc(100L, 1L, ServiceUnits.octets(400), null),
                mscc(200L, 2L, ServiceUnits.octets(5000), null)), null));
        assertEquals(ResultCode.SUCCESS, a.resultCode());
        assertEquals(2, a.services().size());
        assertEquals(new ServiceCreditAnswer(100L, 1L, new UnitAmount(UnitType.OCTETS, 400), 300L, 2001),
                a.services().get(0));
        assertEquals(new ServiceCreditAnswer(200L, 2L, new UnitAmount(UnitType.OCTETS, 1000), 300L, 2001),
                a.services().get(1));
        assertNull(a.granted(), "no top-level grant when MSCCs are present");
        assertEquals(1L, a.requestTypeCode());
        assertEquals(0L, a.requestNumber());
        assertEquals("s;1", a.sessionId());
    }

    @Test
    void emptyRequestedServiceUnitWithoutRatingGroupGetsTheDefaultOctets() {
        // What Open5GS sends: one MSCC, an empty RSU, no Rating-Group, no Service-Identifier.
        CreditControlAnswer a = core.answer(ccr(1, List.of(mscc(null, null, ServiceUnits.EMPTY, null)), null));
        assertEquals(new ServiceCreditAnswer(null, null, new UnitAmount(UnitType.OCTETS, 1000), 300L, 2001),
                a.services().get(0));
    }

    @ParameterizedTest
    @CsvSource({
        "SECONDS, 30, 30", "SECONDS, 90, 60", "UNITS, 3, 3", "UNITS, 99, 10", "OCTETS, 0, 0"})
    void grantsInTheUnitRequested(UnitType type, long asked, long expected) {
        ServiceUnits rsu = new UnitAmount(type, asked).toServiceUnits();
        CreditControlAnswer a = core.answer(ccr(2, List.of(mscc(7L, null, rsu, null)), null));
        assertEquals(new UnitAmount(type, expected), a.services().get(0).granted());
    }

    @Test
    void inputAndOutputOctetsAreGrantedAsTotalOctets() {
        ServiceUnits rsu = new ServiceUnits(null, null, 300L, 200L, null);
        CreditControlAnswer a = core.answer(ccr(1, List.of(mscc(1L, null, rsu, null)), null));
        assertEquals(new UnitAmount(UnitType.OCTETS, 500), a.services().get(0).granted());
    }

    @Test
    void msccWithoutRequestedServiceUnitReportsUsageOnly() {
        CreditControlAnswer a = core.answer(ccr(2, List.of(mscc(100L, null, null, ServiceUnits.octets(50))), null));
        assertEquals(new ServiceCreditAnswer(100L, null, null, null, 2001), a.services().get(0));
    }

    @Test
    void ccrWithoutMsccGetsATopLevelGrant() {
        CreditControlAnswer a = core.answer(ccr(4, List.of(), ServiceUnits.seconds(20)));
        assertEquals(new UnitAmount(UnitType.SECONDS, 20), a.granted());
        assertEquals(300L, a.validityTime());
        assertTrue(a.services().isEmpty());
        CreditControlAnswer noRsu = core.answer(ccr(1, List.of(), null));
        assertEquals(new UnitAmount(UnitType.OCTETS, 1000), noRsu.granted());
    }

    @Test
    void terminationGrantsNothing() {
        CreditControlAnswer a = core.answer(ccr(3, List.of(mscc(100L, 1L, null, ServiceUnits.octets(10))), null));
        assertEquals(2001, a.resultCode());
        assertEquals(new ServiceCreditAnswer(100L, 1L, null, null, 2001), a.services().get(0));
        CreditControlAnswer top = core.answer(ccr(3, List.of(), null));
        assertNull(top.granted());
        assertNull(top.validityTime());
    }

    @ParameterizedTest
    @CsvSource({
        "sessionId, 263", "originHost, 264", "originRealm, 296", "destinationRealm, 283",
        "authApplicationId, 258", "serviceContextId, 461", "requestTypeCode, 416", "requestNumber, 415"})
    void missingMandatoryAvpIsAnswered5005WithFailedAvp(String field, int code) {
        CreditControlRequest r = without(ccr(1, List.of(), null), field);
        CreditControlAnswer a = core.answer(r);
        assertEquals(ResultCode.MISSING_AVP, a.resultCode());
        assertEquals(code, a.failedAvp().code());
        boolean numeric = code == 258 || code == 416 || code == 415;
        assertArrayEquals(numeric ? new byte[4] : new byte[0], a.failedAvp().data(), "a minimal example value");
        assertTrue(a.services().isEmpty());
        assertNull(a.granted());
        assertEquals(a, core.validate(r).orElseThrow());
    }

    @Test
    void outOfRangeRequestTypeIsAnswered5004WithTheValue() {
        CreditControlAnswer a = core.answer(ccr(7, List.of(), null));
        assertEquals(ResultCode.INVALID_AVP_VALUE, a.resultCode());
        assertEquals(new FailedAvp(416, new byte[] {0, 0, 0, 7}), a.failedAvp());
        assertEquals(7L, a.requestTypeCode(), "echoed as received");
    }

    @Test
    void otherApplicationIdIsAnswered5004() {
        CreditControlRequest r = ccr(1, List.of(), null);
        r = new CreditControlRequest(r.sessionId(), r.originHost(), r.originRealm(), r.destinationRealm(), 16777238L,
                r.serviceContextId(), r.requestTypeCode(), r.requestNumber(), r.subscriptionIds(), null, r.services(),
                null, null);
        assertEquals(ResultCode.INVALID_AVP_VALUE, core.answer(r).resultCode());
    }

    @Test
    void soundRequestPassesValidation() {
        assertTrue(core.validate(ccr(1, List.of(), null)).isEmpty());
    }

    @Test
    void policyRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new GrantPolicy(0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new GrantPolicy(1, 1, 1, 0));
    }

    @Test
    void statisticsCountByTypeAndResultCode() {
        NodeStatistics s = new NodeStatistics();
        s.requestReceived(RequestType.INITIAL);
        s.requestReceived(RequestType.EVENT);
        s.requestReceived(null);
        s.answerSent(2001);
        s.answerSent(5005);
        s.answerSent(2001);
        s.error();
        var m = s.snapshot();
        assertEquals(1L, m.get("ccr_initial_received"));
        assertEquals(0L, m.get("ccr_update_received"));
        assertEquals(1L, m.get("ccr_event_received"));
        assertEquals(3L, m.get("cca_sent"));
        assertEquals(1L, m.get("errors"));
        assertEquals(java.util.Map.of(2001L, 2L, 5005L, 1L), m.get("answers_by_result_code"));
        assertTrue(s.report().contains("CCR Initial Received:    1\n"), s.report());
        assertTrue(s.report().contains("CCA Sent:                3\n"), s.report());
    }

    private static CreditControlRequest without(CreditControlRequest r, String field) {
        return new CreditControlRequest(
                field.equals("sessionId") ? null : r.sessionId(),
                field.equals("originHost") ? null : r.originHost(),
                field.equals("originRealm") ? null : r.originRealm(),
                field.equals("destinationRealm") ? null : r.destinationRealm(),
                field.equals("authApplicationId") ? null : r.authApplicationId(),
                field.equals("serviceContextId") ? null : r.serviceContextId(),
                field.equals("requestTypeCode") ? null : r.requestTypeCode(),
                field.equals("requestNumber") ? null : r.requestNumber(),
                r.subscriptionIds(), r.requestedAction(), r.services(), r.requested(), r.used());
    }
}
