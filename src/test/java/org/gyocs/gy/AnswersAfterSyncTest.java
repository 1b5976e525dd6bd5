package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.store.Bucket;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mock mode decides charged requests on its event loop and sends each answer once the embedded
 * store's journal has synced what it acknowledges: not before (the store's sync points held back
 * by the test), and when the journal fails, 5012, never 2001, with no debit kept for it.
 */
public class AnswersAfterSyncTest {
    public static final String SUB = "491700000001";
    @TempDir
    Path tmp;

    /** The embedded store's sync points, with what they report as synced held back while {@code held}. */
    public static final class HeldSyncs implements org.gyocs.core.SyncPoints {
        final org.gyocs.core.SyncPoints real;
        final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
        public volatile boolean held;

        HeldSyncs(org.gyocs.core.SyncPoints real) {
            this.real = real;
            real.onSync(() -> listeners.forEach(Runnable::run));
        }

        public void release() {
            held = false;
            listeners.forEach(Runnable::run);
        }

        @Override
        public boolean ready() {
            return real.ready();
        }

        @Override
        public <T> T withoutWaiting(java.util.function.Supplier<T> decision) {
            return real.withoutWaiting(decision);
        }

        @Override
        public long current() {
            return real.current();
        }

        @Override
        public long synced() {
            return held ? 0 : real.synced();
        }

        @Override
        public String failure() {
            return real.failure();
        }

        @Override
        public long deadlineNanos() {
            return real.deadlineNanos();
        }

        @Override
        public void await(long point) {
            try {
                for (int i = 0; i < 1000 && held; i++) {
                    Thread.sleep(5); // as a sync still to come
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (held) {
                throw new IllegalStateException("not synced within 5 s");
            }
            real.await(point);
        }

        @Override
        public AutoCloseable onSync(Runnable listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }
    }

    /**
     * An embedded store with one subscriber (100,000 octets), its sync points held back on demand,
     * and a node of either mode on it, started; closing stops the node and closes the store.
     */
    public static final class Rig implements AutoCloseable {
        public final org.gyocs.store.JdbcBalanceStore store;
        public final HeldSyncs syncs;
        final org.gyocs.core.NodeStatistics stats = new org.gyocs.core.NodeStatistics();
        public final org.gyocs.node.DiameterNode node;
        /** Closed with the rig: its session supervision thread would go on after the store closed. */
        final org.gyocs.core.OnlineCharging core;

        public Rig(Path data, boolean mock) throws Exception {
            store = org.gyocs.store.JdbcBalanceStore.open(Stores.embeddedFile(data), null, null, 4);
            store.add(List.of(new Bucket(0, SUB, org.gyocs.core.UnitType.OCTETS, 100_000, 0, null, null)), false);
            syncs = new HeldSyncs(store.syncPoints().orElseThrow());
            core = new org.gyocs.core.OnlineCharging(
                    OcsConfiguration.of(java.util.Map.of("default-octets", "1000")).chargingPolicy(), store, stats);
            org.gyocs.node.NodeSettings settings = new org.gyocs.node.NodeSettings("ocs.test.local", "test.local",
                    "127.0.0.1", 0, Path.of("config/jdiameter-config.xml"), false,
                    new org.gyocs.node.TransportLimits(65_536, 10, 30_000, 10_000));
            GyPipeline pipeline = new GyPipeline(core, stats, "ocs.test.local", "test.local");
            pipeline.answersAfterSync(syncs);
            node = mock ? new org.gyocs.gy.nio.MockGyNode(settings, pipeline)
                    : new org.gyocs.gy.jdiameter.JDiameterGyNode(settings, pipeline);
            node.start();
        }

        /** A peer past its CER, once the store has read its balances (after it opens). */
        public TestPeer peer() throws Exception {
            TestPeer p = new TestPeer(node.port());
            assertEquals(2001, resultCode(p.handshake()));
            for (int i = 0; i < 100 && !syncs.ready(); i++) {
                Thread.sleep(20);
            }
            return p;
        }

        @Override
        public void close() {
            node.stop();
            core.close();
            store.close();
        }
    }

    /**
     * {@code n} CCR-Events of the subscriber asking 1000 octets each, hop-by-hop 1 to n, session
     * ids {@code prefix + i}, encoded back to back for one write.
     */
    public static byte[] events(String prefix, int n) {
        List<byte[]> encoded = new java.util.ArrayList<>();
        for (int i = 1; i <= n; i++) {
            List<Avp> event = GyRequests.header(prefix + i, 4, 0);
            event.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
            encoded.add(org.gyocs.codec.DiameterCodec.encode(GyRequests.ccr(i, event)));
        }
        return TestPeer.concat(encoded);
    }

    /** Waits (10 s at most) until the subscriber's balance, as the node has it, is {@code amount}. */
    public static void awaitAmount(org.gyocs.store.JdbcBalanceStore store, long amount, String what) throws Exception {
        for (int i = 0; i < 500 && store.buckets(SUB).get(0).amount() != amount; i++) {
            Thread.sleep(20);
        }
        assertEquals(amount, store.buckets(SUB).get(0).amount(), what);
    }

    /** Nothing arrives from the node for {@code millis}. */
    public static void assertNothingFor(TestPeer p, int millis, String why) throws Exception {
        p.socket().setSoTimeout(millis);
        try {
            DiameterMessage early = p.read();
            org.junit.jupiter.api.Assertions.fail(why + ": " + early);
        } catch (java.net.SocketTimeoutException expected) {
            // nothing sent
        } finally {
            p.socket().setSoTimeout(5000);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "mock {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void noChargedAnswerGoesOutBeforeItsSyncAndEachGoesOutOnceItIsDone(boolean mock) throws Exception {
        try (Rig rig = new Rig(tmp.resolve("data"), mock)) {
            org.gyocs.store.JdbcBalanceStore store = rig.store;
            HeldSyncs syncs = rig.syncs;
            try (TestPeer p = rig.peer()) {
                syncs.held = true;
                p.write(events("held;", 3)); // one write: Nagle would hold the others back
                // decided (debited in memory), not yet reported synced
                awaitAmount(store, 100_000 - 3000, "all three decided");
                assertNothingFor(p, 300, "no answer while its sync is not reported done");
                syncs.release();
                java.util.Set<Integer> answered = new java.util.TreeSet<>();
                for (int i = 1; i <= 3; i++) {
                    DiameterMessage a = p.read(); // in any order: jDiameter decides them on several threads
                    answered.add(a.hopByHop());
                    assertEquals(2001, resultCode(a));
                }
                assertEquals(java.util.Set.of(1, 2, 3), answered);
            }
            assertEquals(3L, rig.stats.answersSent(), rig.stats.snapshot().toString());
        }
    }

    /**
     * A CCR-T decided without waiting for its sync, then sent again (T-bit) before that sync: the
     * repeat is answered from memory, and not before the sync either (jDiameter answers it outside
     * its session, mock mode as any charged request); debited once.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "mock {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aRetransmissionIsNotAnsweredBeforeTheSyncOfItsFirstCopy(boolean mock) throws Exception {
        try (Rig rig = new Rig(tmp.resolve("data"), mock)) {
            org.gyocs.store.JdbcBalanceStore store = rig.store;
            HeldSyncs syncs = rig.syncs;
            try (TestPeer p = rig.peer()) {
                List<Avp> ccrI = GyRequests.header("rt;1", 1, 0);
                ccrI.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
                assertEquals(2001, resultCode(p.request(GyRequests.ccr(1, ccrI))));
                syncs.held = true;
                List<Avp> ccrT = GyRequests.header("rt;1", 3, 1);
                ccrT.add(GyRequests.mscc(100L, 1L, null, GyRequests.usuOctets(500)));
                DiameterMessage t = GyRequests.ccr(2, ccrT);
                DiameterMessage again = new DiameterMessage(t.flags() | DiameterMessage.FLAG_RETRANSMITTED,
                        t.commandCode(), t.applicationId(), t.hopByHop(), t.endToEnd(), t.avps());
                p.write(org.gyocs.codec.DiameterCodec.encode(t));
                awaitAmount(store, 100_000 - 500, "the CCR-T decided: settled in memory, its sync held back");
                p.write(org.gyocs.codec.DiameterCodec.encode(again));
                assertNothingFor(p, 400, "answered before the sync");
                syncs.release();
                for (int i = 0; i < 2; i++) {
                    DiameterMessage a = p.read();
                    assertEquals(2, a.hopByHop());
                    assertEquals(2001, resultCode(a));
                }
                assertEquals(100_000 - 500, store.buckets(SUB).get(0).amount(), "debited once");
            }
        }
    }

    @Test
    void anAnswerWhoseJournalSyncFailsIsRefusedAndItsDebitNotKept() throws Exception {
        Path csv = tmp.resolve("s.csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets,100000,,\n");
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .host("ocs.test.local").realm("test.local")
                .charging(OcsConfiguration.of(java.util.Map.of("default-octets", "1000")).chargingPolicy())
                .store(Stores.embeddedFile(tmp.resolve("data"))).subscribers(csv).build();
        app.start(false);
        try (TestPeer p = new TestPeer(app.getPort())) {
            assertEquals(2001, resultCode(p.handshake()));
            List<Avp> event = GyRequests.header("synced;1", 4, 0);
            event.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
            assertEquals(2001, resultCode(p.request(GyRequests.ccr(1, event))), "a debit synced, then answered");
            // the journal's file fails, as a full disk would: the next sync throws
            Object store = app.subscriberAdmin();
            java.lang.reflect.Field f = Class.forName("org.gyocs.store.EmbeddedBalanceStore").getDeclaredField("journal");
            f.setAccessible(true);
            Object journal = f.get(store);
            java.lang.reflect.Method close = journal.getClass().getDeclaredMethod("close");
            close.setAccessible(true);
            close.invoke(journal);
            List<Avp> second = GyRequests.header("synced;2", 4, 0);
            second.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
            p.write(org.gyocs.codec.DiameterCodec.encode(GyRequests.ccr(2, second)));
            DiameterMessage a;
            do {
                a = p.read();
            } while (a.commandCode() != CommandCodes.CREDIT_CONTROL);
            assertEquals(2, a.hopByHop());
            assertEquals(5012, resultCode(a), "decided before the sync, refused when it failed");
        }
        for (int i = 0; i < 200 && app.failure() == null; i++) {
            Thread.sleep(50); // a failed store stops the node
        }
        org.junit.jupiter.api.Assertions.assertNotNull(app.failure());
        app.stop(); // returns once that stop has closed the store
        assertFalse(app.isRunning());
        GyDiameterApplication again = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .store(Stores.embeddedFile(tmp.resolve("data"))).build();
        again.start(false);
        try {
            long left = again.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
            assertEquals(100_000 - 1000, left, "the acknowledged debit, not the refused one");
        } finally {
            again.stop();
        }
    }
}
