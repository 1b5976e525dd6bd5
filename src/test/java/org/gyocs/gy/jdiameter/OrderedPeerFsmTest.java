package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.jdiameter.client.api.fsm.EventTypes;
import org.jdiameter.client.api.fsm.FsmEvent;
import org.jdiameter.client.api.fsm.IContext;
import org.jdiameter.client.impl.helpers.Parameters;
import org.jdiameter.common.impl.concurrent.ConcurrentEntityFactory;
import org.jdiameter.common.impl.concurrent.ConcurrentFactory;
import org.jdiameter.common.impl.statistic.StatisticManagerImpl;
import org.jdiameter.server.impl.helpers.EmptyConfiguration;
import org.junit.jupiter.api.Test;

/** The repaired peer state machine of OrderedFsmFactory, on jDiameter's own queue and threads. */
class OrderedPeerFsmTest {

    /**
     * A thread waiting for room in a peer's full queue gives up as soon as the peer goes down:
     * its queue thread then ends and leaves the queue full. jDiameter let it wait the whole
     * watchdog time (30 s); the connection's reader waits so, holding the connection's lock, and
     * a node stopping just after it closed a peer that read nothing waited with it.
     */
    @Test
    void aSenderWaitingForRoomInAFullQueueGivesUpWhenThePeerGoesDown() throws Exception {
        EmptyConfiguration config = new EmptyConfiguration(false);
        config.add(Parameters.QueueSize, 2);
        config.add(Parameters.IacTimeOut, 30_000L);
        config.add(Parameters.PeerFSMThreadCount, 1);
        StatisticManagerImpl statistics = new StatisticManagerImpl(config);
        ConcurrentFactory threads = new ConcurrentFactory(config, statistics, new ConcurrentEntityFactory());
        CountDownLatch connecting = new CountDownLatch(1);
        CountDownLatch fail = new CountDownLatch(1);
        // the peer's connection, as the queue thread sees it: its first attempt to connect waits
        // (the queue thread busy, as on a write to a peer that reads nothing), then fails
        IContext context = (IContext) Proxy.newProxyInstance(IContext.class.getClassLoader(),
                new Class<?>[] {IContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "isConnected" -> {
                        connecting.countDown();
                        fail.await(60, TimeUnit.SECONDS);
                        throw new IllegalStateException("the connection failed");
                    }
                    case "removeStatistics" -> { // as the peer goes down: its queue thread ends a little later
                        Thread.sleep(300);
                        yield null;
                    }
                    case "getPeerDescription", "toString" -> "aaa://stuck.test.local";
                    case "isRestoreConnection" -> false;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> null;
                });
        OrderedFsmFactory.OrderedPeerFsm fsm = new OrderedFsmFactory.OrderedPeerFsm(context,
                new ThreadRecordingFactory(threads), config, new PeerStatistics(statistics));
        try {
            fsm.handleEvent(new FsmEvent(EventTypes.START_EVENT));
            assertTrue(connecting.await(10, TimeUnit.SECONDS), "the queue thread is busy");
            fsm.handleEvent(new FsmEvent(EventTypes.TIMEOUT_EVENT));
            fsm.handleEvent(new FsmEvent(EventTypes.TIMEOUT_EVENT)); // the queue is full now
            AtomicReference<Throwable> refused = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    fsm.handleEvent(new FsmEvent(EventTypes.TIMEOUT_EVENT));
                } catch (Throwable e) {
                    refused.set(e);
                }
            });
            reader.start();
            Thread.sleep(300);
            assertTrue(reader.isAlive(), "it waits for room while the queue thread runs");
            long t0 = System.nanoTime();
            fail.countDown(); // the peer goes down: its queue thread ends
            reader.join(10_000);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(!reader.isAlive() && ms < 3_000, "gave up " + ms + " ms after the peer went down");
            assertInstanceOf(org.jdiameter.api.OverloadException.class, refused.get());

            // the next event starts a new queue thread, with an emptied queue, once the old one
            // has ended (jDiameter queued it behind the full queue nobody reads any more)
            t0 = System.nanoTime();
            assertTrue(fsm.handleEvent(new FsmEvent(EventTypes.TIMEOUT_EVENT)));
            ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 3_000, "queued in " + ms + " ms");
        } finally {
            fail.countDown();
            threads.getThreads().forEach(t -> {
                if (t != null) {
                    t.interrupt(); // a queue thread ends when interrupted
                }
            });
            threads.shutdownAllNow();
        }
    }
}
