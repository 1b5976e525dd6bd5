package org.gyocs.gy;

import static org.gyocs.codec.AvpCodes.CC_REQUEST_NUMBER;
import static org.gyocs.codec.AvpCodes.CC_REQUEST_TYPE;
import static org.gyocs.codec.AvpCodes.SESSION_ID;

import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.behaviour.Behaviour;
import org.gyocs.behaviour.Behaviours;
import org.gyocs.core.CreditControl;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.FailedAvp;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;
import org.gyocs.core.ResultCode;
import org.gyocs.node.AccessLog;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.SessionRequest;
import org.gyocs.node.TrafficLog;

/**
 * What happens to a CCR between a transport and the core, written once for both transports:
 * reading it, screening it (5004/5014 with Failed-AVP, 3003 for another realm), asking the core,
 * the 5012 fallback when the core fails, the CCA layout, the statistics and the traffic log.
 * Transports decide only when and on which thread each step runs, and send what it returns.
 *
 * <p>Every answer it returns has been counted (before it is sent, so that a peer holding it never
 * sees a lower count); a transport that then fails to send one calls {@link #withdraw}.
 */
public final class GyPipeline {
    private static final Logger log = LogManager.getLogger(GyPipeline.class);

    private final CreditControl core;
    private final NodeStatistics statistics;
    private final String originHost;
    private final String originRealm;

    private final LongConsumer answerLatency;
    private final TestControl control;
    private final Behaviours behaviours;
    private final RecentRequests recent;

    public GyPipeline(CreditControl core, NodeStatistics statistics, String originHost, String originRealm) {
        this(core, statistics, originHost, originRealm, nanos -> { }, TestControl.none());
    }

    /**
     * @param answerLatency told the nanoseconds from taking each request to its answer being ready
     * @param control       the test behaviours that may change answers, and the record of requests
     */
    public GyPipeline(CreditControl core, NodeStatistics statistics, String originHost, String originRealm,
                      LongConsumer answerLatency, TestControl control) {
        this.core = core;
        this.statistics = statistics;
        this.originHost = originHost;
        this.originRealm = originRealm;
        this.answerLatency = answerLatency;
        this.control = control;
        this.behaviours = control.behaviours();
        this.recent = control.recent();
    }

    private final ConnectedPeers peers = new ConnectedPeers();
    /** The store's, when its changes are durable only at a later sync (see {@link #answersAfterSync}); else null. */
    private volatile org.gyocs.core.SyncPoints syncPoints;

    /**
     * The store makes its changes durable at a later sync (the embedded store's journal): the
     * transports decide charged requests without waiting for it and send each answer once synced
     * ({@link #decideSentLater}, {@link SyncedAnswers}); and an answer decided waiting is returned
     * only once synced too, as it may repeat from memory one decided without waiting (a
     * retransmission). Set before the node is made.
     */
    public void answersAfterSync(org.gyocs.core.SyncPoints points) {
        this.syncPoints = points;
    }

    /** The store's sync points, or null when its changes are durable as they return. */
    public org.gyocs.core.SyncPoints syncPoints() {
        return syncPoints;
    }
    /** Why the balance store cannot change balances now, or empty (StoreWatch); never blocks. */
    private volatile java.util.function.Supplier<java.util.Optional<String>> storeProblem = java.util.Optional::empty;

    /**
     * While the store is known not to answer, a request that needs it is refused 3004
     * DIAMETER_TOO_BUSY at once, which tells the PCEF to send it to another OCS (RFC 6733 7.1.3),
     * instead of 5012 after the answer deadline. For a node whose sessions another node of its
     * store can continue (a single node has no other OCS with the session).
     */
    public void refuseWhileStoreDown(java.util.function.Supplier<java.util.Optional<String>> problem) {
        this.storeProblem = java.util.Objects.requireNonNull(problem);
    }

    /** The peers connected now, kept by the transport, counted by the pipeline. */
    public ConnectedPeers peers() {
        return peers;
    }

    /** A transport took a CCR (once per request, where it first takes it): counted for its peer. */
    public void received(ReceivedCcr<?> r) {
        peers.requestFrom(r.peer());
    }

    /** The counters this pipeline keeps (transports add theirs: refused peers, broken connections). */
    public NodeStatistics statistics() {
        return statistics;
    }

    /** A CCR read whole, or the counted answer refusing it. Exactly one of the two is set. */
    public record Read<A>(CreditControlRequest request, A refusal) {
    }

    /**
     * Reads the whole CCR. An AVP that does not decode is refused (5004, or 5014 for a broken
     * Grouped AVP), and so is a Destination-Realm this node does not serve (3003, RFC 6733
     * 7.1.3: no relay here; a missing one is the core's 5005).
     */
    public <A> Read<A> read(ReceivedCcr<A> r) {
        CreditControlRequest ccr;
        try {
            ccr = CcrReader.read(r.avps(), r.retransmitted(), r.peer());
        } catch (InvalidAvpException e) {
            return new Read<>(null, invalidAvp(r, e));
        }
        String realm = ccr.destinationRealm();
        if (realm != null && !realm.equalsIgnoreCase(originRealm)) {
            return new Read<>(null, realmNotServed(r, ccr, realm));
        }
        return new Read<>(ccr, null);
    }

    /**
     * Screens the AVPs RFC 4006 makes mandatory without reading the rest (for jDiameter, whose
     * session state machine cannot dispatch a CCR without a valid CC-Request-Type).
     *
     * @return the counted answer refusing the request, or null when it may go on
     */
    public <A> A screen(ReceivedCcr<A> r) {
        CreditControlRequest ccr;
        try {
            ccr = CcrReader.readMandatory(r.avps());
        } catch (InvalidAvpException e) {
            return invalidAvp(r, e);
        }
        Optional<CreditControlAnswer> error = core.validate(ccr);
        if (error.isEmpty()) {
            return null;
        }
        statistics.requestReceived(ccr.requestType());
        CreditControlAnswer a = error.get();
        return refused(r, ccr, a);
    }

    /** Whether the core answers this request without waiting for the store (see {@link CreditControl#answersAtOnce}). */
    public boolean answersAtOnce(CreditControlRequest ccr) {
        return core.answersAtOnce(ccr);
    }

    /** Whether the core holds this session open; once it has answered a CCR-T, it does not. */
    public boolean holdsOpen(String sessionId) {
        return core.holdsOpenSession(sessionId);
    }

    /** Whether the core holds this session open for requests of {@code sender}, the peer that opened it. */
    public boolean holdsOpen(String sessionId, String sender) {
        return core.holdsOpenSessionFor(sessionId, sender);
    }

    /**
     * Asks the core for the answer to a request {@link #read} accepted, and writes it. May wait
     * for the store: transports call it on a thread that can wait unless {@link #answersAtOnce}.
     * A failure of the core is answered 5012, logged and counted.
     */
    public <A> A decide(ReceivedCcr<A> r, CreditControlRequest ccr) {
        return decide(r, ccr, null);
    }

    /** @param sync null: the core waits for the store; else its changes return before they are synced */
    private <A> A decide(ReceivedCcr<A> r, CreditControlRequest ccr, org.gyocs.core.SyncPoints sync) {
        statistics.requestReceived(ccr.requestType());
        TrafficLog.request(ccr);
        if (ccr.possiblyRetransmitted()) {
            A again = repeatChanged(r, ccr);
            if (again != null) {
                return again;
            }
        }
        Behaviours.Rule rule = behaviours.apply(ccr);
        if (rule != null) {
            return decideUnder(rule.behaviour(), r, ccr);
        }
        java.util.Optional<String> down = storeProblem.get();
        if (down.isPresent() && !core.answersAtOnce(ccr)) {
            return refuse(r, ResultCode.TOO_BUSY, "the balance store cannot change balances: " + down.get(), null);
        }
        CreditControlAnswer a;
        try {
            if (sync == null) {
                a = core.answer(ccr);
                awaitSynced(ccr);
            } else {
                a = sync.withoutWaiting(() -> core.answer(ccr));
            }
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            return unableToComply(r, e);
        }
        if (refusedByCore(a)) {
            return refused(r, ccr, a);
        }
        return sent(r, a, ccr);
    }

    /**
     * The answer as a test behaviour changes it. Returns null when the transport is to send
     * nothing now: the request was dropped, its connection closed, or its answer is held back and
     * sent later through {@link ReceivedCcr#holdBack}.
     */
    private <A> A decideUnder(Behaviour b, ReceivedCcr<A> r, CreditControlRequest ccr) {
        Behaviour.Effect e = b.answer();
        log.info("Behaviour {} ({}) applies to {} {} of session {} from {}", b.id(), b.describe(),
                shortName(ccr), ccr.requestNumber(), ccr.sessionId(),
                ccr.sender());
        if (e.drop() || e.disconnect()) {
            record(r, ccr, null, e.drop() ? "dropped" : "disconnected", b.id());
            r.unanswered();
            if (e.disconnect()) {
                r.disconnect();
            }
            return null;
        }
        CreditControlAnswer a;
        try {
            if (e.asksCore()) {
                CreditControlAnswer decided = core.answer(b.before(ccr));
                awaitSynced(ccr);
                if (refusedByCore(decided)) {
                    return refused(r, ccr, decided, b.id()); // the core refused it: as without a behaviour
                }
                a = b.after(decided);
            } else {
                a = b.refusal(ccr);
            }
        } catch (RuntimeException | StackOverflowError | LinkageError failure) {
            return unableToComply(r, failure);
        }
        if (e.changesContent()) {
            control.remember(ccr.sessionId(), ccr.requestNumber(), a, b.id());
        }
        A answer = sent(r, a, ccr, b.id());
        long delay = e.delayMs() == null ? 0 : e.delayMs();
        if (delay > 0 && control.heldBack() >= TestControl.MAX_HELD) {
            log.warn("Behaviour {}: {} answers held back already; this one goes out at once", b.id(), TestControl.MAX_HELD);
            delay = 0;
        }
        if (e.reauthAfterMs() != null) {
            control.sessionRequestLater(SessionRequest.Kind.RE_AUTH, ccr.sessionId(), delay + e.reauthAfterMs(), b.id());
        }
        if (e.abortAfterMs() != null) {
            control.sessionRequestLater(SessionRequest.Kind.ABORT_SESSION, ccr.sessionId(), delay + e.abortAfterMs(),
                    b.id());
        }
        if (delay == 0) {
            return answer;
        }
        if (SENT_LATER.get()[0]) {
            answerLatency.accept(System.nanoTime() - r.receivedNanos()); // as for any held answer: ready now
        }
        ReceivedCcr.Held<A> held = r.holdBack();
        long resultCode = a.resultCode();
        Runnable notSent = () -> {
            log.warn("The answer to {} {} of session {}, held back by behaviour {}, was not sent: its peer is gone "
                    + "or the node stopped", shortName(ccr),
                    ccr.requestNumber(), ccr.sessionId(), b.id());
            withdraw(resultCode);
        };
        control.later(delay, () -> held.send(answer, notSent), () -> {
            held.cancel();
            notSent.run();
        });
        return null;
    }

    /** A protocol error or an unknown session: the core refused the request, logged and counted as an error. */
    private static boolean refusedByCore(CreditControlAnswer a) {
        return a.failedAvp() != null || a.resultCode() == ResultCode.UNKNOWN_SESSION_ID;
    }

    /** CCR-I, CCR-U..., or CCR when its type is not known. */
    private static String shortName(CreditControlRequest ccr) {
        return ccr.requestType() == null ? "CCR" : ccr.requestType().shortName();
    }

    /**
     * After a decision made waiting: it may repeat from memory a decision made without waiting (a
     * retransmission) whose sync is still to come; returned once that sync is done. A request
     * answered at once changes, and repeats, no balance. Throws when the sync will not come.
     */
    private void awaitSynced(CreditControlRequest ccr) {
        org.gyocs.core.SyncPoints points = syncPoints;
        if (points != null && !core.answersAtOnce(ccr)) {
            points.await(points.current());
        }
    }

    /** Set while {@link #decideSentLater} decides: the answer's latency is recorded when it is sent. */
    private static final ThreadLocal<boolean[]> SENT_LATER = ThreadLocal.withInitial(() -> new boolean[1]);

    /**
     * As {@link #decide}, for a transport that sends the answer only once the store's sync covers
     * it ({@link SyncedAnswers}): the core's store changes return before they are synced, and the
     * transport calls {@link #sentLater} when it sends, so that the answer latency counts the wait.
     * A request a test behaviour applies to is decided waiting, as in {@link #decide}: an answer it
     * holds back goes out later on a path of its own, which waits for no sync.
     */
    public <A> A decideSentLater(ReceivedCcr<A> r, CreditControlRequest ccr, org.gyocs.core.SyncPoints sync) {
        boolean[] later = SENT_LATER.get();
        boolean before = later[0];
        later[0] = true;
        try {
            return decide(r, ccr, sync);
        } finally {
            later[0] = before;
        }
    }

    /** Whether deciding this request may wait for more than the store's sync (see {@link org.gyocs.core.CreditControl#waitsBeyondTheSync}). */
    public boolean waitsBeyondTheSync(CreditControlRequest ccr) {
        return core.waitsBeyondTheSync(ccr);
    }

    /** The answer {@link #decideSentLater} returned has been sent now. */
    public void sentLater(ReceivedCcr<?> r) {
        answerLatency.accept(System.nanoTime() - r.receivedNanos());
    }

    /**
     * A request sent again (T-bit) whose first copy a behaviour changed gets the same changed
     * answer (the core would repeat its own), using up no rule; null when none was changed.
     */
    private <A> A repeatChanged(ReceivedCcr<A> r, CreditControlRequest ccr) {
        TestControl.Changed before = control.changedBefore(ccr.sessionId(), ccr.requestNumber());
        if (before == null) {
            return null;
        }
        log.info("{} {} of session {} sent again: the answer behaviour {} changed, repeated",
                shortName(ccr), ccr.requestNumber(), ccr.sessionId(),
                before.behaviour());
        return sent(r, before.answer(), ccr, before.behaviour());
    }

    /** Reads and decides in one step, on a thread that may wait for the store. */
    public <A> A answer(ReceivedCcr<A> r) {
        Read<A> read = read(r);
        return read.refusal() != null ? read.refusal() : decide(r, read.request());
    }

    /**
     * Refuses a CCR before the core sees it (an unsupported mandatory AVP: 5001; too many in
     * flight: 3004), in the CCA layout, counted as an error and an answer.
     */
    public <A> A refuse(ReceivedCcr<A> r, long resultCode, String message, FailedAvp failed) {
        statistics.error();
        if (resultCode != ResultCode.TOO_BUSY) {
            log.warn("Refused CCR of session {} from {}: {} ({})", sessionIdOf(r), r.peer(), message, resultCode);
        } else {
            busy(r, message);
        }
        return sent(r, errorAnswer(r, resultCode, failed, message), null);
    }

    private final FloodedWarning busy = new FloodedWarning("CCRs refused with 3004");
    private final FloodedWarning otherRealm = new FloodedWarning("CCRs refused with 3003 (another realm)");

    /**
     * 3004 comes in floods, when a peer sends faster than the node decides: one line a second,
     * with how many more were refused, instead of a line per request on the event loop.
     */
    private void busy(ReceivedCcr<?> r, String message) {
        long more = busy.occurred(r.peer());
        if (more >= 0) {
            log.warn("Refused CCR of session {} from {}: {} (3004){}", sessionIdOf(r), r.peer(), message,
                    busy.since(more));
        }
    }

    /**
     * At a stop: the 3004s and 3003s no line has counted yet. The once-a-second line says how many came since
     * the one before, and after a stop's refusals it does not come again (a newcomer saw one line
     * for 203,812 refusals).
     */
    public void logRefusalsNotYetLogged() {
        busy.logRest(log);
        otherRealm.logRest(log);
    }

    /** 5012 DIAMETER_UNABLE_TO_COMPLY for a request this node failed to answer; logged and counted. */
    public <A> A unableToComply(ReceivedCcr<A> r, Throwable why) {
        statistics.error();
        log.error("Cannot answer CCR of session {}: {}", sessionIdOf(r), why.toString(), why);
        return sent(r, errorAnswer(r, ResultCode.UNABLE_TO_COMPLY, null, null), null);
    }

    /** Takes back the count of an answer the transport could not send after all. */
    public void withdraw(long resultCode) {
        statistics.answerWithdrawn(resultCode);
    }

    /**
     * 3003: the request was read whole, so it counts in its type's received line (when its
     * CC-Request-Type was readable), as the requests the core refuses do. A PCEF configured with
     * the wrong realm sends every request so: one line a second, naming the peers.
     */
    private <A> A realmNotServed(ReceivedCcr<A> r, CreditControlRequest ccr, String realm) {
        statistics.requestReceived(ccr.requestType());
        statistics.error();
        // jDiameter refuses these before its stack, which tells no peer: the request's Origin-Host
        String peer = r.peer() != null ? r.peer() : ccr.originHost();
        long more = otherRealm.occurred(peer);
        if (more >= 0) {
            log.warn("CCR of session {} from {} for realm {} refused: this node serves {} (3003){}", ccr.sessionId(),
                    peer, realm, originRealm, otherRealm.since(more));
        }
        return sent(r, errorAnswer(r, ResultCode.REALM_NOT_SERVED, null,
                ResultCode.realmNotServedMessage(realm, originRealm)), ccr);
    }

    private <A> A invalidAvp(ReceivedCcr<A> r, InvalidAvpException e) {
        statistics.error();
        log.warn("Invalid AVP in CCR of session {} from {}: {}", sessionIdOf(r), r.peer(), e.getMessage());
        return sent(r, errorAnswer(r, e.resultCode(), e.failedAvp(), e.getMessage()), null);
    }

    private <A> A refused(ReceivedCcr<A> r, CreditControlRequest ccr, CreditControlAnswer a) {
        return refused(r, ccr, a, null);
    }

    private <A> A refused(ReceivedCcr<A> r, CreditControlRequest ccr, CreditControlAnswer a, String behaviour) {
        statistics.error();
        log.warn("Refused CCR of session {} from {}: {} ({})", ccr.sessionId(), ccr.originHost(),
                a.errorMessage() != null ? a.errorMessage() : "unknown session", a.resultCode());
        return sent(r, a, ccr, behaviour);
    }

    /**
     * An error answer to a request the core did not decide: the CCA ABNF (RFC 4006 section 3.2)
     * still requires CC-Request-Type and CC-Request-Number, copied when the request carried them
     * readably (freeDiameter flags an answer without them).
     */
    private static CreditControlAnswer errorAnswer(ReceivedCcr<?> r, long resultCode, FailedAvp failed,
                                                   String message) {
        AvpReader avps = r.avps();
        return new CreditControlAnswer(sessionIdOf(r), resultCode, CcrReader.readableU32(avps, CC_REQUEST_TYPE),
                CcrReader.readableU32(avps, CC_REQUEST_NUMBER), null, null, List.of(), failed, message);
    }

    private void record(ReceivedCcr<?> r, CreditControlRequest ccr, CreditControlAnswer a, Object result,
                        String behaviour) {
        if (!recent.enabled()) {
            return;
        }
        List<org.gyocs.core.SubscriptionId> subscribers = ccr == null ? List.of() : ccr.subscriptionIds();
        Long type = ccr != null ? ccr.requestTypeCode() : a.requestTypeCode();
        Long number = ccr != null ? ccr.requestNumber() : a.requestNumber();
        String session = ccr != null ? ccr.sessionId() : a.sessionId();
        String peer = r.peer() != null ? r.peer() : ccr == null ? null : ccr.originHost();
        recent.add(System.currentTimeMillis(), peer, session, type, number, subscribers, result, behaviour,
                r.recordedAvps());
    }

    private static String sessionIdOf(ReceivedCcr<?> r) {
        return CcrReader.utf8(r.avps(), SESSION_ID);
    }

    private <A> A sent(ReceivedCcr<A> r, CreditControlAnswer a, CreditControlRequest ccr) {
        return sent(r, a, ccr, null);
    }

    /**
     * @param ccr       the request as read, or null when it could not be read whole
     * @param behaviour the test behaviour that changed the answer, or null
     */
    private <A> A sent(ReceivedCcr<A> r, CreditControlAnswer a, CreditControlRequest ccr, String behaviour) {
        A answer = CcaLayout.write(r.answer(), a, originHost, originRealm);
        if (recent.enabled()) {
            record(r, ccr, a, a.resultCode(), behaviour);
        }
        statistics.answerSent(a.resultCode());
        peers.answerTo(r.peer());
        long latency = System.nanoTime() - r.receivedNanos();
        if (!SENT_LATER.get()[0]) {
            answerLatency.accept(latency);
        }
        RequestType type = ccr != null ? ccr.requestType()
                : a.requestTypeCode() == null ? null : RequestType.fromCode(a.requestTypeCode());
        TrafficLog.answer(type, a);
        if (AccessLog.enabled()) {
            AccessLog.answered(r.peer() != null ? r.peer() : ccr == null ? null : ccr.originHost(), a.sessionId(),
                    ccr == null || ccr.subscriptionIds().isEmpty() ? null : ccr.subscriberForLog(),
                    type == null ? null : type.name(), a.requestNumber(), a.resultCode(), a.grantsForLog(), latency);
        }
        return answer;
    }
}
