package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.store.Bucket;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Charging through each whole node: CSV provisioning, sessions, events, refusals, retransmissions. */
class ChargingEndToEndTest {
    static final String SUB = "491700000001"; // GyRequests' subscriber
    @TempDir
    Path tmp;

    GyDiameterApplication start(boolean mock, String csv, String... settings) throws Exception {
        return startOn(Stores.freshH2(), mock, csv, settings);
    }

    GyDiameterApplication startOn(String store, boolean mock, String csv, String... settings) throws Exception {
        Path file = tmp.resolve("subscribers.csv");
        Files.writeString(file, "subscriber,unit,amount,rating_group,expires\n" + csv);
        java.util.Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < settings.length; i += 2) {
            m.put(settings[i], settings[i + 1]);
        }
        m.putIfAbsent("default-octets", "1000");
        m.putIfAbsent("max-octets", "4000");
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).host("ocs.test.local")
                .realm("test.local").config(Path.of("config/jdiameter-config.xml")).mock(mock)
                .charging(OcsConfiguration.of(m).chargingPolicy()).store(store)
                .storeCredentials(store.startsWith("jdbc:postgresql:") ? "postgres" : null, null).subscribers(file).build();
        app.start(false);
        return app;
    }

    TestPeer connect(GyDiameterApplication app) throws Exception {
        TestPeer p = new TestPeer(app.getPort());
        assertEquals(2001, resultCode(p.handshake()));
        p.awaitOpen();
        return p;
    }

    static long balance(GyDiameterApplication app) {
        return app.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
    }

    static List<Avp> mscc(DiameterMessage a) throws Exception {
        return a.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group();
    }

    static long granted(DiameterMessage a) throws Exception {
        Avp gsu = DiameterMessage.find(mscc(a), AvpCodes.GRANTED_SERVICE_UNIT);
        return gsu == null ? -1 : DiameterMessage.find(gsu.group(), AvpCodes.CC_TOTAL_OCTETS).unsigned64();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void sessionsDrainTheBalanceToFinalUnitsThen4012(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, SUB + ",octets,2500,,\n");
        try (TestPeer p = connect(app)) {
            // I: asks 1048576, max 4000, balance 2500 -> 2500, the last of it: FUI TERMINATE
            DiameterMessage i = p.request(GyRequests.simple(1, "drain;1", 1, 0));
            assertEquals(2001, resultCode(i));
            assertEquals(2500, granted(i));
            Avp fui = DiameterMessage.find(mscc(i), AvpCodes.FINAL_UNIT_INDICATION);
            assertNotNull(fui, "Final-Unit-Indication with the last grant");
            assertEquals(0, DiameterMessage.find(fui.group(), AvpCodes.FINAL_UNIT_ACTION).unsigned32(), "TERMINATE");
            // U: used 524288 (more than reserved): 2500 debited, nothing left -> 4012
            DiameterMessage u = p.request(GyRequests.simple(2, "drain;1", 2, 1));
            assertEquals(4012, resultCode(u));
            assertEquals(4012, DiameterMessage.find(mscc(u), AvpCodes.RESULT_CODE).unsigned32());
            assertEquals(0, balance(app));
            DiameterMessage t = p.request(GyRequests.simple(3, "drain;1", 3, 2));
            assertEquals(2001, resultCode(t));
            // a new session: nothing left
            assertEquals(4012, resultCode(p.request(GyRequests.simple(4, "drain;2", 1, 0))));
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void eventDirectDebit(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, SUB + ",octets,10000,,\n");
        try (TestPeer p = connect(app)) {
            DiameterMessage e = p.request(GyRequests.simple(1, "ev;1", 4, 0));
            assertEquals(2001, resultCode(e));
            assertEquals(4000, granted(e));
            assertEquals(6000, balance(app), "debited at once");
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void unknownSubscriberUnderRejectIs5030AndUnknownSessionIs5002(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, "491799999999,octets,10,,\n", "unknown-subscriber", "reject");
        try (TestPeer p = connect(app)) {
            assertEquals(5030, resultCode(p.request(GyRequests.simple(1, "rej;1", 1, 0))));
            assertEquals(5030, resultCode(p.request(GyRequests.simple(2, "rej;2", 4, 0))));
            assertEquals(5002, resultCode(p.request(GyRequests.simple(3, "never;opened", 2, 1))));
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void retransmittedUpdateIsAnsweredIdenticallyAndDebitedOnce(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock, SUB + ",octets,100000,,\n");
        try (TestPeer p = connect(app)) {
            assertEquals(2001, resultCode(p.request(GyRequests.simple(1, "rt;1", 1, 0))));
            List<Avp> avps = GyRequests.header("rt;1", 2, 1);
            avps.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), GyRequests.usuOctets(700)));
            DiameterMessage u = GyRequests.ccr(2, avps);
            p.send(u);
            byte[] first = p.readFrame();
            assertEquals(100000 - 700, balance(app));
            // the same request again, with the T-bit (RFC 6733 3: potentially retransmitted)
            DiameterMessage again = new DiameterMessage(u.flags() | DiameterMessage.FLAG_RETRANSMITTED, u.commandCode(),
                    u.applicationId(), u.hopByHop(), u.endToEnd(), u.avps());
            p.send(again);
            byte[] second = p.readFrame();
            assertArrayEquals(first, second, "the same answer");
            assertEquals(100000 - 700, balance(app), "debited once");
            DiameterMessage t = p.request(GyRequests.simple(3, "rt;1", 3, 2));
            assertEquals(2001, resultCode(t));
            assertNull(DiameterMessage.find(mscc(t), AvpCodes.GRANTED_SERVICE_UNIT));
            assertEquals(0, balance(app), "CCR-T reports 524288 used: all that was left is debited, no further");
            assertEquals(0, DiameterCodec.decode(second).flags() & DiameterMessage.FLAG_RETRANSMITTED,
                    "no T-bit in answers (RFC 6733 section 3)");
        } finally {
            app.stop();
        }
    }

    /**
     * Issue 13, item 7: a second CCR-I on an open Session-Id (not a retransmission) is refused and
     * leaves the session's hold alone; the audit saw both holds released and 2,000 octets used
     * billed as 1,500.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"false,embedded", "true,embedded", "false,postgres", "true,postgres"})
    void secondInitialOnAnOpenSessionIsRefusedAndTheHoldsStayExact(boolean mock, String kind) throws Exception {
        GyDiameterApplication app = startOn(Stores.fresh(kind), mock, SUB + ",octets,10000,,\n");
        try (TestPeer p = connect(app)) {
            assertEquals(2001, resultCode(p.request(GyRequests.simple(1, "twice;1", 1, 0))));
            assertEquals(4000, reserved(app), "the first CCR-I holds its grant (max-octets)");
            DiameterMessage again = p.request(GyRequests.simple(2, "twice;1", 1, 1));
            assertEquals(5004, resultCode(again));
            assertEquals(AvpCodes.SESSION_ID, again.avp(AvpCodes.FAILED_AVP).group().get(0).code());
            assertEquals(4000, reserved(app), "the hold is untouched");
            List<Avp> u = GyRequests.header("twice;1", 2, 1);
            u.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), GyRequests.usuOctets(1000)));
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(3, u))));
            List<Avp> t = GyRequests.header("twice;1", 3, 2);
            t.add(GyRequests.mscc(100L, 1L, null, GyRequests.usuOctets(1000)));
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(4, t))));
            assertEquals(10000 - 2000, balance(app), "2,000 used, 2,000 billed");
            assertEquals(0, reserved(app));
        } finally {
            app.stop();
        }
    }

    static long reserved(GyDiameterApplication app) {
        return app.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::reserved).sum();
    }
}
