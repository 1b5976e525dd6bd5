package org.gyocs.gy.jdiameter;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.RequestType;
import org.gyocs.gy.GyPipeline;
import org.gyocs.gy.SyncedAnswers;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.InternalException;
import org.jdiameter.api.Request;
import org.jdiameter.api.cca.ServerCCASession;
import org.jdiameter.api.cca.events.JCreditControlRequest;
import org.jdiameter.common.impl.app.cca.JCreditControlAnswerImpl;

/**
 * The jDiameter side of the Gy pipeline: hands jDiameter's requests to {@link GyPipeline} at the
 * points jDiameter allows (before its session state machine, on the peer's thread, or in the
 * session's listener) and sends what it returns. Screening comes before the state machine, which
 * cannot dispatch a CCR without a valid CC-Request-Type and would send nothing.
 */
final class CreditControlHandler {
    private static final Logger log = LogManager.getLogger(CreditControlHandler.class);

    private final GyPipeline pipeline;
    private final java.util.function.Supplier<TransportScreen> screen;

    private final java.util.function.Supplier<SyncedAnswers> synced;

    /**
     * @param screen the running node's transport screen (null before it starts)
     * @param synced where answers wait for the store's sync, or null (the store's changes are
     *               durable when they return)
     */
    CreditControlHandler(GyPipeline pipeline, java.util.function.Supplier<TransportScreen> screen,
                         java.util.function.Supplier<SyncedAnswers> synced) {
        this.pipeline = pipeline;
        this.screen = screen;
        this.synced = synced;
    }

    /**
     * For a request answered by returning its answer to jDiameter (outside a session's state
     * machine): a late answer goes straight to the peer, as jDiameter sends a returned one.
     */
    private JDiameterCcr direct(Request request) {
        return new JDiameterCcr(request, new Reply(request, answer -> {
            org.jdiameter.client.api.controller.IPeer peer = ((org.jdiameter.client.api.IMessage) request).getPeer();
            if (peer == null || !peer.sendMessage((org.jdiameter.client.api.IMessage) answer)) {
                throw new JDiameterCcr.PeerGone();
            }
        }, () -> { }));
    }

    /** For a request in a session's state machine: a late answer goes through it (the session opens or ends). */
    private JDiameterCcr inSession(Request request, ServerCCASession session) {
        return new JDiameterCcr(request, new Reply(request,
                answer -> sendThroughSession(session, answer),
                () -> releaseIfNew(session, request)));
    }

    /**
     * What a held-back answer of this handler does: it goes out only on the connection its request
     * came on (the stack routes a session's answer by realm when the request's peer is gone: to
     * another PCEF, seen in a test; and a peer that came back has a new connection that never saw
     * the request).
     */
    private final class Reply implements JDiameterCcr.Reply {
        private final Request request;
        private final JDiameterCcr.Sender send;
        private final Runnable release;

        /** @param release what else a request left unanswered lets go of (its new session) */
        Reply(Request request, JDiameterCcr.Sender send, Runnable release) {
            this.request = request;
            this.send = send;
            this.release = release;
        }

        @Override
        public JDiameterCcr.Sender hold() {
            ScreenedConnection came = connectionOf(request);
            return answer -> {
                if (came == null || came.isClosed()) {
                    throw new JDiameterCcr.PeerGone();
                }
                send.send(answer);
            };
        }

        @Override
        public void unanswered() {
            letGo();
            release.run();
        }

        @Override
        public void disconnect(String peer) {
            closeConnectionsOf(peer);
        }
    }

    /** The connection a request came on: its peer's open connection now (jDiameter keeps one per peer). */
    private ScreenedConnection connectionOf(Request request) {
        TransportScreen s = screen.get();
        return s == null ? null : s.connectionOf(new JDiameterCcr(request).peer());
    }

    /** A request that gets no answer no longer counts as in flight: a stop does not wait for it. */
    private void letGo() {
        TransportScreen s = screen.get();
        if (s != null) {
            s.inFlight().updateAndGet(n -> n > 0 ? n - 1 : 0); // never below 0: a send that failed late may have counted it
        }
    }

    private void closeConnectionsOf(String peer) {
        TransportScreen s = screen.get();
        if (s == null || s.disconnect(peer) == 0) {
            log.warn("A test behaviour disconnects {}, but no connection of it is open", peer);
        }
    }

    /**
     * Answers, outside jDiameter's session state machine, what that machine would mishandle:
     * a CCR-U/T for which jDiameter has no session (it would create one only to refuse it, and
     * after a CCR-T sends nothing), and a CCR-I on a session it holds open (a retransmission,
     * which it drops silently). The core knows its sessions: it answers 5002, or repeats the
     * answer it gave. The request has passed {@link #screen}.
     */
    Answer answerDirectly(Request request) {
        JDiameterCcr r = direct(request);
        try {
            return pipeline.answer(r); // a repeat from memory is returned once synced (GyPipeline)
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            return pipeline.unableToComply(r, e);
        }
    }

    /** A request {@link #answerAtOnce} decided: its answer, or null when a test behaviour holds it back. */
    record Decided(Answer answer) {
    }

    /**
     * Answers now, on the peer's thread, a request whose answer changes no balance (see
     * {@link org.gyocs.core.CreditControl#answersAtOnce}).
     *
     * @return what was decided, or null when the request may wait for the store and must be
     *         answered on a thread that can wait
     */
    Decided answerAtOnce(Request request) {
        JDiameterCcr r = direct(request);
        try {
            GyPipeline.Read<Answer> read = pipeline.read(r);
            if (read.refusal() != null) {
                return new Decided(read.refusal());
            }
            return pipeline.answersAtOnce(read.request()) ? new Decided(pipeline.decide(r, read.request())) : null;
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            return new Decided(pipeline.unableToComply(r, e));
        }
    }

    /**
     * Screens the mandatory AVPs of a request before it reaches the session state machine.
     *
     * @return the error answer to send, or null when the request may go on to its session
     */
    Answer screen(Request request) {
        return pipeline.screen(new JDiameterCcr(request));
    }

    /** A CCR reached the stack's listeners (once per request: where it is first screened). */
    void received(Request request) {
        pipeline.received(new JDiameterCcr(request));
    }

    /**
     * A CCR for a realm this node does not serve: read and refused by the pipeline (3003, or 5004
     * for an AVP that does not decode), before the stack, which would answer it outside the
     * statistics. Mock mode answers it alike.
     *
     * @return the refusal, or null when the request may go on to the stack after all
     */
    Answer realmNotServed(Request request) {
        // null (the stack goes on) if the pipeline reads a realm served here after all
        return pipeline.read(new JDiameterCcr(request)).refusal();
    }

    /**
     * Whether the core holds this request's session open for the peer it came from. A request of
     * another peer (a forged CCR-T) is answered outside jDiameter's state machine, which it would
     * otherwise close under the owner's next request (seen: that request dropped, unanswered).
     */
    boolean coreHoldsOpenFor(Request request) {
        String sender = JDiameterCcr.peerOf(request); // as the core binds sessions (CreditControlRequest.sender)
        return sender == null ? pipeline.holdsOpen(request.getSessionId())
                : pipeline.holdsOpen(request.getSessionId(), sender);
    }

    /** Refuses a request in the CCA layout, counted, its log line rate-limited for 3004 (GyPipeline.refuse). */
    Answer refuse(Request request, long resultCode, String message) {
        return pipeline.refuse(new JDiameterCcr(request), resultCode, message, null);
    }

    /** 5012 for a request jDiameter could not take (no session could be created for it). */
    Answer unableToComply(Request request, Exception why) {
        return pipeline.unableToComply(new JDiameterCcr(request), why);
    }

    /**
     * Whether a session request of this type is decided without waiting for the store (on the
     * embedded store, once its balances are loaded: {@link #answer} sends it after the journal's
     * sync), so that it may be delivered on the thread that read it ({@link DeliverOnCaller}).
     * An event may be a refund, which waits: it stays on the pool.
     */
    boolean decidesWithoutWaiting(long requestType) {
        RequestType type = RequestType.fromCode(requestType);
        return type != null && type != RequestType.EVENT && syncedWhenReady() != null;
    }

    /** Where answers wait for the store's sync, once its balances are loaded; else null (decide waiting). */
    private SyncedAnswers syncedWhenReady() {
        SyncedAnswers answers = synced.get();
        return answers != null && answers.points().ready() ? answers : null;
    }

    /** Called by jDiameter's session state machine with a request that passed {@link #screen}. */
    void answer(ServerCCASession session, JCreditControlRequest event) {
        Request request;
        try {
            request = (Request) event.getMessage();
        } catch (InternalException e) {
            pipeline.statistics().error();
            log.error("Cannot read the CCR of session {}: {}", session.getSessionId(), e.toString());
            return;
        }
        JDiameterCcr r = inSession(request, session);
        SyncedAnswers answers = syncedWhenReady();
        Answer counted = null;
        try {
            GyPipeline.Read<Answer> read = pipeline.read(r);
            if (read.refusal() != null) {
                counted = read.refusal(); // refused as read: nothing changed, nothing to sync
                sendThroughSession(session, counted);
                return;
            }
            if (answers != null && !pipeline.waitsBeyondTheSync(read.request())) {
                answerAfterSync(answers, session, r, read.request());
                return;
            }
            counted = pipeline.decide(r, read.request());
            if (counted == null) {
                return; // a test behaviour holds it back
            }
            sendThroughSession(session, counted);
        } catch (Exception | StackOverflowError | LinkageError e) {
            if (counted != null) {
                withdraw(counted);
            }
            // jDiameter logs a listener exception at DEBUG and sends nothing: answer 5012 ourselves.
            sendUnableToComply(session, r, e);
        }
    }

    /**
     * Decides without waiting for the store's sync, on this listener thread, and sends the answer
     * through the state machine once that sync is done (on the node's sender thread, or here when
     * it is done already): the listener threads no longer park for each sync.
     */
    private void answerAfterSync(SyncedAnswers answers, ServerCCASession session, JDiameterCcr r,
                                 org.gyocs.core.CreditControlRequest ccr) {
        Answer counted;
        try {
            counted = pipeline.decideSentLater(r, ccr, answers.points());
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            sendUnableToComply(session, r, e);
            return;
        }
        if (counted == null) {
            return; // a test behaviour holds it back
        }
        answers.whenDurable(new SyncedAnswers.Outcome() {
            @Override
            public void durable() {
                try {
                    sendThroughSession(session, counted);
                    pipeline.sentLater(r);
                } catch (Exception | StackOverflowError | LinkageError e) {
                    withdraw(counted);
                    sendUnableToComply(session, r, e);
                }
            }

            @Override
            public void refused(String why) {
                withdraw(counted);
                sendUnableToComply(session, r, new IllegalStateException(why));
            }
        });
    }

    /**
     * Sends an answer through the session's state machine (it opens, refreshes or ends the
     * session). jDiameter starts a MessageTimeOut timer (60 s) on every message a session sends,
     * answers too, and nothing ends an answer's: each answer, with its AVPs, stayed in the stack's
     * timer queue for a minute; after a minute at 6,000 CCR/s that was 360,000 answers, the 1 GB
     * heap full and the node at a third of its rate. An answer awaits nothing: its timer goes.
     */
    private static void sendThroughSession(ServerCCASession session, Answer answer) throws Exception {
        session.sendCreditControlAnswer(new JCreditControlAnswerImpl(answer));
        clearTimer(answer);
    }

    /** Sent already: whatever clearing its timer does, the answer is not sent again (nor refused). */
    private static void clearTimer(Answer sent) {
        try {
            ((org.jdiameter.client.api.IMessage) sent).clearTimer();
        } catch (RuntimeException e) {
            log.debug("Cannot clear an answer's timer: {}", e.toString());
        }
    }

    /** The answer was counted but not sent: its count is taken back. */
    private void withdraw(Answer notSent) {
        try {
            pipeline.withdraw(notSent.getResultCode().getUnsigned32());
        } catch (Exception e) {
            log.warn("Cannot read the Result-Code of an answer not sent: {}", e.toString());
        }
    }

    private void sendUnableToComply(ServerCCASession session, JDiameterCcr r, Throwable why) {
        Request request = r.request();
        Answer counted = null;
        try {
            counted = pipeline.unableToComply(r, why);
            // Not through the state machine: it is the state machine that may have failed.
            session.getSessions().get(0).send(counted);
            clearTimer(counted); // as in sendThroughSession
        } catch (Exception e) {
            if (counted != null) {
                withdraw(counted);
            }
            log.error("Cannot send 5012 for session {}: {}", request.getSessionId(), e.toString());
        }
        releaseIfNew(session, request);
    }

    /** A CCR-I or CCR-E not answered leaves its new session IDLE, where no timer would ever release it. */
    private static void releaseIfNew(ServerCCASession session, Request request) {
        Avp type = request.getAvps().getAvp(Avp.CC_REQUEST_TYPE);
        try {
            if (type == null || type.getInteger32() == RequestType.INITIAL.code()
                    || type.getInteger32() == RequestType.EVENT.code()) {
                session.release();
            }
        } catch (Exception e) {
            log.warn("Cannot release session {}: {}", request.getSessionId(), e.toString());
        }
    }
}
