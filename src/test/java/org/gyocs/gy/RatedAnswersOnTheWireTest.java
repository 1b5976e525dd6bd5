package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.header;
import static org.gyocs.testing.GyRequests.mscc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.ChargingPolicy;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.OnlineCharging;
import org.gyocs.core.UnitType;
import org.gyocs.core.rating.TariffBook;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.gy.jdiameter.JDiameterGyNode;
import org.gyocs.gy.nio.MockGyNode;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;

/**
 * The rated answers over real sockets, AVP by AVP, and the same bytes from both modes (each node
 * on its own store with the same money and tariffs): Cost-Information of a PRICE_ENQUIRY and of a
 * CCA-T with advice of charge, Check-Balance-Result from money, a CC-Money grant, Tariff-Time-Change.
 */
class RatedAnswersOnTheWireTest {
    static final String SUB = "491700000001";
    static final long NTP_OFFSET = 2_208_988_800L;

    @Test
    void ratedAnswersAreRightAvpByAvpAndTheSameInBothModes() throws Exception {
        Instant change = Instant.now().truncatedTo(ChronoUnit.MINUTES).plus(3, ChronoUnit.MINUTES);
        LocalTime at = LocalTime.ofInstant(change, ZoneOffset.UTC);
        String tariffs = "plan,rating_group,unit,price,per,currency,from,to\n"
                + "default,,octets,1,1000,EUR,,\n"
                + "default,7,octets,5,1000,EUR," + at.minusHours(12) + "," + at + "\n"
                + "default,7,octets,1,1000,EUR," + at + "," + at.plusHours(12) + "\n";
        TariffBook book = new TariffBook(TariffCsv.parse(tariffs.lines().toList(), "t"), ZoneOffset.UTC);
        ChargingPolicy policy = ChargingPolicy.of(new GrantPolicy(1_000, 60, 10, 100_000, 3_600, 100, 300));
        NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
        JdbcBalanceStore storeJ = JdbcBalanceStore.open(Stores.freshH2(), null, null, 4);
        JdbcBalanceStore storeM = JdbcBalanceStore.open(Stores.freshH2(), null, null, 4);
        for (JdbcBalanceStore st : List.of(storeJ, storeM)) {
            st.add(List.of(new Bucket(0, SUB, UnitType.MONEY, 300, 0, null, null)), false);
        }
        OnlineCharging ocsJ = new OnlineCharging(policy, storeJ, new NodeStatistics());
        OnlineCharging ocsM = new OnlineCharging(policy, storeM, new NodeStatistics());
        ocsJ.tariffs(book);
        ocsM.tariffs(book);
        DiameterNode jd = new JDiameterGyNode(s, ocsJ, new NodeStatistics());
        DiameterNode mk = new MockGyNode(s, ocsM, new NodeStatistics());
        jd.start();
        mk.start();
        Map<String, DiameterMessage> scenarios = new LinkedHashMap<>();
        List<Avp> initial = header("rt;1", 1, 0);
        initial.add(mscc(1L, null, GyRequests.rsuOctets(30_000), null));
        initial.add(mscc(7L, null, GyRequests.rsuOctets(10_000), null));
        scenarios.put("CCR-I", GyRequests.ccr(1, initial));
        List<Avp> price = header("rt;2", 4, 0);
        price.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 3));
        price.add(mscc(1L, null, GyRequests.rsuOctets(12_345), null));
        scenarios.put("PRICE_ENQUIRY", GyRequests.ccr(2, price));
        scenarios.put("CHECK_BALANCE enough", checkBalance(3, "rt;3", 1L, 50_000));
        scenarios.put("CHECK_BALANCE short", checkBalance(4, "rt;4", 7L, 50_000));
        List<Avp> money = header("rt;5", 1, 0);
        money.add(mscc(3L, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT, ccMoney(150, -2)), null));
        scenarios.put("CCR-I CC-Money", GyRequests.ccr(5, money));
        List<Avp> end = header("rt;1", 3, 1);
        end.add(Avp.vendor(AvpCodes.AOC_REQUEST_TYPE, AvpCodes.VENDOR_3GPP, new byte[] {0, 0, 0, 2}));
        end.add(mscc(1L, null, null, GyRequests.usuOctets(12_345)));
        List<Avp> split = new ArrayList<>();
        split.add(Avp.grouped(AvpCodes.USED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.TARIFF_CHANGE_USAGE, 0),
                Avp.unsigned64(AvpCodes.CC_TOTAL_OCTETS, 6_000)));
        split.add(Avp.grouped(AvpCodes.USED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.TARIFF_CHANGE_USAGE, 1),
                Avp.unsigned64(AvpCodes.CC_TOTAL_OCTETS, 4_000)));
        split.add(Avp.unsigned32(AvpCodes.RATING_GROUP, 7));
        end.add(Avp.grouped(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL, split));
        scenarios.put("CCR-T with AoC", GyRequests.ccr(6, end));
        Map<String, DiameterMessage> answers;
        try {
            answers = BothModesChargeAlikeTest.exchangeInBothModes(jd, mk, scenarios);
        } finally {
            jd.stop();
            mk.stop();
            ocsJ.close();
            ocsM.close();
        }
        try {
            DiameterMessage i = answers.get("CCR-I");
            List<Avp> msccs = i.avps().stream().filter(x -> x.code() == AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).toList();
            List<Avp> gsu1 = find(msccs.get(0).group(), AvpCodes.GRANTED_SERVICE_UNIT).group();
            assertEquals(1, gsu1.size(), "no Tariff-Time-Change on an all-day price");
            assertEquals(30_000, find(gsu1, AvpCodes.CC_TOTAL_OCTETS).unsigned64(), "30 cents of 1,000 buy it");
            List<Avp> gsu7 = find(msccs.get(1).group(), AvpCodes.GRANTED_SERVICE_UNIT).group();
            assertEquals(AvpCodes.TARIFF_TIME_CHANGE, gsu7.get(0).code(), "RFC 4006 8.17: first in the GSU");
            assertEquals(change.getEpochSecond() + NTP_OFFSET, gsu7.get(0).unsigned32(), "the band's end, as Time");
            assertEquals(10_000, find(gsu7, AvpCodes.CC_TOTAL_OCTETS).unsigned64());

            List<Avp> cost = answers.get("PRICE_ENQUIRY").avp(AvpCodes.COST_INFORMATION).group();
            List<Avp> unitValue = find(cost, AvpCodes.UNIT_VALUE).group();
            assertEquals(13, find(unitValue, AvpCodes.VALUE_DIGITS).unsigned64(), "12,345 octets at 1 cent per 1,000: 13");
            assertEquals(-2, (int) find(unitValue, AvpCodes.EXPONENT).unsigned32(), "cents");
            assertEquals(978, find(cost, AvpCodes.CURRENCY_CODE).unsigned32(), "EUR");
            assertEquals("12345 octets", find(cost, AvpCodes.COST_UNIT).utf8());

            // 300 cents, 30 + 50 held: 220 free buy 50,000 octets of rating group 1 (50 cents), not of 7 (250)
            assertEquals(0, answers.get("CHECK_BALANCE enough").avp(AvpCodes.CHECK_BALANCE_RESULT).unsigned32());
            assertEquals(1, answers.get("CHECK_BALANCE short").avp(AvpCodes.CHECK_BALANCE_RESULT).unsigned32());

            List<Avp> gsuMoney = find(answers.get("CCR-I CC-Money").avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group(),
                    AvpCodes.GRANTED_SERVICE_UNIT).group();
            List<Avp> ccMoney = find(gsuMoney, AvpCodes.CC_MONEY).group();
            List<Avp> value = find(ccMoney, AvpCodes.UNIT_VALUE).group();
            assertEquals(150, find(value, AvpCodes.VALUE_DIGITS).unsigned64(), "1.50 EUR granted in CC-Money");
            assertEquals(-2, (int) find(value, AvpCodes.EXPONENT).unsigned32());
            assertEquals(978, find(ccMoney, AvpCodes.CURRENCY_CODE).unsigned32());

            DiameterMessage t = answers.get("CCR-T with AoC");
            assertEquals(2001, GyRequests.resultCode(t));
            List<Avp> sessionCost = t.avp(AvpCodes.COST_INFORMATION).group();
            // rating group 1: 12,345 octets, 13 cents; rating group 7: 6,000 at 5 and 4,000 at 1 per 1,000: 34
            assertEquals(13 + 34, find(find(sessionCost, AvpCodes.UNIT_VALUE).group(), AvpCodes.VALUE_DIGITS).unsigned64());
            assertNull(find(sessionCost, AvpCodes.COST_UNIT));
            for (JdbcBalanceStore st : List.of(storeJ, storeM)) {
                Bucket m = st.buckets(SUB).get(0);
                assertEquals(300 - 47, m.amount(), "the debits match the cost told");
                assertEquals(150, m.reserved(), "the CC-Money session still holds 1.50");
            }
        } finally {
            storeJ.close();
            storeM.close();
        }
    }

    private static DiameterMessage checkBalance(int hopByHop, String session, long ratingGroup, long octets) {
        List<Avp> check = header(session, 4, 0);
        check.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 2));
        check.add(mscc(ratingGroup, null, GyRequests.rsuOctets(octets), null));
        return GyRequests.ccr(hopByHop, check);
    }

    private static Avp ccMoney(long digits, int exponent) {
        return Avp.grouped(AvpCodes.CC_MONEY, Avp.grouped(AvpCodes.UNIT_VALUE,
                Avp.of(AvpCodes.VALUE_DIGITS, ByteBuffer.allocate(8).putLong(digits).array()),
                Avp.of(AvpCodes.EXPONENT, ByteBuffer.allocate(4).putInt(exponent).array())),
                Avp.unsigned32(AvpCodes.CURRENCY_CODE, 978));
    }

    private static Avp find(List<Avp> avps, int code) {
        Avp a = DiameterMessage.find(avps, code);
        if (a == null && code != AvpCodes.COST_UNIT) {
            assertNotNull(a, "AVP " + code + " expected in " + avps);
        }
        return a;
    }
}
