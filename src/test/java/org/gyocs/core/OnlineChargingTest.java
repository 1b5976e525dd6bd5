package org.gyocs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.gyocs.core.FinalUnitIndication.FinalUnitAction;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every charging rule, on a real (in-memory H2) balance store. */
class OnlineChargingTest {
    static final String MSISDN = "491711000001";
    static final String IMSI = "001010000000001";
    static final GrantPolicy GRANTS = new GrantPolicy(1000, 60, 10, 5000, 600, 50, 300);

    JdbcBalanceStore store;
    NodeStatistics stats;
    OnlineCharging ocs;

    @BeforeEach
    void open() {
        store = JdbcBalanceStore.open(Stores.freshH2(), null, null, 4);
        stats = new NodeStatistics();
        ocs = new OnlineCharging(ChargingPolicy.of(GRANTS), store, stats);
    }

    @AfterEach
    void close() {
        ocs.close();
        store.close();
    }

    OnlineCharging with(ChargingPolicy p) {
        ocs.close();
        ocs = new OnlineCharging(p, store, stats);
        return ocs;
    }

    void provision(String sub, UnitType unit, long amount, Long rg) {
        store.add(List.of(new Bucket(0, sub, unit, amount, 0, rg, null)), false);
    }

    long balance(String sub) {
        return store.buckets(sub).stream().mapToLong(Bucket::amount).sum();
    }

    static CreditControlRequest ccr(String session, RequestType type, long number, List<ServiceCreditRequest> mscc,
                                    Integer action, SubscriptionId... ids) {
        return new CreditControlRequest(session, "pcef.test", "test", "example.com", 4L, "32251@3gpp.org",
                (long) type.code(), number, List.of(ids.length == 0 ? new SubscriptionId[] {e164()} : ids), action, mscc,
                null, null);
    }

    static SubscriptionId e164() {
        return new SubscriptionId(SubscriptionId.END_USER_E164, MSISDN);
    }

    static ServiceCreditRequest rg(long ratingGroup, ServiceUnits rsu, ServiceUnits usu) {
        return new ServiceCreditRequest(ratingGroup, null, rsu, usu, null);
    }

    /** Sessions kept in a map, as a shared store keeps them for the other nodes. */
    static final class MapSessions implements SharedSessions {
        final java.util.Map<String, SessionState> saved = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public boolean shared() {
            return true;
        }

        @Override
        public java.util.Optional<Loaded> load(String sessionId) {
            return java.util.Optional.ofNullable(saved.get(sessionId)).map(s -> new Loaded(s, true));
        }

        @Override
        public void save(SessionState state) {
            saved.put(state.sessionId(), state);
        }

        @Override
        public boolean heartbeat() {
            return false;
        }

        @Override
        public List<Abandoned> claimAbandoned() {
            return List.of();
        }
    }

    @Test
    void withSharedSessionsNoSessionRequestIsAnsweredOnTheTransportsThread() {
        // a session of a subscriber nobody provisioned: granted by policy, its CCR-U changes no balance
        CreditControlRequest i = ccr("free;1", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(10), null)),
                null, new SubscriptionId(SubscriptionId.END_USER_E164, "490000000009"));
        CreditControlRequest u = ccr("free;1", RequestType.UPDATE, 1, List.of(rg(1, ServiceUnits.octets(10), null)),
                null, new SubscriptionId(SubscriptionId.END_USER_E164, "490000000009"));
        assertEquals(ResultCode.SUCCESS, ocs.answer(i).resultCode());
        assertTrue(ocs.answersAtOnce(u), "nothing to wait for");
        MapSessions shared = new MapSessions();
        ocs.shareSessions(shared);
        assertFalse(ocs.answersAtOnce(u), "its state is read and written in the store: not on an event loop");
        assertFalse(ocs.answersAtOnce(i));
        assertEquals(ResultCode.SUCCESS, ocs.answer(u).resultCode());
        assertEquals(1, shared.saved.get("free;1").lastRequestNumber(), "saved after its answer");
    }

    @Test
    void sessionReservesDebitsAndReleases() {
        provision(MSISDN, UnitType.OCTETS, 10_000, null);
        CreditControlAnswer i = ocs.answer(ccr("s1", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(3000), null)), null));
        assertEquals(2001, i.resultCode());
        assertEquals(new UnitAmount(UnitType.OCTETS, 3000), i.services().get(0).granted());
        assertEquals(300L, i.services().get(0).validityTime());
        assertEquals(7000, store.available(MSISDN, UnitType.OCTETS, 1L));
        CreditControlAnswer u = ocs.answer(ccr("s1", RequestType.UPDATE, 1,
                List.of(rg(1, ServiceUnits.octets(3000), ServiceUnits.octets(2500))), null));
        assertEquals(2001, u.resultCode());
        assertEquals(7500, balance(MSISDN), "2500 debited");
        assertEquals(4500, store.available(MSISDN, UnitType.OCTETS, 1L), "the rest released, 3000 reserved anew");
        CreditControlAnswer t = ocs.answer(ccr("s1", RequestType.TERMINATION, 2, List.of(rg(1, null, ServiceUnits.octets(100))), null));
        assertEquals(2001, t.resultCode());
        assertNull(t.services().get(0).granted());
        assertEquals(7400, balance(MSISDN));
        assertEquals(7400, store.available(MSISDN, UnitType.OCTETS, 1L), "CCR-T releases everything");
        assertEquals(0, ocs.openSessions(), "a terminated session is forgotten at once");
        assertEquals(5002, ocs.answer(ccr("s1", RequestType.UPDATE, 3, List.of(), null)).resultCode());
    }

    @Test
    void drainingTheBalanceEndsWithFinalUnitIndicationThen4012() {
        provision(MSISDN, UnitType.OCTETS, 2500, null);
        CreditControlAnswer i = ocs.answer(ccr("s2", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.EMPTY, null)), null));
        assertEquals(new UnitAmount(UnitType.OCTETS, 1000), i.services().get(0).granted(), "empty RSU: the default");
        assertNull(i.services().get(0).finalUnitIndication());
        CreditControlAnswer u1 = ocs.answer(ccr("s2", RequestType.UPDATE, 1,
                List.of(rg(1, ServiceUnits.octets(5000), ServiceUnits.octets(1000))), null));
        ServiceCreditAnswer last = u1.services().get(0);
        assertEquals(new UnitAmount(UnitType.OCTETS, 1500), last.granted(), "the last of the balance");
        assertEquals(new FinalUnitIndication(FinalUnitAction.TERMINATE, null, null), last.finalUnitIndication());
        CreditControlAnswer u2 = ocs.answer(ccr("s2", RequestType.UPDATE, 2,
                List.of(rg(1, ServiceUnits.octets(5000), ServiceUnits.octets(1500))), null));
        assertEquals(4012, u2.resultCode(), "the only service failed: top level too");
        assertEquals(4012, u2.services().get(0).resultCode());
        assertEquals(0, balance(MSISDN));
    }

    @Test
    void oneExhaustedServiceAmongSeveralFailsAloneAtMsccLevel() {
        provision(MSISDN, UnitType.OCTETS, 500, 10L);
        provision(MSISDN, UnitType.SECONDS, 100, null);
        CreditControlAnswer a = ocs.answer(ccr("s3", RequestType.INITIAL, 0, List.of(
                rg(10, ServiceUnits.octets(400), null),
                rg(20, ServiceUnits.octets(400), null),   // no octets for rg 20
                rg(30, ServiceUnits.seconds(30), null)), null));
        assertEquals(2001, a.resultCode());
        assertEquals(2001, a.services().get(0).resultCode());
        assertEquals(4012, a.services().get(1).resultCode());
        assertNull(a.services().get(1).granted());
        assertEquals(new UnitAmount(UnitType.SECONDS, 30), a.services().get(2).granted());
    }

    @Test
    void redirectAndRestrictFinalUnitActionsAndThresholds() {
        provision(MSISDN, UnitType.OCTETS, 800, null);
        ChargingPolicy redirect = new ChargingPolicy(GRANTS, 600,
                new FinalUnitIndication(FinalUnitAction.REDIRECT, "http://topup.example.com", null), false,
                List.of(0, 1), new QuotaThresholds(10L, 100L, 30L), Set.of());
        CreditControlAnswer a = with(redirect).answer(ccr("s4", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(900), null)), null));
        ServiceCreditAnswer m = a.services().get(0);
        assertEquals(800, m.granted().amount());
        assertEquals(FinalUnitAction.REDIRECT, m.finalUnitIndication().action());
        assertEquals("http://topup.example.com", m.finalUnitIndication().redirectAddress());
        assertEquals(new QuotaThresholds(10L, 100L, 30L), m.thresholds());
    }

    @Test
    void unknownSubscriberGrantOrReject() {
        CreditControlAnswer granted = ocs.answer(ccr("s5", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(99), null)), null));
        assertEquals(2001, granted.resultCode());
        assertEquals(99, granted.services().get(0).granted().amount(), "policy grant, nothing to debit");
        assertEquals(2001, ocs.answer(ccr("s5", RequestType.TERMINATION, 1, List.of(), null)).resultCode());
        ChargingPolicy reject = new ChargingPolicy(GRANTS, 600, ChargingPolicy.DEFAULT.finalUnitIndication(), true,
                List.of(0, 1), null, Set.of());
        assertEquals(5030, with(reject).answer(ccr("s6", RequestType.INITIAL, 0, List.of(), null)).resultCode());
        assertEquals(5030, ocs.answer(ccr("s7", RequestType.EVENT, 0, List.of(), 0)).resultCode());
        provision(MSISDN, UnitType.OCTETS, 100, null);
        assertEquals(2001, ocs.answer(ccr("s8", RequestType.INITIAL, 0, List.of(), null)).resultCode(),
                "provisioned subscribers are charged under either policy");
    }

    @Test
    void subscriptionIdPriorityPicksTheSubscriber() {
        provision(IMSI, UnitType.OCTETS, 100, null);
        SubscriptionId imsi = new SubscriptionId(SubscriptionId.END_USER_IMSI, IMSI);
        CreditControlAnswer a = ocs.answer(ccr("s9", RequestType.EVENT, 0, List.of(), 0, imsi, e164()));
        assertEquals(100, a.granted().amount(), "MSISDN unknown, IMSI found");
        assertEquals(0, balance(IMSI));
    }

    /** Issue 13, item 11: open sessions are capped; beyond, a CCR-I gets 5012 and the others go on. */
    @Test
    void openSessionsAreCappedByMaxSessions() {
        ChargingPolicy two = new ChargingPolicy(GRANTS, 600, ChargingPolicy.DEFAULT.finalUnitIndication(), false,
                List.of(0), null, Set.of(), 2);
        with(two);
        assertEquals(2001, ocs.answer(ccr("cap1", RequestType.INITIAL, 0, List.of(), null)).resultCode());
        assertEquals(2001, ocs.answer(ccr("cap2", RequestType.INITIAL, 0, List.of(), null)).resultCode());
        CreditControlAnswer third = ocs.answer(ccr("cap3", RequestType.INITIAL, 0, List.of(), null));
        assertEquals(5012, third.resultCode());
        assertTrue(third.errorMessage().contains("max-sessions"), third.errorMessage());
        assertEquals(2001, ocs.answer(ccr("cap1", RequestType.UPDATE, 1, List.of(), null)).resultCode(), "open ones go on");
        assertEquals(2001, ocs.answer(ccr("cap1", RequestType.TERMINATION, 2, List.of(), null)).resultCode());
        assertEquals(2001, ocs.answer(ccr("cap3", RequestType.INITIAL, 0, List.of(), null)).resultCode(), "room again");
        assertEquals(2, ocs.openSessions());
    }

    @Test
    void deniedRatingGroupIs5031() {
        provision(MSISDN, UnitType.OCTETS, 1000, null);
        ChargingPolicy p = new ChargingPolicy(GRANTS, 600, ChargingPolicy.DEFAULT.finalUnitIndication(), false,
                List.of(0), null, Set.of(666L));
        CreditControlAnswer a = with(p).answer(ccr("s10", RequestType.INITIAL, 0,
                List.of(rg(666, ServiceUnits.octets(10), null), rg(1, ServiceUnits.octets(10), null)), null));
        assertEquals(2001, a.resultCode());
        assertEquals(5031, a.services().get(0).resultCode());
        assertEquals(2001, a.services().get(1).resultCode());
    }

    @Test
    void retransmissionsAreAnsweredAgainAndNeverDebitedTwice() {
        provision(MSISDN, UnitType.OCTETS, 10_000, null);
        ocs.answer(ccr("s11", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(1000), null)), null));
        CreditControlRequest u = ccr("s11", RequestType.UPDATE, 1, List.of(rg(1, ServiceUnits.octets(1000), ServiceUnits.octets(700))), null);
        CreditControlAnswer first = ocs.answer(u);
        CreditControlAnswer again = ocs.answer(u);
        assertSame(first, again);
        assertEquals(9300, balance(MSISDN), "debited once");
        CreditControlRequest e = ccr("e1", RequestType.EVENT, 0, List.of(rg(1, ServiceUnits.octets(200), null)), 0);
        assertSame(ocs.answer(e), ocs.answer(e));
        assertEquals(9100, balance(MSISDN));
        CreditControlRequest t = ccr("s11", RequestType.TERMINATION, 2, List.of(rg(1, null, ServiceUnits.octets(300))), null);
        assertSame(ocs.answer(t), ocs.answer(t), "a retransmitted CCR-T too");
        assertEquals(8800, balance(MSISDN));
        CreditControlRequest i = ccr("s12", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(1000), null)), null);
        assertSame(ocs.answer(i), ocs.answer(i));
        assertEquals(7800, store.available(MSISDN, UnitType.OCTETS, 1L), "one reservation, not two");
        // another subscriber's event reusing a Session-Id (a careless client) is no retransmission
        provision(IMSI, UnitType.OCTETS, 500, null);
        CreditControlRequest other = ccr("e1", RequestType.EVENT, 0, List.of(rg(1, ServiceUnits.octets(200), null)), 0,
                new SubscriptionId(SubscriptionId.END_USER_IMSI, IMSI));
        assertEquals(2001, ocs.answer(other).resultCode());
        assertEquals(300, balance(IMSI), "charged: not mistaken for e1's retransmission");
    }

    @Test
    void eventsDebitRefundCheckAndPrice() {
        provision(MSISDN, UnitType.UNITS, 30, null);
        List<ServiceCreditRequest> twelve = List.of(rg(5, ServiceUnits.units(12), null));
        CreditControlAnswer debit = ocs.answer(ccr("e2", RequestType.EVENT, 0, twelve, 0));
        assertEquals(2001, debit.resultCode());
        assertEquals(new UnitAmount(UnitType.UNITS, 12), debit.services().get(0).granted());
        assertEquals(18, balance(MSISDN));
        assertEquals(2001, ocs.answer(ccr("e3", RequestType.EVENT, 0, List.of(rg(5, ServiceUnits.units(5), null)), 1)).resultCode());
        assertEquals(23, balance(MSISDN), "refunded");
        CreditControlAnswer enough = ocs.answer(ccr("e4", RequestType.EVENT, 0, List.of(rg(5, ServiceUnits.units(20), null)), 2));
        assertEquals(0, enough.checkBalanceResult(), "ENOUGH_CREDIT");
        CreditControlAnswer short_ = ocs.answer(ccr("e5", RequestType.EVENT, 0, List.of(rg(5, ServiceUnits.units(40), null)), 2));
        assertEquals(1, short_.checkBalanceResult(), "NO_CREDIT");
        CreditControlAnswer price = ocs.answer(ccr("e6", RequestType.EVENT, 0, twelve, 3));
        assertEquals(CostInformation.FREE, price.costInformation(), "no tariffs: free");
        assertEquals(23, balance(MSISDN), "enquiries change nothing");
        CreditControlAnswer rest = ocs.answer(ccr("e7", RequestType.EVENT, 0, List.of(rg(5, ServiceUnits.units(100), null)), 0));
        assertEquals(23, rest.services().get(0).granted().amount(), "capped at the balance (max 50)");
        assertNotNull(rest.services().get(0).finalUnitIndication(), "the last units");
        CreditControlAnswer none = ocs.answer(ccr("e8", RequestType.EVENT, 0, twelve, 0));
        assertEquals(4012, none.resultCode());
        assertEquals(0, balance(MSISDN));
    }

    @Test
    void sessionSilentPastTccIsReleasedAndCounted() throws Exception {
        provision(MSISDN, UnitType.OCTETS, 1000, null);
        ChargingPolicy quick = new ChargingPolicy(GRANTS, 1, ChargingPolicy.DEFAULT.finalUnitIndication(), false,
                List.of(0), null, Set.of());
        with(quick).answer(ccr("s13", RequestType.INITIAL, 0, List.of(rg(1, ServiceUnits.octets(600), null)), null));
        assertEquals(400, store.available(MSISDN, UnitType.OCTETS, 1L));
        assertEquals(1, ocs.openSessions());
        for (int i = 0; i < 50 && ocs.openSessions() > 0; i++) {
            Thread.sleep(100);
        }
        assertEquals(0, ocs.openSessions());
        assertEquals(1000, store.available(MSISDN, UnitType.OCTETS, 1L), "the reservation is back");
        assertEquals(1L, stats.snapshot().get("sessions_expired"));
        assertEquals(5002, ocs.answer(ccr("s13", RequestType.UPDATE, 1, List.of(), null)).resultCode());
    }
}
