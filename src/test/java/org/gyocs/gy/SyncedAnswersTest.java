package org.gyocs.gy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.function.Supplier;

import org.gyocs.core.SyncPoints;
import org.junit.jupiter.api.Test;

/**
 * Answers decided on an event loop without waiting for the store's sync go out only once that
 * sync is done, in their order; a failed store or a sync that does not come refuses them.
 */
class SyncedAnswersTest {
    /** A store's sync points as a test moves them; its listeners are what the journal thread would call. */
    static class Points implements SyncPoints {
        long current;
        long synced;
        String failure;
        long deadline = 1_000_000_000L;
        final List<Runnable> listeners = new ArrayList<>();

        void sync(long upTo) {
            synced = upTo;
            listeners.forEach(Runnable::run);
        }

        @Override
        public boolean ready() {
            return failure == null;
        }

        @Override
        public <T> T withoutWaiting(Supplier<T> decision) {
            return decision.get();
        }

        @Override
        public long current() {
            return current;
        }

        @Override
        public long synced() {
            return synced;
        }

        @Override
        public String failure() {
            return failure;
        }

        @Override
        public long deadlineNanos() {
            return deadline;
        }

        @Override
        public void await(long point) {
            if (synced() < point) {
                throw new IllegalStateException("not synced");
            }
        }

        @Override
        public AutoCloseable onSync(Runnable listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }
    }

    final Points points = new Points();
    /** The loop's task queue: run by the test, as the loop's thread would. */
    final Queue<Runnable> loopTasks = new ArrayDeque<>();
    final SyncedAnswers answers = new SyncedAnswers(points, loopTasks::add);
    final List<String> out = new ArrayList<>();

    SyncedAnswers.Outcome answer(String name) {
        return new SyncedAnswers.Outcome() {
            @Override
            public void durable() {
                out.add(name);
            }

            @Override
            public void refused(String why) {
                out.add(name + " refused: " + why);
            }
        };
    }

    void runLoop() {
        Runnable r;
        while ((r = loopTasks.poll()) != null) {
            r.run();
        }
    }

    @Test
    void anAnswerGoesOutOnlyOnceItsSyncIsDone() {
        points.current = 7;
        points.synced = 6;
        answers.whenDurable(answer("a"));
        points.current = 8;
        answers.whenDurable(answer("b"));
        runLoop();
        assertEquals(List.of(), out, "nothing before its sync");
        points.sync(7);
        assertEquals(List.of(), out, "the loop's thread sends, not the store's");
        runLoop();
        assertEquals(List.of("a"), out);
        points.sync(8);
        runLoop();
        assertEquals(List.of("a", "b"), out);
    }

    @Test
    void anAnswerWhoseChangesAreSyncedAlreadyGoesOutAtOnceButNotBeforeOneWaitingBeforeIt() {
        points.current = 3;
        points.synced = 3;
        answers.whenDurable(answer("synced"));
        assertEquals(List.of("synced"), out);
        points.current = 4;
        answers.whenDurable(answer("waits"));
        points.current = 4; // a retransmission answered from memory: its first copy's batch is 4
        answers.whenDurable(answer("again"));
        assertEquals(List.of("synced"), out, "not before the first copy's sync");
        points.sync(4);
        runLoop();
        assertEquals(List.of("synced", "waits", "again"), out);
    }

    @Test
    void aSyncNobodyWaitsForWakesNobodyAndManySyncsWakeTheLoopOnce() {
        points.sync(1);
        assertTrue(loopTasks.isEmpty(), "nothing waits: no wake-up");
        points.current = 2;
        answers.whenDurable(answer("a"));
        points.sync(2);
        points.sync(2);
        points.sync(2);
        assertEquals(1, loopTasks.size(), "one wake-up queued for the three");
        runLoop();
        assertEquals(List.of("a"), out);
    }

    @Test
    void aFailedStoreRefusesWhatIsNotSyncedAndSendsWhatIs() {
        points.current = 5;
        answers.whenDurable(answer("a"));
        points.current = 6;
        answers.whenDurable(answer("b"));
        points.synced = 5;
        points.failure = "disk full";
        points.sync(5);
        runLoop();
        assertEquals(List.of("a", "b refused: disk full"), out);
    }

    @Test
    void anAnswerWhoseSyncDoesNotComeWithinTheDeadlineIsRefused() {
        points.deadline = 10_000_000_000L;
        points.current = 9;
        answers.whenDurable(answer("a"));
        answers.expire(System.nanoTime());
        assertEquals(List.of(), out, "within the deadline: waits");
        answers.expire(System.nanoTime() + 11_000_000_000L);
        assertEquals(1, out.size());
        assertTrue(out.get(0).startsWith("a refused: The balance journal was not synced within 10000 ms"), out.get(0));
        points.sync(9);
        runLoop();
        assertEquals(1, out.size(), "refused once, never sent after");
    }

    /** Many deciding threads (jDiameter's listeners) at once with the releasing thread: each answer out once, none early. */
    @Test
    void manyThreadsDecidingWhileSyncsComeSendEachAnswerOnceAndNoneEarly() throws Exception {
        java.util.concurrent.atomic.AtomicLong batches = new java.util.concurrent.atomic.AtomicLong(1);
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        List<Runnable> syncListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
        SyncPoints live = new Points() {
            @Override
            public long current() {
                return batches.get();
            }

            @Override
            public long synced() {
                return done.get();
            }

            @Override
            public AutoCloseable onSync(Runnable listener) {
                syncListeners.add(listener);
                return () -> syncListeners.remove(listener);
            }
        };
        java.util.concurrent.ExecutorService releaser = java.util.concurrent.Executors.newSingleThreadExecutor();
        SyncedAnswers gate = new SyncedAnswers(live, releaser);
        java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger early = new java.util.concurrent.atomic.AtomicInteger();
        int threads = 8;
        int each = 2_000;
        java.util.concurrent.ExecutorService deciders = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            for (int t = 0; t < threads; t++) {
                deciders.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        long needed = batches.get(); // what this decision changed is in this batch
                        gate.whenDurable(new SyncedAnswers.Outcome() {
                            @Override
                            public void durable() {
                                if (done.get() < needed) {
                                    early.incrementAndGet();
                                }
                                sent.incrementAndGet();
                            }

                            @Override
                            public void refused(String why) {
                                early.incrementAndGet();
                            }
                        });
                    }
                });
            }
            // the journal thread: a batch closed and synced, syncListeners told, until every answer is out
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (sent.get() < threads * each && System.nanoTime() < deadline) {
                long batch = batches.getAndIncrement();
                done.set(batch);
                syncListeners.forEach(Runnable::run);
                Thread.sleep(0, 200_000);
            }
            done.set(batches.get());
            syncListeners.forEach(Runnable::run);
            for (int i = 0; i < 500 && sent.get() < threads * each; i++) {
                Thread.sleep(10);
            }
        } finally {
            deciders.shutdownNow();
            releaser.shutdownNow();
        }
        assertEquals(threads * each, sent.get(), "every answer out once");
        assertEquals(0, early.get(), "none before its batch was synced, none refused");
    }

    @Test
    void closingStopsListening() throws Exception {
        answers.close();
        assertTrue(points.listeners.isEmpty());
    }
}
