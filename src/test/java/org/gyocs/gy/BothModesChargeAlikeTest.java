package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.header;
import static org.gyocs.testing.GyRequests.mscc;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.ChargingPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.OnlineCharging;
import org.gyocs.core.UnitType;
import org.gyocs.gy.jdiameter.JDiameterGyNode;
import org.gyocs.gy.nio.MockGyNode;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.TransportLimits;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;

/**
 * Charging answers (Final-Unit-Indication with Redirect-Server, 3GPP thresholds, 4012, 5030,
 * Check-Balance-Result, Cost-Information) are the same bytes from both modes, each node on its
 * own store with the same balances.
 */
class BothModesChargeAlikeTest {

    static final String SUB = "491700000001";

    static DiameterMessage update(int hopByHop, int number, long used) {
        List<Avp> avps = header("ch;1", 2, number);
        avps.add(mscc(100L, 1L, GyRequests.rsuOctets(1_048_576), GyRequests.usuOctets(used)));
        return GyRequests.ccr(hopByHop, avps);
    }

    /**
     * Sends each scenario to both nodes, in order, on one connection each, checks that both
     * answer with the same bytes, and returns the answers decoded.
     */
    static Map<String, DiameterMessage> exchangeInBothModes(DiameterNode jd, DiameterNode mk,
                                                          Map<String, DiameterMessage> scenarios) throws Exception {
        Map<String, DiameterMessage> answers = new LinkedHashMap<>();
        try (TestPeer pj = new TestPeer(jd.port()); TestPeer pm = new TestPeer(mk.port())) {
            pj.handshake();
            pj.awaitOpen();
            pm.handshake();
            for (Map.Entry<String, DiameterMessage> e : scenarios.entrySet()) {
                pj.send(e.getValue());
                pm.send(e.getValue());
                byte[] a = pj.readFrame();
                byte[] b = pm.readFrame();
                assertArrayEquals(a, b, e.getKey() + ":\n jdiameter " + BothModesAnswerAlikeTest.dump(a)
                        + "\n mock      " + BothModesAnswerAlikeTest.dump(b));
                answers.put(e.getKey(), DiameterCodec.decode(b));
            }
        }
        return answers;
    }

    @Test
    void chargingAnswersAreTheSameBytes() throws Exception {
        ChargingPolicy policy = OcsConfiguration.of(Map.of("default-octets", "1000", "max-octets", "3000",
                "final-unit-action", "redirect", "redirect-address", "http://topup.example.com",
                "quota-holding-time", "60", "volume-quota-threshold", "200", "time-quota-threshold", "10",
                "unknown-subscriber", "reject")).chargingPolicy();
        NodeSettings s = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
                Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT);
        JdbcBalanceStore storeJ = JdbcBalanceStore.open(Stores.freshH2(), null, null, 4);
        JdbcBalanceStore storeM = JdbcBalanceStore.open(Stores.freshH2(), null, null, 4);
        for (JdbcBalanceStore st : List.of(storeJ, storeM)) {
            st.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, 4000, 0, null, null),
                    new Bucket(0, SUB, UnitType.SECONDS, 100, 0, null, null)), false);
        }
        OnlineCharging ocsJ = new OnlineCharging(policy, storeJ, new NodeStatistics());
        OnlineCharging ocsM = new OnlineCharging(policy, storeM, new NodeStatistics());
        DiameterNode jd = new JDiameterGyNode(s, ocsJ, new NodeStatistics());
        DiameterNode mk = new MockGyNode(s, ocsM, new NodeStatistics());
        jd.start();
        mk.start();
        Map<String, DiameterMessage> scenarios = new LinkedHashMap<>();
        scenarios.put("CCR-I: 3000 of 4000", GyRequests.simple(1, "ch;1", 1, 0));
        scenarios.put("CCR-U: used 500, 3000 more", update(2, 1, 500));
        scenarios.put("CCR-U: used 3000, the last 500 with FUI redirect", update(3, 2, 3000));
        scenarios.put("CCR-U: used 500, nothing left, 4012", update(4, 3, 500));
        scenarios.put("CCR-T", GyRequests.simple(9, "ch;1", 3, 4));
        List<Avp> check = header("ch;2", 4, 0);
        check.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 2));
        check.add(mscc(null, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.CC_TIME, 50)), null));
        scenarios.put("CHECK_BALANCE", GyRequests.ccr(10, check));
        List<Avp> price = header("ch;3", 4, 0);
        price.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 3));
        scenarios.put("PRICE_ENQUIRY", GyRequests.ccr(11, price));
        List<Avp> time = header("ch;4", 1, 0);
        time.add(mscc(9L, null, Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.CC_TIME, 40)), null));
        scenarios.put("CCR-I seconds with thresholds", GyRequests.ccr(12, time));
        List<Avp> unknown = header("ch;5", 1, 0);
        unknown.set(8, Avp.grouped(AvpCodes.SUBSCRIPTION_ID, Avp.unsigned32(AvpCodes.SUBSCRIPTION_ID_TYPE, 0),
                Avp.utf8(AvpCodes.SUBSCRIPTION_ID_DATA, "491799999999")));
        scenarios.put("unknown subscriber, reject", GyRequests.ccr(13, unknown));
        try {
            Map<String, DiameterMessage> answers = exchangeInBothModes(jd, mk, scenarios);
            for (Map.Entry<String, DiameterMessage> e : answers.entrySet()) {
                DiameterMessage b = e.getValue();
                if (e.getKey().contains("FUI")) {
                    Avp fui = DiameterMessage.find(b.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group(),
                            AvpCodes.FINAL_UNIT_INDICATION);
                    assertTrue(fui != null, "FUI expected in " + e.getKey());
                    assertEquals("http://topup.example.com", DiameterMessage.find(DiameterMessage.find(fui.group(),
                            AvpCodes.REDIRECT_SERVER).group(), AvpCodes.REDIRECT_SERVER_ADDRESS).utf8());
                }
                if (e.getKey().equals("CHECK_BALANCE")) {
                    assertEquals(0, b.avp(AvpCodes.CHECK_BALANCE_RESULT).unsigned32());
                }
                if (e.getKey().startsWith("unknown")) {
                    assertEquals(5030, GyRequests.resultCode(b));
                }
            }
        } finally {
            jd.stop();
            mk.stop();
            ocsJ.close();
            ocsM.close();
            storeJ.close();
            storeM.close();
        }
    }
}
