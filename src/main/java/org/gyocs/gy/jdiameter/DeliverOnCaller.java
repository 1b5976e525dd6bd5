package org.gyocs.gy.jdiameter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.api.app.AppSession;
import org.jdiameter.common.impl.app.AppSessionImpl;

/**
 * The executor of our server sessions: jDiameter's ServerCCASessionImpl hands every request it
 * receives to its executor, the ApplicationSession pool, which runs the state machine and our
 * listener there. A request whose decision waits for nothing (on the embedded store it is sent
 * once the journal's sync is done, see {@code SyncedAnswers}) is delivered on the thread that read
 * it instead, inside {@link #onCaller}: the pool's wake-up and park for each request cost more CPU
 * on two cores than the decision (a quarter of the samples, bench/RESULTS.md). Anything else,
 * an RAA, a request that may wait, goes to the pool as before; timers go to the pool.
 */
final class DeliverOnCaller extends AbstractExecutorService implements ScheduledExecutorService {
    private static final Logger log = LogManager.getLogger(DeliverOnCaller.class);
    private static final ThreadLocal<Boolean> ON_CALLER = new ThreadLocal<>();
    /** AppSessionImpl.scheduler (protected, set from the stack in its constructor). */
    private static final VarHandle SCHEDULER = schedulerField();

    private final ScheduledExecutorService pool;
    private final java.util.concurrent.atomic.LongAdder ranOnCaller = new java.util.concurrent.atomic.LongAdder();

    DeliverOnCaller(ScheduledExecutorService pool) {
        this.pool = pool;
    }

    /**
     * Makes a session created by jDiameter deliver through the executor {@code around} its pool
     * gives.
     *
     * @return false when this jDiameter has no such field: the session keeps the pool
     */
    static boolean install(AppSession session, Function<ScheduledExecutorService, DeliverOnCaller> around) {
        if (SCHEDULER == null || !(session instanceof AppSessionImpl impl)) {
            return false;
        }
        Object current = SCHEDULER.get(impl);
        if (current instanceof DeliverOnCaller) {
            return true;
        }
        if (current instanceof ScheduledExecutorService pool) {
            SCHEDULER.set(impl, around.apply(pool));
            return true;
        }
        return false;
    }

    private static VarHandle schedulerField() {
        try {
            return MethodHandles.privateLookupIn(AppSessionImpl.class, MethodHandles.lookup())
                    .findVarHandle(AppSessionImpl.class, "scheduler", ScheduledExecutorService.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("jDiameter sessions keep their pool for every request: {}", e.toString());
            return null;
        }
    }

    /** Runs {@code delivery}; a task it hands to a session's executor runs here, on this thread. */
    static void onCaller(Runnable delivery) {
        ON_CALLER.set(Boolean.TRUE);
        try {
            delivery.run();
        } finally {
            ON_CALLER.remove();
        }
    }

    @Override
    public void execute(Runnable command) {
        if (ON_CALLER.get() != null) {
            ON_CALLER.remove(); // the request's own delivery only, not what it hands on
            ranOnCaller.increment();
            command.run();
        } else {
            pool.execute(command);
        }
    }

    /** Deliveries run on the thread that read their request, for the tests. */
    long ranOnCaller() {
        return ranOnCaller.sum();
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return pool.schedule(command, delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return pool.schedule(callable, delay, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        return pool.scheduleAtFixedRate(command, initialDelay, period, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        return pool.scheduleWithFixedDelay(command, initialDelay, delay, unit);
    }

    /** The stack's pool is the stack's to stop (StackShutdown); a session never stops it. */
    @Override
    public void shutdown() {
    }

    @Override
    public List<Runnable> shutdownNow() {
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return pool.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return pool.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return pool.awaitTermination(timeout, unit);
    }
}
