package org.gyocs.gy;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.SyncPoints;

/**
 * Answers decided without waiting for the store's sync (see {@link SyncPoints}, and
 * {@link GyPipeline#decideSentLater}): each goes out once the sync covering what it acknowledges
 * is done, never before. The store's thread wakes the releasing thread (a mock event loop, or
 * jDiameter mode's sender) once per sync, and only when something waits. An answer whose sync does
 * not come within the store's deadline, or whose store failed, is refused instead (5012), as a
 * decision that waited for the sync would be. {@link #whenDurable} may be called on any thread;
 * the outcomes run on the releasing thread, or at once on the caller's when already synced.
 */
public final class SyncedAnswers implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(SyncedAnswers.class);

    /** What to do with one answer once its sync is done, or once it will not be. */
    public interface Outcome {
        void durable();

        void refused(String why);
    }

    private record Waiting(long point, long since, Outcome outcome) {
    }

    private final SyncPoints sync;
    /** Runs a task on the releasing thread. */
    private final Executor releaser;
    /** Added by any thread, taken by the releasing thread. */
    private final Queue<Waiting> incoming = new ConcurrentLinkedQueue<>();
    /** The releasing thread's own: what it took and still waits, oldest first. */
    private final List<Waiting> waiting = new ArrayList<>();
    /** How many wait, in either list: read by the store's thread, so that a sync nobody waits for wakes nobody. */
    private final AtomicInteger count = new AtomicInteger();
    /** A wake-up is queued on the releasing thread already: syncs in between add none. */
    private final AtomicBoolean wakeQueued = new AtomicBoolean();
    private final AutoCloseable subscription;

    public SyncedAnswers(SyncPoints sync, Executor releaser) {
        this.sync = sync;
        this.releaser = releaser;
        this.subscription = sync.onSync(this::synced);
    }

    /** The store's sync points. */
    public SyncPoints points() {
        return sync;
    }

    /**
     * The outcome of an answer just decided on this thread: durable once the sync covering every
     * change made so far is done. A retransmission answered from memory waits for its first copy's
     * sync this way.
     */
    public void whenDurable(Outcome outcome) {
        long point = sync.current();
        if (count.get() == 0 && point <= sync.synced()) {
            outcome.durable();
            return;
        }
        count.incrementAndGet();
        incoming.add(new Waiting(point, System.nanoTime(), outcome));
        if (point <= sync.synced() || sync.failure() != null) {
            wake(); // the sync came before this was counted: nobody would wake the releaser for it
        }
    }

    /** The store's thread: a sync is done, or the store failed. */
    private void synced() {
        if (count.get() > 0) {
            wake();
        }
    }

    private void wake() {
        if (!closed && wakeQueued.compareAndSet(false, true)) {
            try {
                releaser.execute(() -> {
                    wakeQueued.set(false);
                    release();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                wakeQueued.set(false); // the releasing thread has stopped: nothing waits for it any more
            }
        }
    }

    private volatile boolean closed;

    /** On the releasing thread: sends what the syncs done cover; refuses everything waiting once the store failed. */
    private void release() {
        Waiting w;
        while ((w = incoming.poll()) != null) {
            waiting.add(w);
        }
        long done = sync.synced();
        int kept = 0;
        for (int i = 0; i < waiting.size(); i++) {
            Waiting each = waiting.get(i);
            if (each.point() <= done) {
                count.decrementAndGet();
                guarded(each.outcome()::durable);
            } else {
                waiting.set(kept++, each);
            }
        }
        waiting.subList(kept, waiting.size()).clear();
        String failure = sync.failure();
        if (failure != null) {
            refuse(w2 -> true, failure);
        }
    }

    /** On the releasing thread, periodically: an answer whose sync has not come within the deadline is refused. */
    public void expire(long now) {
        if (count.get() == 0) {
            return;
        }
        release();
        long deadline = sync.deadlineNanos();
        int refused = refuse(w -> now - w.since() > deadline,
                "The balance journal was not synced within " + deadline / 1_000_000 + " ms");
        if (refused > 0) {
            // not acknowledged: if the sync comes later, the change stands, and a retransmission
            // (T-bit) finds its change key
            log.warn("{} answers refused: the balance journal was not synced within {} ms", refused, deadline / 1_000_000);
        }
    }

    private int refuse(java.util.function.Predicate<Waiting> which, String why) {
        int refused = 0;
        int kept = 0;
        for (int i = 0; i < waiting.size(); i++) {
            Waiting each = waiting.get(i);
            if (which.test(each)) {
                count.decrementAndGet();
                refused++;
                guarded(() -> each.outcome().refused(why));
            } else {
                waiting.set(kept++, each);
            }
        }
        waiting.subList(kept, waiting.size()).clear();
        return refused;
    }

    /** One answer's failure costs that answer only, never the others waiting with it. */
    private static void guarded(Runnable outcome) {
        try {
            outcome.run();
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            log.error("Cannot send an answer after its sync: {}", e.toString(), e);
        }
    }

    /**
     * The releasing thread stops (or has): what still waits is neither sent nor refused (its
     * connections close), and the store's syncs no longer wake it.
     */
    @Override
    public void close() {
        closed = true;
        try {
            subscription.close();
        } catch (Exception e) {
            log.debug("Closing a sync subscription: {}", e.toString());
        }
    }
}
