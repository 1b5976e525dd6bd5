package org.gyocs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Currency;
import java.util.List;

import org.gyocs.core.rating.TariffBook;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rating in the core, on each kind of store (portable SQL on H2, the embedded node's ledger in
 * memory, PostgreSQL's functions): grants bought with money, usage paid for, rounding, unit
 * buckets before money, 4012 and Final-Unit-Indication, CC-Money, bands and split usage, events.
 * Every balance is checked to the minor unit afterwards.
 */
class RatedChargingTest {
    static final String MSISDN = "491700000001";
    static final Currency EUR = Currency.getInstance("EUR");
    /** default 1,000 octets, at most 100,000; Validity-Time 300 s */
    static final GrantPolicy GRANTS = new GrantPolicy(1_000, 60, 10, 100_000, 3_600, 100, 300);
    /** 1 cent per 1,000 octets, 10 cents a minute; gold: half the price of data */
    static final String TARIFFS = """
            plan,rating_group,unit,price,per,currency
            default,,octets,1,1000,EUR
            default,,seconds,10,60,EUR
            default,7,octets,3,1000,EUR
            gold,,octets,1,2000,EUR
            """;

    JdbcBalanceStore store;
    OnlineCharging ocs;

    void open(String kind, String tariffs) throws Exception {
        store = JdbcBalanceStore.open(Stores.fresh(kind), null, null, 4);
        ocs = new OnlineCharging(ChargingPolicy.of(GRANTS), store, new NodeStatistics());
        if (kind.equals("postgres")) {
            // as a node on PostgreSQL: sessions shared, a CCR-I's and a CCR-T's changes given
            // early and committed with their session's state (SharedSessions#together)
            ocs.shareSessions(store.sharedSessions("ocs-a.test", java.time.Duration.ofSeconds(30)));
        }
        ocs.tariffs(new TariffBook(TariffCsv.parse(tariffs.lines().toList(), "test"), ZoneOffset.UTC));
    }

    @AfterEach
    void close() {
        if (ocs != null) {
            ocs.close();
            store.close();
        }
    }

    void provision(UnitType unit, long amount, Long rg) {
        store.add(List.of(new Bucket(0, MSISDN, unit, amount, 0, rg, null)), false);
    }

    long amount(UnitType unit) {
        return store.buckets(MSISDN).stream().filter(b -> b.unit() == unit).mapToLong(Bucket::amount).sum();
    }

    long free(UnitType unit) {
        return store.buckets(MSISDN).stream().filter(b -> b.unit() == unit).mapToLong(b -> b.amount() - b.reserved()).sum();
    }

    static CreditControlRequest ccr(String session, RequestType type, long number, Integer action, Integer aoc,
                                    ServiceCreditRequest... mscc) {
        return new CreditControlRequest(session, "pcef.test", "test", "example.com", 4L, "32251@3gpp.org",
                (long) type.code(), number, List.of(new SubscriptionId(SubscriptionId.END_USER_E164, MSISDN)), action,
                List.of(mscc), null, null, false, null, aoc, null);
    }

    static ServiceCreditRequest rg(long ratingGroup, ServiceUnits rsu, ServiceUnits usu) {
        return new ServiceCreditRequest(ratingGroup, null, rsu, usu, null);
    }

    /** A band boundary a few minutes ahead, within a grant's Validity-Time (300 s). */
    static Instant soon() {
        return Instant.now().truncatedTo(ChronoUnit.MINUTES).plus(3, ChronoUnit.MINUTES);
    }

    /** Octets at {@code before} cents per 1,000 until {@code change} (UTC), at {@code after} from then, for 12 h each. */
    static String bands(Instant change, long before, long after) {
        LocalTime at = LocalTime.ofInstant(change, ZoneOffset.UTC);
        return "plan,rating_group,unit,price,per,currency,from,to\n"
                + "default,,octets," + before + ",1000,EUR," + at.minusHours(12) + "," + at + "\n"
                + "default,,octets," + after + ",1000,EUR," + at + "," + at.plusHours(12) + "\n";
    }

    static UnitAmount octets(long n) {
        return new UnitAmount(UnitType.OCTETS, n);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void moneyBuysTheGrantAndPaysForTheUsageRoundedUp(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 50, null);
        CreditControlAnswer i = ocs.answer(ccr("m1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(30_000), null)));
        assertEquals(octets(30_000), i.services().get(0).granted(), "30 cents buy 30,000 octets");
        assertEquals(20, free(UnitType.MONEY), "30 cents held");
        CreditControlAnswer u1 = ocs.answer(ccr("m1", RequestType.UPDATE, 1, null, null,
                rg(1, ServiceUnits.octets(30_000), ServiceUnits.octets(12_345))));
        assertEquals(37, amount(UnitType.MONEY), "12,345 octets cost 12.345 cents: 13 debited");
        assertEquals(octets(30_000), u1.services().get(0).granted());
        assertNull(u1.services().get(0).finalUnitIndication());
        assertEquals(7, free(UnitType.MONEY));
        CreditControlAnswer u2 = ocs.answer(ccr("m1", RequestType.UPDATE, 2, null, null,
                rg(1, ServiceUnits.octets(30_000), ServiceUnits.octets(30_000))));
        assertEquals(7, amount(UnitType.MONEY));
        assertEquals(octets(7_000), u2.services().get(0).granted(), "what the last 7 cents buy");
        assertNotNull(u2.services().get(0).finalUnitIndication(), "the last grant of the money");
        CreditControlAnswer t = ocs.answer(ccr("m1", RequestType.TERMINATION, 3, null, 2,
                rg(1, null, ServiceUnits.octets(7_500))));
        assertEquals(2001, t.resultCode());
        assertEquals(0, amount(UnitType.MONEY), "8 cents of usage, 7 left: never below zero");
        // AoC: what the session's usage cost, 8 cents for the last 7,500 octets although 7 were left
        assertEquals(CostInformation.of(13 + 30 + 8, EUR, null), t.costInformation());
        assertEquals(new CostInformation(51, -2, 978, null), t.costInformation());
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void theRatingGroupsUnitBucketsAreSpentBeforeMoney(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.OCTETS, 10_000, 1L);
        provision(UnitType.OCTETS, 4_000, 2L); // another rating group's: not this one's
        provision(UnitType.MONEY, 100, null);
        CreditControlAnswer i = ocs.answer(ccr("u1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(25_000), null)));
        assertEquals(octets(25_000), i.services().get(0).granted(), "10,000 from units, 15,000 bought");
        assertEquals(85, free(UnitType.MONEY));
        ocs.answer(ccr("u1", RequestType.UPDATE, 1, null, null, rg(1, ServiceUnits.octets(5_000), ServiceUnits.octets(12_000))));
        assertEquals(4_000, amount(UnitType.OCTETS), "the rating group's 10,000 octets used first");
        assertEquals(98, amount(UnitType.MONEY), "then 2,000 octets paid: 2 cents");
        CreditControlAnswer t = ocs.answer(ccr("u1", RequestType.TERMINATION, 2, null, null, rg(1, null, ServiceUnits.octets(0))));
        assertNull(t.costInformation(), "no AoC asked");
        assertEquals(98, free(UnitType.MONEY), "everything released");
        assertEquals(4_000, free(UnitType.OCTETS));
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void whenTheMoneyRunsOutTheLastGrantCarriesFinalUnitIndicationThen4012(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 2, null);
        // rating group 7: 3 cents per 1,000 octets
        CreditControlAnswer i = ocs.answer(ccr("r1", RequestType.INITIAL, 0, null, null, rg(7, ServiceUnits.octets(1_000), null)));
        assertEquals(octets(666), i.services().get(0).granted(), "2 cents buy 666 octets (rounded down)");
        assertNotNull(i.services().get(0).finalUnitIndication());
        CreditControlAnswer u = ocs.answer(ccr("r1", RequestType.UPDATE, 1, null, null,
                rg(7, ServiceUnits.octets(1_000), ServiceUnits.octets(666))));
        assertEquals(0, amount(UnitType.MONEY), "666 octets cost 1.998 cents: 2");
        assertEquals(4012, u.services().get(0).resultCode());
        assertEquals(4012, u.resultCode());
        assertNull(u.services().get(0).granted());
        provision(UnitType.MONEY, 1, null); // less than 1,000 octets cost: 333 octets
        CreditControlAnswer again = ocs.answer(ccr("r1", RequestType.UPDATE, 2, null, null, rg(7, ServiceUnits.octets(1_000), null)));
        assertEquals(octets(333), again.services().get(0).granted());
        CreditControlAnswer none = ocs.answer(ccr("r2", RequestType.INITIAL, 0, null, null, rg(7, ServiceUnits.octets(1_000), null)));
        assertEquals(4012, none.services().get(0).resultCode(), "what is held is not spent twice");
        ocs.answer(ccr("r1", RequestType.TERMINATION, 3, null, null, rg(7, null, ServiceUnits.octets(0))));
        assertEquals(1, free(UnitType.MONEY), "released: nothing held for nothing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aRequestForCcMoneyIsGrantedInCcMoney(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 500, null);
        ServiceUnits twoEuros = new ServiceUnits(null, null, null, null, null, 200L, 978);
        CreditControlAnswer i = ocs.answer(ccr("c1", RequestType.INITIAL, 0, null, null, rg(1, twoEuros, null)));
        assertEquals(new UnitAmount(UnitType.MONEY, 200, EUR, null), i.services().get(0).granted());
        assertEquals(300, free(UnitType.MONEY));
        CreditControlAnswer t = ocs.answer(ccr("c1", RequestType.TERMINATION, 1, null, 1,
                rg(1, null, new ServiceUnits(null, null, null, null, null, 150L, 978))));
        assertEquals(350, amount(UnitType.MONEY));
        assertEquals(new CostInformation(150, -2, 978, null), t.costInformation(), "AoC: the money used");
        assertEquals(350, free(UnitType.MONEY));
        ServiceUnits dollars = new ServiceUnits(null, null, null, null, null, 200L, 840);
        CreditControlAnswer usd = ocs.answer(ccr("c2", RequestType.INITIAL, 0, null, null, rg(1, dollars, null)));
        assertEquals(5031, usd.services().get(0).resultCode(), "not the plan's currency: DIAMETER_RATING_FAILED");
        assertEquals(350, free(UnitType.MONEY));
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aBandEndingWithinTheGrantIsAnnouncedAndSplitUsagePricedOnEachSide(String kind) throws Exception {
        Instant change = soon();
        open(kind, bands(change, 5, 1));
        provision(UnitType.MONEY, 1_000, null);
        CreditControlAnswer i = ocs.answer(ccr("b1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        assertEquals(new UnitAmount(UnitType.OCTETS, 10_000, null, change), i.services().get(0).granted(),
                "Tariff-Time-Change: the band ends within the Validity-Time");
        assertEquals(950, free(UnitType.MONEY), "held at the price in force: 5 cents per 1,000");
        ServiceCreditRequest split = new ServiceCreditRequest(1L, null, null, ServiceUnits.octets(10_000), null,
                ServiceUnits.octets(4_000));
        ocs.answer(ccr("b1", RequestType.TERMINATION, 1, null, null, split));
        assertEquals(1_000 - 30 - 4, amount(UnitType.MONEY), "6,000 octets before at 5, 4,000 after at 1");
        CreditControlAnswer i2 = ocs.answer(ccr("b2", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        ocs.answer(ccr("b2", RequestType.TERMINATION, 1, null, null, rg(1, null, ServiceUnits.octets(10_000))));
        assertEquals(change, i2.services().get(0).granted().tariffTimeChange());
        assertEquals(966 - 50, amount(UnitType.MONEY), "not split: all at the band in force when granted");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void eventsArePricedDebitedRefundedAndChecked(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 100, null);
        CreditControlAnswer price = ocs.answer(ccr("e1", RequestType.EVENT, 0, 3, null, rg(1, ServiceUnits.octets(12_345), null)));
        assertEquals(new CostInformation(13, -2, 978, "12345 octets"), price.costInformation());
        CreditControlAnswer big = ocs.answer(ccr("e1b", RequestType.EVENT, 0, 3, null, rg(1, ServiceUnits.octets(5_000_000), null)));
        assertEquals(new CostInformation(5_000, -2, 978, "5000000 octets"), big.costInformation(),
                "the units asked, beyond the maximum grant");
        CreditControlAnswer enough = ocs.answer(ccr("e2", RequestType.EVENT, 0, 2, null, rg(1, ServiceUnits.octets(100_000), null)));
        assertEquals(0, enough.checkBalanceResult(), "ENOUGH_CREDIT: 100 cents buy 100,000 octets");
        CreditControlAnswer debit = ocs.answer(ccr("e3", RequestType.EVENT, 0, 0, null, rg(1, ServiceUnits.octets(30_000), null)));
        assertEquals(octets(30_000), debit.services().get(0).granted());
        assertEquals(70, amount(UnitType.MONEY));
        ocs.answer(ccr("e4", RequestType.EVENT, 0, 1, null, rg(1, ServiceUnits.octets(10_000), null)));
        assertEquals(80, amount(UnitType.MONEY), "a refund of 10,000 octets: 10 cents");
        CreditControlAnswer short_ = ocs.answer(ccr("e5", RequestType.EVENT, 0, 2, null, rg(1, ServiceUnits.octets(100_000), null)));
        assertEquals(1, short_.checkBalanceResult(), "NO_CREDIT");
        CreditControlAnswer rest = ocs.answer(ccr("e6", RequestType.EVENT, 0, 0, null, rg(1, ServiceUnits.octets(100_000), null)));
        assertEquals(octets(80_000), rest.services().get(0).granted(), "what the money buys");
        assertNotNull(rest.services().get(0).finalUnitIndication());
        assertEquals(0, amount(UnitType.MONEY));
        assertEquals(4012, ocs.answer(ccr("e7", RequestType.EVENT, 0, 0, null, rg(1, ServiceUnits.octets(1), null)))
                .services().get(0).resultCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void theSubscribersPlanPicksItsTariffs(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 10, null);
        assertEquals(octets(10_000), ocs.answer(ccr("p1", RequestType.INITIAL, 0, null, null,
                rg(1, ServiceUnits.octets(50_000), null))).services().get(0).granted(), "default: 1 cent per 1,000");
        ocs.answer(ccr("p1", RequestType.TERMINATION, 1, null, null, rg(1, null, ServiceUnits.octets(0))));
        store.setPlan(MSISDN, "gold");
        assertEquals(octets(20_000), ocs.answer(ccr("p2", RequestType.INITIAL, 0, null, null,
                rg(1, ServiceUnits.octets(50_000), null))).services().get(0).granted(), "gold: 1 cent per 2,000");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aGrantBoughtWithMoneyIsPaidInMoneyAndUnitsToppedUpServeTheNextGrant(String kind) throws Exception {
        open(kind, TARIFFS);
        provision(UnitType.MONEY, 100, null);
        ocs.answer(ccr("t1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        assertEquals(90, free(UnitType.MONEY));
        provision(UnitType.OCTETS, 50_000, 1L); // a top-up of units while the grant runs
        CreditControlAnswer u = ocs.answer(ccr("t1", RequestType.UPDATE, 1, null, null,
                rg(1, ServiceUnits.octets(10_000), ServiceUnits.octets(5_000))));
        assertEquals(octets(10_000), u.services().get(0).granted());
        assertEquals(95, amount(UnitType.MONEY), "the grant was bought: its usage is paid in money");
        assertEquals(95, free(UnitType.MONEY), "the next grant comes from the units: no money held");
        ocs.answer(ccr("t1", RequestType.TERMINATION, 2, null, null, rg(1, null, ServiceUnits.octets(10_000))));
        assertEquals(40_000, amount(UnitType.OCTETS));
        assertEquals(95, amount(UnitType.MONEY));
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aGrantWithinWhichThePriceRisesIsBoughtAtTheDearerPrice(String kind) throws Exception {
        Instant change = soon();
        open(kind, bands(change, 1, 5));
        provision(UnitType.MONEY, 30, null);
        CreditControlAnswer i = ocs.answer(ccr("d1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        assertEquals(new UnitAmount(UnitType.OCTETS, 6_000, null, change), i.services().get(0).granted(),
                "30 cents buy 6,000 octets at 5 per 1,000, whichever side of the change they are used on");
        ServiceCreditRequest allAfter = new ServiceCreditRequest(1L, null, null, ServiceUnits.octets(6_000), null,
                ServiceUnits.octets(6_000));
        ocs.answer(ccr("d1", RequestType.TERMINATION, 1, null, null, allAfter));
        assertEquals(0, amount(UnitType.MONEY), "paid in full: nothing lost to the operator");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void aSessionOpenedBeforeTheTariffsStaysUnpriced(String kind) throws Exception {
        open(kind, "plan,rating_group,unit,price,per,currency\n");
        provision(UnitType.OCTETS, 50_000, null);
        provision(UnitType.MONEY, 100, null);
        ocs.answer(ccr("b1", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        ocs.tariffs(new TariffBook(TariffCsv.parse(TARIFFS.lines().toList(), "test"), ZoneOffset.UTC));
        CreditControlAnswer u = ocs.answer(ccr("b1", RequestType.UPDATE, 1, null, 2,
                rg(1, ServiceUnits.octets(10_000), ServiceUnits.octets(10_000))));
        assertEquals(octets(10_000), u.services().get(0).granted());
        CreditControlAnswer t = ocs.answer(ccr("b1", RequestType.TERMINATION, 2, null, 2, rg(1, null, ServiceUnits.octets(60_000))));
        assertEquals(0, amount(UnitType.OCTETS), "its units only, never below zero");
        assertEquals(100, amount(UnitType.MONEY), "no money: the session opened unpriced");
        assertNull(t.costInformation());
        ocs.answer(ccr("b2", RequestType.INITIAL, 0, null, null, rg(1, ServiceUnits.octets(10_000), null)));
        assertEquals(90, free(UnitType.MONEY), "a session opened after them is priced");
    }
}
