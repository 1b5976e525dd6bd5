package org.gyocs.core;

import static org.gyocs.core.RatedChargingTest.ccr;
import static org.gyocs.core.RatedChargingTest.rg;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import org.gyocs.core.rating.TariffBook;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.UsageRecords;
import org.gyocs.store.UsageRecords.Line;
import org.gyocs.store.UsageRecords.UsageRecord;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rated usage records on each kind of store: one per finished session (CCR-T, Tcc, an RAA 5002)
 * and per balance-changing event, with its lines per rating group, the cost of each, the final
 * Result-Code and the termination cause; the lines add up to the debits.
 */
class UsageRecordsTest {
    static final String MSISDN = RatedChargingTest.MSISDN;
    JdbcBalanceStore store;
    OnlineCharging ocs;

    void open(String kind, long tccSeconds) throws Exception {
        store = JdbcBalanceStore.open(Stores.fresh(kind), null, null, 4);
        ChargingPolicy p = ChargingPolicy.of(RatedChargingTest.GRANTS);
        ocs = new OnlineCharging(new ChargingPolicy(p.grants(), tccSeconds, p.finalUnitIndication(), false,
                p.subscriptionIdPriority(), p.thresholds(), Set.of()), store, new NodeStatistics());
        ocs.tariffs(new TariffBook(TariffCsv.parse(RatedChargingTest.TARIFFS.lines().toList(), "t"), ZoneOffset.UTC));
    }

    @AfterEach
    void close() {
        if (ocs != null) {
            ocs.close();
            store.close();
        }
    }

    /** The records, once the store has them in its database (the embedded node writes back within a second). */
    List<UsageRecord> records(int expected) throws InterruptedException {
        List<UsageRecord> r = List.of();
        for (int i = 0; i < 100; i++) {
            r = store.usage(MSISDN, Instant.EPOCH, Instant.now().plusSeconds(60), 100);
            if (r.size() >= expected && r.stream().allMatch(x -> x.ended() != null)) {
                break;
            }
            Thread.sleep(50);
        }
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aFinishedSessionLeavesOneRecordWithItsRatingGroupsUnitsAndCost(String kind) throws Exception {
        open(kind, 600);
        store.add(List.of(new Bucket(0, MSISDN, UnitType.OCTETS, 5_000, 0, 2L, null),
                new Bucket(0, MSISDN, UnitType.MONEY, 100, 0, null, null)), false);
        Instant before = Instant.now().minusMillis(1);
        ocs.answer(ccr("s1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(20_000), null),
                rg(2, ServiceUnits.octets(20_000), null)));
        ocs.answer(ccr("s1", RequestType.UPDATE, 1, null, null, rg(1, ServiceUnits.octets(20_000), ServiceUnits.octets(12_345)),
                rg(2, ServiceUnits.octets(20_000), ServiceUnits.octets(7_000))));
        CreditControlRequest t = new CreditControlRequest("s1", "pcef.test", "test", "example.com", 4L, "32251@3gpp.org",
                3L, 2L, List.of(new SubscriptionId(SubscriptionId.END_USER_E164, MSISDN)), null,
                List.of(rg(1, null, ServiceUnits.octets(1_000)), rg(2, null, ServiceUnits.octets(0))), null, null, false,
                "pcef.test", null, 1);
        assertEquals(2001, ocs.answer(t).resultCode());
        List<UsageRecord> all = records(1);
        assertEquals(1, all.size(), all.toString());
        UsageRecord r = all.get(0);
        assertEquals(UsageNote.SESSION, r.kind());
        assertEquals("s1", r.sessionId());
        assertEquals("pcef.test", r.peer());
        assertTrue(!r.started().isBefore(before) && !r.ended().isBefore(r.started()), r.toString());
        assertEquals(2001L, r.resultCode());
        assertEquals("DIAMETER_LOGOUT", r.terminationCause());
        // rating group 1: 13,345 octets paid, 13 + 1 cents (each report rounded up); rating group 2:
        // 7,000 octets, 5,000 from its unit bucket and 2,000 paid: 2 cents
        assertEquals(List.of(new Line(1L, "octets", 13_345, 14, "EUR"), new Line(2L, "octets", 7_000, 2, "EUR")), r.lines());
        assertEquals(100 - 16, store.buckets(MSISDN).stream().filter(b -> b.unit() == UnitType.MONEY)
                .mapToLong(Bucket::amount).sum(), "the lines' cost is what was debited");
        String csv = UsageRecords.csv(all);
        assertTrue(csv.startsWith(UsageRecords.CSV_HEADER + "\n"), csv);
        assertTrue(csv.contains(",session," + MSISDN + ",s1,pcef.test,"), csv);
        assertTrue(csv.contains(",2001,DIAMETER_LOGOUT,1,octets,13345,14,EUR\n"), csv);
        assertTrue(store.usage("491799999999", Instant.EPOCH, Instant.now().plusSeconds(60), 10).isEmpty());
    }

    /**
     * The store's part alone: a line kept with the change it goes with, once, whatever made the
     * change run again under its change key (a retransmission on another node, a batch run again
     * after a commit whose outcome was unknown). On PostgreSQL the lines of a group commit are
     * written beside its one call of ocs_apply, from what that call says it made.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aLineIsKeptOnceWithItsChangeEvenWhenTheChangeRunsAgain(String kind) throws Exception {
        open(kind, 600);
        store.add(List.of(new Bucket(0, MSISDN, UnitType.MONEY, 1_000, 0, null, null)), false);
        Instant expires = Instant.now().plusSeconds(600);
        UsageNote rec = UsageNote.of(UsageNote.SESSION, null, MSISDN, "s9", "pcef.test", Instant.now());
        assertEquals(400, store.reserve(MSISDN, UnitType.MONEY, 1L, 400, "s9|k", expires, "ck1").reserved());
        for (int i = 0; i < 2; i++) { // a CCR-U in CC-Money: settled and reserved again in one change
            assertEquals(400, store.settleAndReserve(MSISDN, UnitType.MONEY, 1L, "s9|k", 250, 400, expires, "ck2",
                    rec.line(1L, UnitType.MONEY, 250, false, "EUR")).reserved());
        }
        for (int i = 0; i < 2; i++) { // its CCR-T
            assertEquals(100, store.settle(MSISDN, UnitType.MONEY, 1L, "s9|k", 100, "ck3",
                    rec.line(1L, UnitType.MONEY, 100, false, "EUR")));
        }
        store.recordUsage(rec.end(Instant.now(), 2001L, "DIAMETER_LOGOUT"));
        List<UsageRecord> all = records(1);
        assertEquals(1, all.size(), all.toString());
        assertEquals(List.of(new Line(1L, "money", 350, 350, "EUR")), all.get(0).lines(),
                "each change's line once, its cost what the change debited");
        assertEquals("DIAMETER_LOGOUT", all.get(0).terminationCause());
        assertEquals(650, store.available(MSISDN, UnitType.MONEY, 1L));
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aSessionSilentPastTccIsRecordedWhenItIsReleased(String kind) throws Exception {
        open(kind, 1);
        store.add(List.of(new Bucket(0, MSISDN, UnitType.SECONDS, 600, 0, null, null)), false);
        ocs.answer(ccr("t1", RequestType.INITIAL, 0, null, null, rg(5, ServiceUnits.seconds(60), null)));
        ocs.answer(ccr("t1", RequestType.UPDATE, 1, null, null, rg(5, ServiceUnits.seconds(60), ServiceUnits.seconds(42))));
        Thread.sleep(1_200);
        ocs.superviseSessions();
        assertEquals(0, ocs.openSessions());
        UsageRecord r = records(1).get(0);
        assertEquals("TCC_EXPIRED", r.terminationCause());
        assertNull(r.resultCode(), "no answer ended it");
        assertEquals(List.of(new Line(5L, "seconds", 42, 0, "EUR")), r.lines(), "all from the unit bucket: no cost");
        assertEquals(558, store.available(MSISDN, UnitType.SECONDS, 5L), "released");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void eachBalanceChangingEventLeavesOneRecordEvenRetransmitted(String kind) throws Exception {
        open(kind, 600);
        store.add(List.of(new Bucket(0, MSISDN, UnitType.MONEY, 50, 0, null, null)), false);
        CreditControlRequest debit = ccr("e1", RequestType.EVENT, 0, 0, null, rg(1, ServiceUnits.octets(30_000), null));
        assertEquals(2001, ocs.answer(debit).resultCode());
        CreditControlRequest again = new CreditControlRequest("e1", "pcef.test", "test", "example.com", 4L, "32251@3gpp.org",
                4L, 0L, debit.subscriptionIds(), 0, debit.services(), null, null, true, null, null, null);
        ocs.close();
        ocs = new OnlineCharging(ChargingPolicy.of(RatedChargingTest.GRANTS), store, new NodeStatistics()); // forgets its cache
        ocs.tariffs(new TariffBook(TariffCsv.parse(RatedChargingTest.TARIFFS.lines().toList(), "t"), ZoneOffset.UTC));
        assertEquals(2001, ocs.answer(again).resultCode(), "the T-bit retransmission, after a restart");
        ocs.answer(ccr("e2", RequestType.EVENT, 0, 1, null, rg(1, ServiceUnits.octets(5_000), null)));
        ocs.answer(ccr("e3", RequestType.EVENT, 0, 3, null, rg(1, ServiceUnits.octets(5_000), null)));
        CreditControlAnswer refused = ocs.answer(ccr("e4", RequestType.EVENT, 0, 0, null, rg(7, ServiceUnits.octets(100_000), null)));
        List<UsageRecord> all = records(3);
        assertEquals(3, all.size(), "a debit (once), a refund and a debit; a price enquiry changes nothing: " + all);
        UsageRecord e1 = all.stream().filter(x -> x.sessionId().equals("e1")).findFirst().orElseThrow();
        assertEquals(UsageNote.EVENT, e1.kind());
        assertEquals(2001L, e1.resultCode());
        assertEquals(List.of(new Line(1L, "octets", 30_000, 30, "EUR")), e1.lines(), "charged once");
        UsageRecord e2 = all.stream().filter(x -> x.sessionId().equals("e2")).findFirst().orElseThrow();
        assertEquals(UsageNote.REFUND, e2.kind());
        assertEquals(List.of(new Line(1L, "octets", 5_000, 5, "EUR")), e2.lines(), "credited");
        UsageRecord e4 = all.stream().filter(x -> x.sessionId().equals("e4")).findFirst().orElseThrow();
        // 25 cents left buy 8,333 octets of rating group 7 (3 cents per 1,000): 25 cents
        assertEquals(refused.services().get(0).granted().amount(), e4.lines().get(0).units());
        assertEquals(25, e4.lines().get(0).cost());
        assertNotNull(e4.ended());
        assertEquals(0, store.buckets(MSISDN).get(0).amount(), "50 - 30 + 5 - 25");
    }
}
