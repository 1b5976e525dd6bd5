package org.gyocs.gy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.behaviour.Behaviours;
import org.gyocs.node.SessionRequest;

/**
 * What a lab uses to test the PCEF against this node, shared by both transports: the test
 * behaviours, the record of recent requests, and the clock that sends late answers and the RARs
 * and ASRs a behaviour asks for. Its timer thread starts with the first behaviour that waits.
 */
public final class TestControl implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(TestControl.class);

    /** How the node sends a RAR or ASR to the peer of one of its sessions. */
    public interface SessionRequests {
        CompletableFuture<Long> send(SessionRequest.Kind kind, String sessionId);
    }

    private final Behaviours behaviours;
    private final RecentRequests recent;
    private final SessionRequests sessionRequests;
    private ScheduledExecutorService timer;
    private boolean closed;

    public TestControl(Behaviours behaviours, RecentRequests recent, SessionRequests sessionRequests) {
        this.behaviours = behaviours;
        this.recent = recent;
        this.sessionRequests = sessionRequests;
    }

    /** No behaviours, no record: what a node without test control runs with. */
    public static TestControl none() {
        return new TestControl(new Behaviours(), RecentRequests.NONE,
                (kind, id) -> CompletableFuture.failedFuture(new IllegalStateException("no session requests here")));
    }

    public Behaviours behaviours() {
        return behaviours;
    }

    public RecentRequests recent() {
        return recent;
    }

    /** A step due later, and what to do instead when the node stops before it is due. */
    private record Due(Runnable task, Runnable cancelled) {
    }

    private final java.util.Set<Due> due = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** At most this many answers and RARs wait at once; beyond, a delayed answer goes out at once. */
    static final int MAX_HELD = 10_000;

    /** Answers and RARs waiting for their time now. */
    int heldBack() {
        return due.size();
    }

    /**
     * Runs {@code task} after {@code delayMs}, on the timer thread; or {@code cancelled} (which may
     * be null) when this closes first, at once when it is closed already.
     */
    void later(long delayMs, Runnable task, Runnable cancelled) {
        Due d = new Due(task, cancelled);
        ScheduledExecutorService t;
        synchronized (this) {
            if (closed) {
                t = null;
            } else {
                if (timer == null) {
                    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
                        Thread th = new Thread(r, "ocs-behaviour-timer");
                        th.setDaemon(true);
                        return th;
                    });
                    s.setRemoveOnCancelPolicy(true);
                    timer = s;
                }
                t = timer;
                due.add(d);
            }
        }
        if (t == null) {
            run(cancelled);
            return;
        }
        try {
            t.schedule(() -> {
                if (due.remove(d)) {
                    run(task);
                }
            }, delayMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            if (due.remove(d)) { // closed meanwhile
                run(cancelled);
            }
        }
    }

    private static void run(Runnable step) {
        if (step == null) {
            return;
        }
        try {
            step.run();
        } catch (RuntimeException e) {
            log.warn("A behaviour's late step failed: {}", e.toString(), e);
        }
    }

    /** How many changed answers are kept for retransmissions; past it, the oldest half is forgotten. */
    private static final int MAX_REMEMBERED = 10_000;
    private final java.util.Map<String, Changed> changed = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentLinkedQueue<String> changedOrder = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** An answer a behaviour changed, and which one did. */
    record Changed(org.gyocs.core.CreditControlAnswer answer, String behaviour) {
    }

    /**
     * Keeps an answer a behaviour changed, so that the request sent again (T-bit, RFC 6733
     * section 3) gets the same answer: the core would repeat its own, unchanged one.
     */
    void remember(String sessionId, Long number, org.gyocs.core.CreditControlAnswer answer, String behaviour) {
        if (sessionId == null) {
            return;
        }
        String key = sessionId + "|" + number;
        if (changed.put(key, new Changed(answer, behaviour)) == null) {
            changedOrder.add(key);
            while (changed.size() > MAX_REMEMBERED) {
                String oldest = changedOrder.poll();
                if (oldest == null) {
                    break;
                }
                changed.remove(oldest);
            }
        }
    }

    /** The changed answer to this request's earlier copy, or null (at once when none was changed). */
    Changed changedBefore(String sessionId, Long number) {
        if (changed.isEmpty() || sessionId == null) {
            return null;
        }
        return changed.get(sessionId + "|" + number);
    }

    /** Sends a RAR or ASR for a session after {@code delayMs}; its outcome is logged. */
    void sessionRequestLater(SessionRequest.Kind kind, String sessionId, long delayMs, String behaviour) {
        later(delayMs, () -> {
            CompletableFuture<Long> answer;
            try {
                answer = sessionRequests.send(kind, sessionId);
            } catch (RuntimeException e) {
                log.warn("Behaviour {}: no {} for session {}: {}", behaviour, kind.shortName(), sessionId, e.getMessage());
                return;
            }
            answer.whenComplete((rc, why) -> {
                if (why != null) {
                    log.warn("Behaviour {}: {} for session {} failed: {}", behaviour, kind.shortName(), sessionId,
                            why.getMessage());
                } else {
                    log.info("Behaviour {}: {} for session {} answered {}", behaviour, kind.shortName(), sessionId, rc);
                }
            });
        }, null);
    }

    /**
     * Stops the timer: late answers and RARs not yet due are not sent, and each answer held back
     * is given up (its transport lets go of it, its count is taken back).
     */
    @Override
    public void close() {
        ScheduledExecutorService t;
        synchronized (this) {
            closed = true;
            t = timer;
            timer = null;
        }
        if (t != null) {
            t.shutdownNow();
        }
        for (Due d : due) {
            if (due.remove(d)) {
                run(d.cancelled());
            }
        }
    }
}
