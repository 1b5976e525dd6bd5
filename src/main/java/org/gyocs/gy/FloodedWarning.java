package org.gyocs.gy;

import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import org.apache.logging.log4j.Logger;

/**
 * A warning that comes in floods (3004 when a peer sends faster than the node decides, 3003 from
 * a PCEF configured with the wrong realm, which sends every request so): one line a second, which
 * says how many more came since the line before and from whom, instead of a line per request.
 */
final class FloodedWarning {
    /** The peers named in a line at most: enough to find every misconfigured PCEF of a lab. */
    static final int NAMED = 5;

    private final String what;
    private final long intervalNanos;
    private final AtomicLong loggedAt;
    private final LongAdder notLogged = new LongAdder();
    private final AtomicReference<ConcurrentSkipListSet<String>> from =
            new AtomicReference<>(new ConcurrentSkipListSet<>());

    /** @param what what the stop's line counts, e.g. "CCRs refused with 3004" */
    FloodedWarning(String what) {
        this(what, 1_000_000_000L);
    }

    FloodedWarning(String what, long intervalNanos) {
        this.what = what;
        this.intervalNanos = intervalNanos;
        this.loggedAt = new AtomicLong(System.nanoTime() - 2 * intervalNanos);
    }

    /**
     * One more of these warnings, from {@code who} (a peer, or null).
     *
     * @return -1 when this one is only counted, else how many were counted since the last line
     *     (this one is to be logged, ending with {@link #since(long)})
     */
    long occurred(String who) {
        long now = System.nanoTime();
        long last = loggedAt.get();
        if (now - last < intervalNanos || !loggedAt.compareAndSet(last, now)) {
            notLogged.increment();
            ConcurrentSkipListSet<String> names = from.get();
            if (who != null && names.size() < NAMED) {
                names.add(who);
            }
            return -1;
        }
        return notLogged.sumThenReset();
    }

    /** The end of the logged line: how many more came since the one before and from whom, or nothing. */
    String since(long more) {
        return more <= 0 ? "" : "; " + more + " more refused since the last such line" + fromWhom();
    }

    /** At a stop, after which no line comes: those counted and not logged yet, in a line of their own. */
    void logRest(Logger log) {
        long more = notLogged.sumThenReset();
        if (more > 0) {
            log.warn("{} more {} since the last such line{}", more, what, fromWhom());
        }
    }

    private String fromWhom() {
        ConcurrentSkipListSet<String> names = from.getAndSet(new ConcurrentSkipListSet<>());
        return names.isEmpty() ? "" : ", from " + String.join(", ", names) + (names.size() >= NAMED ? " and others" : "");
    }
}
