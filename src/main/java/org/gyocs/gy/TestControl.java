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

    /** Runs {@code task} after {@code delayMs}, on the timer thread; nothing once closed. */
    void later(long delayMs, Runnable task) {
        ScheduledExecutorService t;
        synchronized (this) {
            if (closed) {
                return;
            }
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
        }
        t.schedule(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.warn("A behaviour's late step failed: {}", e.toString(), e);
            }
        }, delayMs, TimeUnit.MILLISECONDS);
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
        });
    }

    /** Stops the timer: late answers and RARs not yet due are not sent. */
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
    }
}
