package org.gyocs.gy.nio;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.SyncPoints;

/**
 * The answers of one event loop that wait for the store's sync: decided on the loop without
 * waiting (see {@link SyncPoints}), each goes out once the sync covering what it acknowledges is
 * done, in the order they were decided. The store's thread wakes the loop once per sync, and only
 * when something waits. An answer whose sync does not come within the store's deadline, or whose
 * store failed, is refused instead (5012), as a decision that waited for the sync would be.
 * Everything but {@link #synced} runs on the loop's thread.
 */
final class SyncedAnswers implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(SyncedAnswers.class);

    /** What to do with one answer once its sync is done, or once it will not be. */
    interface Outcome {
        void durable();

        void refused(String why);
    }

    private record Waiting(long point, long since, Outcome outcome) {
    }

    private final SyncPoints sync;
    /** Runs a task on the loop's thread. */
    private final java.util.concurrent.Executor loop;
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    /** Whether anything waits: read by the store's thread, so that a sync nobody waits for wakes nobody. */
    private volatile boolean any;
    /** A wake-up is queued on the loop already: syncs in between add none. */
    private final AtomicBoolean wakeQueued = new AtomicBoolean();
    private final AutoCloseable subscription;

    SyncedAnswers(SyncPoints sync, java.util.concurrent.Executor loop) {
        this.sync = sync;
        this.loop = loop;
        this.subscription = sync.onSync(this::synced);
    }

    /** Whether a decision now can be made on the loop: the store needs to wait for nothing but its sync. */
    boolean ready() {
        return sync.ready();
    }

    /** Runs a decision on the loop without waiting for the store's sync; follow it with {@link #whenDurable}. */
    <T> T decide(java.util.function.Supplier<T> decision) {
        return sync.withoutWaiting(decision);
    }

    /**
     * The outcome of an answer just decided: durable once the sync covering every change made so
     * far is done. A retransmission answered from memory waits for its first copy's sync this way.
     */
    void whenDurable(Outcome outcome) {
        long point = sync.current();
        if (waiting.isEmpty() && point <= sync.synced()) {
            outcome.durable();
            return;
        }
        waiting.add(new Waiting(point, System.nanoTime(), outcome));
        any = true;
        release(); // the sync may have come before any was set: nobody would wake the loop for it
    }

    /** The store's thread: a sync is done, or the store failed. */
    private void synced() {
        if (any && wakeQueued.compareAndSet(false, true)) {
            loop.execute(() -> {
                wakeQueued.set(false);
                release();
            });
        }
    }

    /** Sends what the syncs done cover; refuses everything waiting once the store failed. */
    private void release() {
        long done = sync.synced();
        Waiting w;
        while ((w = waiting.peek()) != null && w.point() <= done) {
            waiting.poll();
            w.outcome().durable();
        }
        String failure = sync.failure();
        if (failure != null) {
            refuseAll(failure);
        }
        any = !waiting.isEmpty();
    }

    /** On each tick of the loop: an answer whose sync has not come within the deadline is refused. */
    void expire(long now) {
        if (waiting.isEmpty()) {
            return;
        }
        release();
        long deadline = sync.deadlineNanos();
        Waiting w;
        int refused = 0;
        while ((w = waiting.peek()) != null && now - w.since() > deadline) {
            waiting.poll();
            refused++;
            // not acknowledged: if the sync comes later, the change stands, and a retransmission
            // (T-bit) finds its change key
            w.outcome().refused("The balance journal was not synced within " + deadline / 1_000_000 + " ms");
        }
        if (refused > 0) {
            log.warn("{} answers refused: the balance journal was not synced within {} ms", refused, deadline / 1_000_000);
        }
        any = !waiting.isEmpty();
    }

    private void refuseAll(String why) {
        Waiting w;
        while ((w = waiting.poll()) != null) {
            w.outcome().refused(why);
        }
    }

    /** The loop has ended: what still waits is neither sent nor refused (its connections are closed). */
    @Override
    public void close() {
        waiting.clear();
        any = false;
        try {
            subscription.close();
        } catch (Exception e) {
            log.debug("Closing a sync subscription: {}", e.toString());
        }
    }
}
