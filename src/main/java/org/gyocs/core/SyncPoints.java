package org.gyocs.core;

import java.util.function.Supplier;

/**
 * A store whose changes are made durable by a sync that follows them (the embedded store's
 * journal, synced once for every change queued meanwhile). A transport may then decide a request
 * on its own thread, not waiting for that sync, and send the answer once the sync that covers it
 * is done: one wake-up per sync instead of a parked thread per request (the hand-offs to and from
 * such threads were a third of mock mode's CPU per charged CCR). No answer goes out before
 * what it acknowledges is durable: that is the transport's side of this contract.
 */
public interface SyncPoints {
    /** Whether a decision now waits for nothing but the sync: the balances are read and the store has not failed. */
    boolean ready();

    /** Runs a decision on this thread; the store's changes in it return before they are synced. */
    <T> T withoutWaiting(Supplier<T> decision);

    /** The sync after which every change made so far, on any thread, is durable. */
    long current();

    /** The last sync done. */
    long synced();

    /** Why nothing still to be synced will be (the store failed), or null. */
    String failure();

    /**
     * Waits until {@code point} is synced; throws (a RuntimeException saying why) when the store
     * failed first or the deadline passed. For answers decided where a thread may wait: one may
     * repeat from memory a decision made without waiting (a retransmission), not yet synced.
     */
    void await(long point);

    /** The longest an answer waits for its sync before it is refused (5012) instead. */
    long deadlineNanos();

    /**
     * Calls {@code listener} on the store's thread after each sync and when the store fails;
     * closing the returned handle stops it. The listener must only hand the work to its own thread.
     */
    AutoCloseable onSync(Runnable listener);
}
