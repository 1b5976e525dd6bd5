package org.gyocs.app;

import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.gyocs.store.JdbcBalanceStore;

/**
 * Whether the balance store can change balances, for GET /health and the metrics, answered at
 * once from what a background probe last found: a health check must not wait for a database
 * that does not answer (the pool waits 10 s for a connection), nor load it with a probe per
 * request. A probe that has not come back within {@code bound} is itself the answer: the store
 * is DOWN. The embedded store records its own failures and is not probed.
 */
final class StoreWatch implements AutoCloseable {
    private static final long EVERY_MILLIS = 1_000;

    private final JdbcBalanceStore store;
    private final long boundNanos;
    private final ScheduledExecutorService probe;
    private volatile Optional<String> last = Optional.empty();
    /** System.nanoTime() when the probe in flight began; 0 when none is. */
    private volatile long probingSince;

    private StoreWatch(JdbcBalanceStore store, java.time.Duration bound, boolean probed) {
        this.store = store;
        this.boundNanos = bound.toNanos();
        if (!probed) {
            probe = null;
            return;
        }
        probe = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ocs-store-probe");
            t.setDaemon(true);
            return t;
        });
        probe.scheduleWithFixedDelay(this::probeOnce, 0, EVERY_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Probes a shared database in the background; the embedded store says itself what failed. */
    static StoreWatch of(JdbcBalanceStore store, boolean sharedDatabase, java.time.Duration bound) {
        return new StoreWatch(store, bound, sharedDatabase);
    }

    private void probeOnce() {
        probingSince = System.nanoTime();
        try {
            last = store.probe((int) Math.max(1, TimeUnit.NANOSECONDS.toSeconds(boundNanos)));
        } finally {
            probingSince = 0;
        }
    }

    /** Why the store cannot change balances now, or empty. Never blocks. */
    Optional<String> problem() {
        Optional<String> failed = store.failure();
        if (failed.isPresent() || probe == null) {
            return failed;
        }
        long since = probingSince;
        if (since != 0 && System.nanoTime() - since > boundNanos) {
            return Optional.of("the balance database has not answered for "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since) + " ms");
        }
        return last;
    }

    @Override
    public void close() {
        if (probe != null) {
            probe.shutdownNow();
        }
    }
}
