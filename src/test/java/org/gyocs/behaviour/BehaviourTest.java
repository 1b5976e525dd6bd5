package org.gyocs.behaviour;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;

import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.ServiceCreditAnswer;
import org.gyocs.core.ServiceCreditRequest;
import org.gyocs.core.ServiceUnits;
import org.gyocs.core.SubscriptionId;
import org.gyocs.core.UnitAmount;
import org.gyocs.core.UnitType;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

/** Which requests a rule matches, how often, and what it changes; no node needed. */
class BehaviourTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Behaviour rule(String json) throws Exception {
        return BehaviourJson.read(JSON.readTree(json));
    }

    private static CreditControlRequest ccr(long type, long number, String subscriber, String host, Long... ratingGroups) {
        List<ServiceCreditRequest> services = new java.util.ArrayList<>();
        for (Long rg : ratingGroups) {
            services.add(new ServiceCreditRequest(rg, null, ServiceUnits.seconds(600), ServiceUnits.seconds(60), null));
        }
        return new CreditControlRequest("s;1", host, "test.local", "test.local", 4L, "32251@3gpp.org", type, number,
                List.of(new SubscriptionId(SubscriptionId.END_USER_IMSI, "001010000000001"),
                        new SubscriptionId(SubscriptionId.END_USER_E164, subscriber)), null, services, null, null);
    }

    @Test
    void matchesEveryFieldItNamesAndNoOther() throws Exception {
        Behaviour.Match m = rule("""
                {"match": {"subscriber": "4917*", "request": "UPDATE", "number": 2, "rating-group": 20,
                           "origin-host": "*.epc.example"}, "answer": {"drop": true}}""").match();
        assertEquals(true, m.matches(ccr(2, 2, "491711", "pgw1.epc.example", 10L, 20L)));
        assertEquals(false, m.matches(ccr(2, 2, "491811", "pgw1.epc.example", 10L, 20L)), "subscriber prefix");
        assertEquals(false, m.matches(ccr(1, 2, "491711", "pgw1.epc.example", 10L, 20L)), "request type");
        assertEquals(false, m.matches(ccr(2, 3, "491711", "pgw1.epc.example", 10L, 20L)), "number");
        assertEquals(false, m.matches(ccr(2, 2, "491711", "pgw1.epc.example", 10L)), "rating group");
        assertEquals(false, m.matches(ccr(2, 2, "491711", "pgw1.other.example", 20L)), "origin host");
        assertEquals(true, rule("{\"match\": {\"subscriber\": \"001010000000001\"}, \"answer\": {\"drop\": true}}").match()
                .matches(ccr(1, 0, "491711", "h", 1L)), "any Subscription-Id, exactly");
        assertEquals(true, rule("{\"answer\": {\"drop\": true}}").match().matches(ccr(4, 0, "x", "h")), "no match: any");
    }

    @Test
    void aRuleStopsAfterItsTimesAndTheFirstMatchingRuleApplies() throws Exception {
        Behaviours all = new Behaviours();
        all.add(rule("{\"id\": \"twice\", \"times\": 2, \"match\": {\"request\": \"UPDATE\"}, \"answer\": {\"result-code\": 5030}}"));
        all.add(rule("{\"answer\": {\"delay-ms\": 10}}"));
        CreditControlRequest u = ccr(2, 1, "4917", "h", 1L);
        assertEquals("twice", all.apply(u).id());
        assertEquals("twice", all.apply(u).id());
        assertEquals("b1", all.apply(u).id(), "used up: the next rule applies");
        assertEquals(2, all.find("twice").orElseThrow().hits());
        assertEquals(2, all.clear());
        assertNull(all.apply(u), "no rule: nothing applies");
    }

    /** mscc-result-code and granted touch only the MSCCs of the rule's rating group. */
    @Test
    void serviceEffectsTouchOnlyTheRatingGroupMatched() throws Exception {
        CreditControlRequest r = ccr(2, 1, "4917", "h", 10L, 20L);
        Behaviour refuse = rule("{\"match\": {\"rating-group\": 20}, \"answer\": {\"mscc-result-code\": 4012}}");
        CreditControlRequest asked = refuse.before(r);
        assertEquals(ServiceUnits.seconds(600), asked.services().get(0).requested());
        assertEquals(ServiceUnits.seconds(0), asked.services().get(1).requested(), "a grant of 0 asked: nothing held");
        assertEquals(ServiceUnits.seconds(60), asked.services().get(1).used(), "the usage is still reported");
        CreditControlAnswer core = new CreditControlAnswer("s;1", 2001, 2L, 1L, null, null, List.of(
                new ServiceCreditAnswer(10L, null, new UnitAmount(UnitType.SECONDS, 600), 3600L, 2001),
                new ServiceCreditAnswer(20L, null, null, null, 2001)), null, null);
        CreditControlAnswer a = refuse.after(core);
        assertEquals(2001, a.resultCode(), "one service still succeeds");
        assertSame(core.services().get(0), a.services().get(0));
        assertEquals(4012, a.services().get(1).resultCode());
        CreditControlAnswer allRefused = rule("{\"answer\": {\"mscc-result-code\": 4012}}").after(core);
        assertEquals(4012, allRefused.resultCode(), "every service refused: the request fails with their code");

        Behaviour grant = rule("{\"match\": {\"rating-group\": 10}, \"answer\": {\"granted\": 30, \"validity-time\": 20,"
                + " \"final-unit-action\": \"RESTRICT_ACCESS\", \"filter-id\": \"walled-garden\"}}");
        assertEquals(ServiceUnits.seconds(30), grant.before(r).services().get(0).requested(), "in the requested unit");
        assertEquals(ServiceUnits.seconds(600), grant.before(r).services().get(1).requested());
        ServiceCreditAnswer changed = grant.after(core).services().get(0);
        assertEquals(20, changed.validityTime());
        assertEquals(new FinalUnitIndication(FinalUnitIndication.FinalUnitAction.RESTRICT_ACCESS, null, "walled-garden"),
                changed.finalUnitIndication());
    }

    @Test
    void whatGetShowsCanBePostedAgain() throws Exception {
        String rule = "{\"id\":\"r\",\"match\":{\"subscriber\":\"4917*\",\"request\":\"UPDATE\",\"number\":3},"
                + "\"times\":2,\"answer\":{\"final-unit-action\":\"REDIRECT\",\"redirect-address\":\"http://x\","
                + "\"reauth-after-ms\":5},\"hits\":0}";
        Behaviour b = rule(rule);
        assertEquals(JSON.readTree(rule).toString(), JSON.writeValueAsString(BehaviourJson.write(b, 0)));
        assertEquals(b, rule(JSON.writeValueAsString(BehaviourJson.write(b, 7))));
    }
}
