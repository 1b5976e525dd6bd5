package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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

/**
 * Issue 13, item 3: a retransmitted debit (the T-bit, RFC 6733 section 3; the same Session-Id
 * and CC-Request-Number, RFC 4006 section 5.2) is never debited twice: not after 10,000 other
 * events pushed it out of the node's cache, not after a restart, not on another node sharing
 * the store. The key is kept with the debit, durably.
 */
class RetransmittedDebitTest {
    static final String SUB = "491700000001";
    static final long START = 1_000_000;
    @TempDir
    Path tmp;

    GyDiameterApplication node(boolean mock, String store, boolean importSubscribers) throws Exception {
        GyDiameterApplication.Builder b = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.test.local").realm("test.local").config(Path.of("config/jdiameter-config.xml"))
                .charging(OcsConfiguration.of(Map.of("default-octets", "1000", "max-octets", "1000")).chargingPolicy())
                .store(store).storeCredentials(store.startsWith("jdbc:postgresql:") ? "postgres" : null, null);
        if (importSubscribers) {
            Path csv = tmp.resolve("s.csv");
            Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets," + START + ",,\n");
            b.subscribers(csv);
        }
        GyDiameterApplication app = b.build();
        app.start(false);
        return app;
    }

    static long balance(GyDiameterApplication app) {
        return app.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
    }

    static DiameterMessage event(int hop, String session, boolean retransmitted) {
        DiameterMessage m = GyRequests.simple(hop, session, 4, 0);
        return retransmitted ? new DiameterMessage(m.flags() | DiameterMessage.FLAG_RETRANSMITTED, m.commandCode(),
                m.applicationId(), m.hopByHop(), m.endToEnd(), m.avps()) : m;
    }

    static long granted(DiameterMessage a) throws Exception {
        Avp mscc = a.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL);
        Avp gsu = DiameterMessage.find(mscc.group(), AvpCodes.GRANTED_SERVICE_UNIT);
        return DiameterMessage.find(gsu.group(), AvpCodes.CC_TOTAL_OCTETS).unsigned64();
    }

    static TestPeer connect(GyDiameterApplication app) throws Exception {
        TestPeer p = new TestPeer(app.getPort());
        assertEquals(2001, resultCode(p.handshake()));
        p.awaitOpen();
        return p;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRetransmittedEventIsDebitedOnceAfterTheCacheAndAfterARestart(boolean mock) throws Exception {
        String store = Stores.embeddedFile(tmp.resolve("data"));
        GyDiameterApplication app = node(mock, store, true);
        try (TestPeer p = connect(app)) {
            DiameterMessage first = p.request(event(1, "dup;1", false));
            assertEquals(2001, resultCode(first));
            assertEquals(1000, granted(first));
            // 10,001 events of an unprovisioned subscriber push it out of the node's answer cache
            ByteArrayOutputStream flood = new ByteArrayOutputStream();
            int n = 10_001;
            for (int i = 0; i < n; i++) {
                List<Avp> avps = GyRequests.header("flood;" + i, 4, 0);
                avps.replaceAll(a -> a.code() == AvpCodes.SUBSCRIPTION_ID ? Avp.grouped(AvpCodes.SUBSCRIPTION_ID,
                        Avp.unsigned32(AvpCodes.SUBSCRIPTION_ID_TYPE, 0), Avp.utf8(AvpCodes.SUBSCRIPTION_ID_DATA, "49179999")) : a);
                flood.write(DiameterCodec.encode(GyRequests.ccr(100 + i, avps)));
            }
            p.write(flood.toByteArray());
            for (int i = 0; i < n; i++) {
                p.readFrame();
            }
            DiameterMessage again = p.request(event(2, "dup;1", true));
            assertEquals(2001, resultCode(again));
            assertEquals(1000, granted(again), "answered with what was debited");
            assertEquals(START - 1000, balance(app), "not debited again");
        } finally {
            app.stop();
        }
        GyDiameterApplication restarted = node(mock, store, false);
        try (TestPeer p = connect(restarted)) {
            DiameterMessage again = p.request(event(3, "dup;1", true));
            assertEquals(2001, resultCode(again));
            assertEquals(1000, granted(again));
            assertEquals(START - 1000, balance(restarted), "not debited again after a restart");
            assertEquals(2001, resultCode(p.request(event(4, "dup;2", true))), "a first request with the T-bit");
            assertEquals(START - 2000, balance(restarted), "is debited");
        } finally {
            restarted.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRetransmissionToAnotherNodeOnPostgresqlIsNotDebitedAgain(boolean mock) throws Exception {
        String store = Stores.freshPostgres();
        GyDiameterApplication a = node(mock, store, true);
        GyDiameterApplication b = node(mock, store, false);
        try (TestPeer toA = connect(a); TestPeer toB = connect(b)) {
            assertEquals(2001, resultCode(toA.request(event(1, "fail;1", false))));
            DiameterMessage again = toB.request(event(2, "fail;1", true));
            assertEquals(2001, resultCode(again));
            assertEquals(1000, granted(again));
            assertEquals(START - 1000, balance(b), "debited once, by node A");
        } finally {
            a.stop();
            b.stop();
        }
    }
}
