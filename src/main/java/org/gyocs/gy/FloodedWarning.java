package org.gyocs.gy;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A warning that comes in floods (3004 when a peer sends faster than the node decides, 3003 from
 * a PCEF configured with the wrong realm, which sends every request so): one line a second, which
 * says how many more came since the line before, instead of a line per request.
 */
final class FloodedWarning {
    private static final long INTERVAL_NANOS = 1_000_000_000L;

    private final AtomicLong loggedAt = new AtomicLong(System.nanoTime() - 2 * INTERVAL_NANOS);
    private final LongAdder notLogged = new LongAdder();

    /**
     * One more of these warnings.
     *
     * @return -1 when this one is only counted, else how many were counted since the last line
     *     (this one is to be logged, with that number)
     */
    long occurred() {
        long now = System.nanoTime();
        long last = loggedAt.get();
        if (now - last < INTERVAL_NANOS || !loggedAt.compareAndSet(last, now)) {
            notLogged.increment();
            return -1;
        }
        return notLogged.sumThenReset();
    }

    /** How many were counted and not logged, now taken (at a stop: no line comes after it). */
    long notYetLogged() {
        return notLogged.sumThenReset();
    }

    /** The end of the logged line: how many more came since the one before, or nothing. */
    static String since(long more) {
        return more <= 0 ? "" : "; " + more + " more refused since the last such line";
    }
}
