package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.UnitType;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.UsageRecords.UsageRecord;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.NodeProcess;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Several nodes as one OCS on PostgreSQL (RFC 4006 section 5.7): a session continues on any node,
 * a retransmission sent to another node is not debited twice, and the sessions of a node that is
 * gone, or silent past their Tcc, are released once. Real sockets, two nodes, one PostgreSQL.
 */
class SharedSessionsTest {
    private static final String SUB = "491700000001";
    private static final long START = 100_000;
    private final List<GyDiameterApplication> nodes = new ArrayList<>();
    private String url;

    @AfterEach
    void stop() {
        nodes.forEach(GyDiameterApplication::stop);
    }

    private GyDiameterApplication node(String name, Map<String, String> settings, Duration nodeTimeout) throws Exception {
        return node(name, settings, nodeTimeout, true);
    }

    private GyDiameterApplication node(String name, Map<String, String> settings, Duration nodeTimeout, boolean mock)
            throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .config(java.nio.file.Path.of("config/jdiameter-config.xml"))
                .host(name + ".test.local").realm("test.local")
                .charging(OcsConfiguration.of(settings).chargingPolicy()).nodeTimeout(nodeTimeout)
                .store(url).storeCredentials("postgres", null).build();
        app.start(false);
        nodes.add(app);
        return app;
    }

    private void provision() throws Exception {
        url = Stores.freshPostgres();
        try (JdbcBalanceStore setup = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            setup.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, START, 0, null, null)), false);
        }
    }

    private static final Map<String, String> GRANT_1000 = Map.of("default-octets", "1000");

    private static DiameterMessage ccr(int number, int type, String session, Long asked, Long used) {
        List<Avp> avps = GyRequests.header(session, type, number);
        avps.add(GyRequests.mscc(100L, 1L, asked == null ? null : GyRequests.rsuOctets(asked),
                used == null ? null : GyRequests.usuOctets(used)));
        return GyRequests.ccr(1000 + number, avps);
    }

    /** The request sent again, with the T flag (RFC 6733 section 3: a retransmission after a failover). */
    private static DiameterMessage retransmitted(DiameterMessage m) {
        return new DiameterMessage(m.flags() | DiameterMessage.FLAG_RETRANSMITTED, m.commandCode(), m.applicationId(),
                m.hopByHop(), m.endToEnd(), m.avps());
    }

    private static long granted(DiameterMessage a) throws Exception {
        Avp mscc = a.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL);
        return DiameterMessage.find(DiameterMessage.find(mscc.group(), AvpCodes.GRANTED_SERVICE_UNIT).group(),
                AvpCodes.CC_TOTAL_OCTETS).unsigned64();
    }

    private long[] balance() throws Exception {
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            Bucket b = s.buckets(SUB).get(0);
            return new long[] {b.amount(), b.reserved()};
        }
    }

    /** A peer connected to the node, past its capabilities exchange. */
    private static TestPeer peer(GyDiameterApplication node) throws Exception {
        TestPeer p = new TestPeer(node.getPort());
        p.handshake();
        return p;
    }

    /** Waits until the balance holds nothing (a release by another node's supervision), at most this long. */
    private void awaitNothingHeld(int seconds, String why) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (balance()[1] != 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(0, balance()[1], why);
    }

    private static long expired(GyDiameterApplication node) {
        return (Long) node.getStatistics().get("sessions_expired");
    }

    private List<UsageRecord> records() throws Exception {
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            return s.usage(SUB, Instant.EPOCH, Instant.now().plusSeconds(60), 100);
        }
    }

    /** Node B in either mode: jDiameter takes a CCR-U of a session it never saw to our listener. */
    @org.junit.jupiter.params.ParameterizedTest(name = "node B mock: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aSessionOpenedOnOneNodeContinuesOnTheOtherAndEndsOnTheFirst(boolean mockB) throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30), mockB);
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            toB.awaitOpen();
            DiameterMessage i = toA.request(ccr(0, 1, "move;1", 1000L, null));
            assertEquals(2001, resultCode(i));
            assertEquals(1000, granted(i));
            // the PCEF learns it may fail over, and to retry on the secondary OCS
            assertEquals(1, i.avp(AvpCodes.CC_SESSION_FAILOVER).unsigned32());
            assertEquals(2, i.avp(AvpCodes.CREDIT_CONTROL_FAILURE_HANDLING).unsigned32());
            DiameterMessage u = toB.request(ccr(1, 2, "move;1", 1000L, 600L));
            assertEquals(2001, resultCode(u), "node B knows node A's session");
            assertEquals(1000, granted(u));
            assertNull(u.avp(AvpCodes.CC_SESSION_FAILOVER), "advice in CCA-I only");
            DiameterMessage t = toA.request(ccr(2, 3, "move;1", null, 300L));
            assertEquals(2001, resultCode(t), "and node A knows what node B did");
        }
        assertEquals(START - 900, balance()[0], "each report debited once, against the session's holds");
        assertEquals(0, balance()[1], "nothing left held");
        List<UsageRecord> rs = records();
        assertEquals(1, rs.size(), rs.toString());
        assertEquals("CCR_T", rs.get(0).terminationCause());
        assertEquals(900, rs.get(0).lines().stream().mapToLong(l -> l.units()).sum());
    }

    /**
     * What the README shows a newcomer: bin/ocs-client.sh --failover-port sends each session's
     * CCR-I to one node and its CCR-U and CCR-T to the other; all 2001, each report debited once.
     */
    @Test
    void theTestClientOpensEachSessionOnOneNodeAndEndsItOnTheOther() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", Map.of(), Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", Map.of(), Duration.ofSeconds(30), false);
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            s.add(List.of(new Bucket(0, "491700000002", UnitType.OCTETS, 10_485_760, 0, null, null)), false);
        }
        assertEquals(0, org.gyocs.cli.ClientCommandAccess.run("--port", String.valueOf(a.getPort()), "--failover-port",
                String.valueOf(b.getPort()), "--subscriber", "491700000002", "--count", "2",
                "--origin-host", "pcef.test.local", "--destination-realm", "test.local"));
        assertEquals(2L, a.getStatistics().get("ccr_initial_received"));
        assertEquals(0L, a.getStatistics().get("ccr_update_received"));
        assertEquals(2L, b.getStatistics().get("ccr_update_received"));
        assertEquals(2L, b.getStatistics().get("ccr_terminate_received"));
        try (JdbcBalanceStore s = JdbcBalanceStore.open(url, "postgres", null, 1)) {
            Bucket after = s.buckets("491700000002").get(0);
            assertEquals(10_485_760 - 2 * 2 * org.gyocs.client.GyTestClient.DEFAULT_USU_OCTETS, after.amount(), "two reports a session, once each");
            assertEquals(0, after.reserved());
        }
        assertEquals(1, org.gyocs.cli.ClientCommandAccess.run("--event", "--failover-port", "3869"),
                "events have no session to move");
    }

    /**
     * Node A holds the session and does not read it before each request: its changes check that
     * no other node saved it since. Here node B did (it took a second rating group), so node A's
     * next CCR-U finds out, reads B's state and settles against B's holds too; deciding from its
     * own copy, it would have debited rating group 200 from what is free and left B's hold on it.
     */
    @Test
    void aNodeThatHoldsASessionSeesWhatAnotherNodeSavedSince() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "held;1", 1000L, null))));
            List<Avp> u1 = GyRequests.header("held;1", 2, 1);
            u1.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), GyRequests.usuOctets(600)));
            u1.add(GyRequests.mscc(200L, 1L, GyRequests.rsuOctets(1000), null));
            assertEquals(2001, resultCode(toB.request(GyRequests.ccr(1001, u1))));
            assertEquals(2000, balance()[1], "node B holds 1000 on each rating group");
            List<Avp> u2 = GyRequests.header("held;1", 2, 2);
            u2.add(GyRequests.mscc(100L, 1L, null, GyRequests.usuOctets(300)));
            u2.add(GyRequests.mscc(200L, 1L, null, GyRequests.usuOctets(200)));
            assertEquals(2001, resultCode(toA.request(GyRequests.ccr(1002, u2))));
            assertEquals(0, balance()[1], "node A settled both holds, node B's too");
            assertEquals(2001, resultCode(toA.request(ccr(3, 3, "held;1", null, null))));
        }
        assertEquals(START - 1100, balance()[0], "each report debited once");
        assertEquals(0, balance()[1]);
    }

    /**
     * A node does not read the store before a CCR-I of a Session-Id it does not hold: its
     * reservation checks that no other node has a session of that Session-Id. Here node A has:
     * its retransmitted CCR-I gets node A's answer, and another CCR-I is refused as on node A.
     */
    @Test
    void aCcrIForASessionOpenOnTheOtherNodeIsAnsweredAsThatNodeWould() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "open;1", 1000L, null))));
            assertEquals(5004, resultCode(toB.request(ccr(1, 1, "open;1", 1000L, null))),
                    "a second CCR-I of an open session, as node A answers it");
            assertEquals(1000, balance()[1], "nothing held for it");
            DiameterMessage again = toB.request(retransmitted(ccr(0, 1, "open;1", 1000L, null)));
            assertEquals(2001, resultCode(again));
            assertEquals(1000, granted(again));
            assertEquals(1000, balance()[1], "held once");
            assertEquals(2001, resultCode(toA.request(ccr(2, 3, "open;1", null, 400L))));
        }
        assertEquals(START - 400, balance()[0]);
        assertEquals(0, balance()[1], "nothing left held");
    }

    @Test
    void aRetransmissionSentToTheOtherNodeGetsTheSameAnswerAndIsNotDebitedTwice() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "again;1", 1000L, null))));
            DiameterMessage first = toA.request(ccr(1, 2, "again;1", 1000L, 700L));
            DiameterMessage again = toB.request(retransmitted(ccr(1, 2, "again;1", 1000L, 700L)));
            assertEquals(resultCode(first), resultCode(again));
            assertEquals(granted(first), granted(again));
            assertEquals(first.avp(AvpCodes.CC_REQUEST_NUMBER).unsigned32(), again.avp(AvpCodes.CC_REQUEST_NUMBER).unsigned32());
            assertEquals(START - 700, balance()[0], "700 octets reported once, debited once");
            assertEquals(2001, resultCode(toB.request(ccr(2, 3, "again;1", null, 100L))));
        }
        assertEquals(START - 800, balance()[0]);
        assertEquals(0, balance()[1]);
    }

    private void sql(String statement) throws Exception {
        java.util.Properties user = new java.util.Properties();
        user.setProperty("user", "postgres");
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, user);
             java.sql.Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /**
     * A CCR-I's reservation and its session's state, and a CCR-T's settlement with its session's
     * closed state and its record's end, are one commit: a store that refuses the state (a
     * trigger here) keeps neither, the request is answered 5012, and the node keeps no copy of
     * what was never committed. Sent again once the store takes it, each is charged once.
     */
    @Test
    void aRequestsChangeAndItsSessionsStateAreCommittedTogetherOrNotAtAll() throws Exception {
        provision();
        // a batch waits up to 50 ms for a caller's session state; a caller slower than that (a
        // loaded machine) has its state committed after its change, as designed, which is not
        // what this test is about: here the batch waits up to 2 s
        System.setProperty("gyocs.store.additionsWaitMillis", "2000");
        GyDiameterApplication a;
        try {
            a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        } finally {
            System.clearProperty("gyocs.store.additionsWaitMillis");
        }
        try (TestPeer toA = peer(a)) {
            // a first session: the first-time work (Jackson's, the JIT's) out of the way
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "warm;1", 1000L, null))));
            assertEquals(2001, resultCode(toA.request(ccr(1, 3, "warm;1", null, 0L))));
            sql("CREATE FUNCTION refuse_state() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF NEW.session_id = 'refused;1' OR (NEW.session_id = 'refused;2' AND NEW.closed) THEN "
                    + "RAISE EXCEPTION 'state of % refused', NEW.session_id; END IF; RETURN NEW; END $$");
            sql("CREATE TRIGGER refuse_state BEFORE INSERT OR UPDATE ON charging_session FOR EACH ROW "
                    + "EXECUTE FUNCTION refuse_state()");
            DiameterMessage i = ccr(0, 1, "refused;1", 1000L, null);
            assertEquals(5012, resultCode(toA.request(i)));
            assertEquals(0, balance()[1], "no hold without its session's state");
            assertEquals(0, a.openSessions(), "nor a session in the node");

            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "refused;2", 1000L, null))));
            assertEquals(2001, resultCode(toA.request(ccr(1, 2, "refused;2", 1000L, 600L))));
            DiameterMessage t = ccr(2, 3, "refused;2", null, 300L);
            assertEquals(5012, resultCode(toA.request(t)));
            assertEquals(START - 600, balance()[0], "no settlement without its session's closed state");
            assertEquals(1000, balance()[1], "nor its hold released");

            sql("DROP TRIGGER refuse_state ON charging_session");
            DiameterMessage ended = toA.request(retransmitted(t));
            assertEquals(2001, resultCode(ended));
            assertEquals(2001, resultCode(toA.request(retransmitted(t))), "its retransmission answered again");
            DiameterMessage opened = toA.request(retransmitted(i));
            assertEquals(2001, resultCode(opened));
            assertEquals(1000, granted(opened));
        }
        assertEquals(START - 900, balance()[0], "charged once");
        assertEquals(1000, balance()[1], "refused;1's hold, once");
        List<UsageRecord> rs = records();
        assertEquals(1, rs.stream().filter(r -> "CCR_T".equals(r.terminationCause())
                && r.sessionId().startsWith("refused")).count(), rs.toString());
    }

    @Test
    void theSessionsOfAStoppedNodeContinueOnTheOther() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a)) {
            for (int s = 0; s < 5; s++) {
                assertEquals(2001, resultCode(toA.request(ccr(0, 1, "gone;" + s, 1000L, null))));
            }
        }
        a.stop(); // no DPR to the PCEF: its next requests go to the secondary
        nodes.remove(a);
        try (TestPeer toB = peer(b)) {
            for (int s = 0; s < 5; s++) {
                DiameterMessage u = toB.request(ccr(1, 2, "gone;" + s, 1000L, 400L));
                assertEquals(2001, resultCode(u));
                assertEquals(1000, granted(u));
                assertEquals(2001, resultCode(toB.request(ccr(2, 3, "gone;" + s, null, 250L))));
            }
        }
        assertEquals(START - 5 * 650, balance()[0], "exact to the octet");
        assertEquals(0, balance()[1], "every hold settled or released");
    }

    /**
     * Node A a process of its own, killed with SIGKILL mid-session (no DPR, no stop): node B
     * answers the next requests of A's sessions; those the PCEF does not move are released by B
     * once A's heartbeat is older than the node timeout.
     */
    @Test
    void theSessionsOfAKilledNodeContinueOnTheOtherOrAreReleasedOnce(@org.junit.jupiter.api.io.TempDir
                                                                     java.nio.file.Path home) throws Exception {
        provision();
        int port = org.gyocs.node.ListeningPorts.freePort();
        Process a = NodeProcess.start(home, port, "--host", "ocs-a.test.local", "--store", url, "--store-user",
                "postgres", "--default-octets", "1000");
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(3));
        try {
            try (TestPeer toA = NodeProcess.peer(a, home, port)) {
                toA.handshake();
                for (int s = 0; s < 6; s++) {
                    assertEquals(2001, resultCode(toA.request(ccr(0, 1, "killed;" + s, 1000L, null))));
                    assertEquals(2001, resultCode(toA.request(ccr(1, 2, "killed;" + s, 1000L, 100L))));
                }
            }
        } finally {
            a.destroyForcibly(); // SIGKILL
            assertTrue(a.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
        }
        assertEquals(6 * 1000, balance()[1], "A's holds outlive it");
        try (TestPeer toB = peer(b)) {
            for (int s = 0; s < 3; s++) { // the PCEF moves these to B
                assertEquals(2001, resultCode(toB.request(ccr(2, 2, "killed;" + s, 1000L, 300L))));
                assertEquals(2001, resultCode(toB.request(ccr(3, 3, "killed;" + s, null, 200L))));
            }
        }
        awaitNothingHeld(30, "the three left on A released by B");
        assertEquals(START - 6 * 100 - 3 * 500, balance()[0], "exact to the octet");
        Thread.sleep(1500);
        assertEquals(3, expired(b), "each released once");
        List<UsageRecord> rs = records();
        assertEquals(3, rs.stream().filter(r -> "CCR_T".equals(r.terminationCause())).count(), rs.toString());
        assertEquals(3, rs.stream().filter(r -> "NODE_LOST".equals(r.terminationCause())).count(), rs.toString());
    }

    @Test
    void theSessionsOfANodeWhoseHeartbeatStoppedAreReleasedOnce() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(2));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(2));
        GyDiameterApplication c = node("ocs-c", GRANT_1000, Duration.ofSeconds(2));
        try (TestPeer toA = peer(a)) {
            for (int s = 0; s < 3; s++) {
                assertEquals(2001, resultCode(toA.request(ccr(0, 1, "lost;" + s, 1000L, null))));
            }
            assertEquals(2001, resultCode(toA.request(ccr(1, 2, "lost;0", 1000L, 100L))));
        }
        assertEquals(3000, balance()[1]);
        a.stop();
        nodes.remove(a);
        awaitNothingHeld(20, "B or C released what A's sessions held");
        assertEquals(START - 100, balance()[0], "and debited nothing more");
        Thread.sleep(1500); // a second claim would come within a supervision round or two
        assertEquals(3, expired(b) + expired(c), "each released once");
        List<UsageRecord> rs = records();
        assertEquals(3, rs.size());
        assertTrue(rs.stream().allMatch(r -> "NODE_LOST".equals(r.terminationCause()) && r.ended() != null), rs.toString());
        // and a request for one of them now is for a session nobody holds
        try (TestPeer toB = peer(b)) {
            assertEquals(5002, resultCode(toB.request(ccr(2, 2, "lost;1", 1000L, 10L))));
        }
    }

    /**
     * Node A lives, but its heartbeat is held up past the node timeout (here by a lock on its
     * row; in the field, a store out of A's reach): node B takes A's session, releases its hold
     * and ends its record. Once A's heartbeat is written again, A reads its sessions from the
     * store: the session B took is unknown (5002), as on B, instead of going on with its usage
     * debited from what is free and kept on a record already ended; one B did not take goes on.
     */
    @Test
    void aNodeWhoseHeartbeatWasHeldUpReadsItsSessionsAgain() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(2));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(2));
        try (TestPeer toA = peer(a)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "heldup;1", 1000L, null))));
            try (java.sql.Connection lock = java.sql.DriverManager.getConnection(url, "postgres", null)) {
                lock.setAutoCommit(false);
                try (java.sql.Statement st = lock.createStatement()) {
                    st.execute("SELECT 1 FROM ocs_node WHERE name = 'ocs-a.test.local' FOR UPDATE");
                }
                awaitNothingHeld(20, "B released the hold of A's session");
                lock.rollback();
            }
            assertEquals(1, expired(b), "taken once, by B");
            Thread.sleep(2500); // A's next beats are written
            assertEquals(5002, resultCode(toA.request(ccr(1, 2, "heldup;1", 1000L, 100L))),
                    "the session B took is unknown on A too");
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "heldup;2", 1000L, null))), "A serves");
            assertEquals(2001, resultCode(toA.request(ccr(1, 3, "heldup;2", null, 300L))));
        }
        assertEquals(START - 300, balance()[0], "nothing debited for the session B took");
        assertEquals(0, balance()[1]);
        List<UsageRecord> rs = records();
        assertTrue(rs.stream().anyMatch(r -> "heldup;1".equals(r.sessionId()) && "NODE_LOST".equals(r.terminationCause())),
                rs.toString());
    }

    @Test
    void aNodeRestartedWithTheSameIdentityKeepsItsSessions() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(2));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(2));
        try (TestPeer toA = peer(a)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "restart;1", 1000L, null))));
        }
        a.stop();
        nodes.remove(a);
        GyDiameterApplication again = node("ocs-a", GRANT_1000, Duration.ofSeconds(2));
        Thread.sleep(4000); // twice the node timeout: its heartbeat is fresh, nothing to release
        assertEquals(0, expired(b) + expired(again), "not released: its node is back");
        try (TestPeer toA = peer(again)) {
            DiameterMessage u = toA.request(ccr(1, 2, "restart;1", 1000L, 400L));
            assertEquals(2001, resultCode(u), "the restarted node continues its session");
            assertEquals(2001, resultCode(toA.request(ccr(2, 3, "restart;1", null, 100L))));
        }
        assertEquals(START - 500, balance()[0]);
        assertEquals(0, balance()[1]);
    }

    /** A client that uses a Session-Id again after its CCR-T (the freeDiameter test client does) opens a new session. */
    @Test
    void aSessionIdUsedAgainAfterItsTerminationIsANewSessionOnEveryNode() throws Exception {
        provision();
        GyDiameterApplication a = node("ocs-a", GRANT_1000, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", GRANT_1000, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            for (int round = 0; round < 2; round++) {
                assertEquals(2001, resultCode(toA.request(ccr(0, 1, "reused;1", 1000L, null))), "round " + round);
                assertEquals(2001, resultCode(toB.request(ccr(1, 2, "reused;1", 1000L, 300L))), "round " + round);
                assertEquals(2001, resultCode(toA.request(ccr(2, 3, "reused;1", null, 100L))), "round " + round);
            }
        }
        assertEquals(START - 800, balance()[0]);
        assertEquals(0, balance()[1]);
        assertEquals(2, records().stream().filter(r -> "CCR_T".equals(r.terminationCause())).count());
    }

    /** A busy session is never taken for a silent one, though its usual updates are not all saved. */
    @Test
    void aSessionUpdatedWithinItsTccLivesOnPastIt() throws Exception {
        provision();
        Map<String, String> shortTcc = Map.of("default-octets", "1000", "validity-time", "1", "tcc", "2");
        GyDiameterApplication a = node("ocs-a", shortTcc, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", shortTcc, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "busy;1", 1000L, null))));
            for (int n = 1; n <= 8; n++) { // 5.6 s: almost three times its Tcc
                Thread.sleep(700);
                assertEquals(2001, resultCode(toA.request(ccr(n, 2, "busy;1", 1000L, 10L))), "update " + n);
            }
            assertEquals(2001, resultCode(toA.request(ccr(9, 3, "busy;1", null, 10L))));
        }
        assertEquals(0, expired(a) + expired(b), "never released as silent");
        assertEquals(START - 90, balance()[0]);
        assertEquals(0, balance()[1]);
    }

    @Test
    void aSessionSilentPastItsTccOnEveryNodeIsReleasedOnce() throws Exception {
        provision();
        Map<String, String> shortTcc = Map.of("default-octets", "1000", "validity-time", "1", "tcc", "2");
        GyDiameterApplication a = node("ocs-a", shortTcc, Duration.ofSeconds(30));
        GyDiameterApplication b = node("ocs-b", shortTcc, Duration.ofSeconds(30));
        try (TestPeer toA = peer(a); TestPeer toB = peer(b)) {
            assertEquals(2001, resultCode(toA.request(ccr(0, 1, "quiet;1", 1000L, null))));
            assertEquals(2001, resultCode(toB.request(ccr(1, 2, "quiet;1", 1000L, 200L))));
        }
        awaitNothingHeld(20, "nothing left held");
        assertEquals(START - 200, balance()[0]);
        Thread.sleep(1500);
        assertEquals(1, expired(a) + expired(b));
        UsageRecord r = records().get(0);
        assertEquals("TCC_EXPIRED", r.terminationCause());
        assertNotNull(r.ended());
    }
}
