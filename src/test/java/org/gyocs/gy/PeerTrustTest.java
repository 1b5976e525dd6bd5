package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.node.PeerAllowList;
import org.gyocs.store.Bucket;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 13, item 8: peers cannot be impersonated. An audit found any host that reached the port
 * trusted, an unauthenticated peer crediting a subscriber with REFUND_ACCOUNT, and a peer ending
 * another peer's session with a CCR-T of its Session-Id (whose next CCR-U then got the attacker's
 * cached answer).
 */
class PeerTrustTest {
    static final String SUB = "491700000001";
    @TempDir
    Path tmp;

    static final long START = 10_000_000;

    GyDiameterApplication node(boolean mock, PeerAllowList peers, String... settings) throws Exception {
        Path csv = tmp.resolve("s.csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets," + START + ",,\n");
        Map<String, String> m = new HashMap<>(Map.of("default-octets", "1000", "max-octets", "1000"));
        for (int i = 0; i < settings.length; i += 2) {
            m.put(settings[i], settings[i + 1]);
        }
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.test.local").realm("test.local").config(Path.of("config/jdiameter-config.xml"))
                .charging(OcsConfiguration.of(m).chargingPolicy()).peers(peers)
                .store(Stores.freshH2()).subscribers(csv).build();
        app.start(false);
        return app;
    }

    static long balance(GyDiameterApplication app) {
        return app.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
    }

    static TestPeer connect(GyDiameterApplication app, String originHost) throws Exception {
        TestPeer p = new TestPeer(app.getPort());
        assertEquals(2001, resultCode(p.handshake(originHost)));
        p.awaitOpen();
        return p;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void peersOutsideTheAllowListAreRefusedWith3010(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, PeerAllowList.parse("pcef.test.local@127.0.0.1, far.test.local@10.0.0.0/8"));
        try {
            try (TestPeer stranger = new TestPeer(app.getPort())) {
                DiameterMessage cea = stranger.handshake("evil.test.local");
                assertEquals(3010, resultCode(cea));
                assertTrue((cea.flags() & DiameterMessage.FLAG_ERROR) != 0, "3xxx carries the E-bit");
                assertTrue(stranger.closedByNode());
            }
            try (TestPeer wrongPlace = new TestPeer(app.getPort())) {
                assertEquals(3010, resultCode(wrongPlace.handshake("far.test.local")), "listed, but from another address");
                assertTrue(wrongPlace.closedByNode());
            }
            try (TestPeer ok = connect(app, "pcef.test.local")) {
                assertEquals(2001, resultCode(ok.request(GyRequests.simple(1, "allowed;1", 4, 0))));
                if (mock) {
                    // the identity is the first CER's: a second one with another name is refused
                    assertEquals(3010, resultCode(ok.handshake("other.test.local")));
                    assertTrue(ok.closedByNode());
                }
            }
            // from an address no allowed peer has: closed at once, before any CER
            java.net.Socket from = new java.net.Socket();
            from.bind(new java.net.InetSocketAddress("127.0.0.2", 0));
            from.connect(new java.net.InetSocketAddress("127.0.0.1", app.getPort()));
            try (TestPeer elsewhere = new TestPeer(from)) {
                elsewhere.send(TestPeer.cer("pcef.test.local", "test.local", 4));
                if (mock) {
                    assertEquals(3010, resultCode(elsewhere.read()), "mock mode answers the CER, then closes");
                }
                assertTrue(elsewhere.closedByNode());
            }
            assertEquals(mock ? 4L : 3L, app.getStatistics().get("peers_refused"));
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aPeerCannotTouchAnotherPeersSession(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, PeerAllowList.ANY);
        try (TestPeer owner = connect(app, "pcef.test.local"); TestPeer attacker = connect(app, "evil.test.local")) {
            assertEquals(2001, resultCode(owner.request(GyRequests.simple(1, "owned;1", 1, 0))));
            long held = balance(app);
            // the attacker ends the owner's session (a CCR-T it forged), then asks for its answer again
            DiameterMessage forged = attacker.request(GyRequests.simple(2, "owned;1", 3, 1));
            assertEquals(5002, resultCode(forged), "another peer's session is unknown to it");
            assertEquals(held, balance(app), "and untouched");
            assertEquals(1L, app.getStatistics().get("errors"), "one refused request, one error (it was two)");
            DiameterMessage u = owner.request(GyRequests.simple(3, "owned;1", 2, 1));
            assertEquals(2001, resultCode(u), "the owner's session goes on");
            assertEquals(2001, resultCode(owner.request(GyRequests.simple(4, "owned;1", 3, 2))));
        } finally {
            app.stop();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void refundsOnlyFromRefundPeers(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, PeerAllowList.ANY, "refund-peers", "billing.test.local");
        try (TestPeer pcef = connect(app, "pcef.test.local"); TestPeer billing = connect(app, "billing.test.local")) {
            List<Avp> refund = GyRequests.header("refund;1", 4, 0);
            refund.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 1)); // REFUND_ACCOUNT
            refund.add(GyRequests.mscc(null, null, GyRequests.rsuOctets(500), null));
            assertEquals(5003, resultCode(pcef.request(GyRequests.ccr(1, refund))));
            assertEquals(START, balance(app), "nothing credited");
            List<Avp> allowed = GyRequests.header("refund;2", 4, 0);
            allowed.add(Avp.unsigned32(AvpCodes.REQUESTED_ACTION, 1));
            allowed.add(GyRequests.mscc(null, null, GyRequests.rsuOctets(500), null));
            assertEquals(2001, resultCode(billing.request(GyRequests.ccr(2, allowed))));
            assertEquals(START + 500, balance(app));
        } finally {
            app.stop();
        }
    }
}
