package org.gyocs.gy.jdiameter;

import java.util.List;
import java.util.Optional;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControl;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;
import org.gyocs.core.ResultCode;
import org.gyocs.node.TrafficLog;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.InternalException;
import org.jdiameter.api.Request;
import org.jdiameter.api.cca.ServerCCASession;
import org.jdiameter.api.cca.events.JCreditControlRequest;
import org.jdiameter.common.impl.app.cca.JCreditControlAnswerImpl;

/**
 * Answers credit-control requests arriving through jDiameter: screens them before they reach
 * jDiameter's session state machine (which cannot dispatch a CCR without a valid CC-Request-Type
 * and would send nothing), then asks the core and sends its answer.
 */
final class CreditControlHandler {
    private static final Logger log = LogManager.getLogger(CreditControlHandler.class);

    private final CreditControl core;
    private final NodeStatistics statistics;
    private final String originHost;
    private final String originRealm;

    CreditControlHandler(CreditControl core, NodeStatistics statistics, String originHost, String originRealm) {
        this.core = core;
        this.statistics = statistics;
        this.originHost = originHost;
        this.originRealm = originRealm;
    }

    /**
     * Answers a request that must not reach the session state machine: undecodable AVPs, missing
     * or invalid mandatory AVPs.
     *
     * @return the error answer to send, or null when the request may go on to its session
     */
    /**
     * Answers, outside jDiameter's session state machine, what that machine would mishandle:
     * a CCR-U/T for which jDiameter has no session (it would create one only to refuse it, and
     * after a CCR-T sends nothing), and a CCR-I on a session it holds open (a retransmission,
     * which it drops silently). The core knows its sessions: it answers 5002, or repeats the
     * answer it gave. The request has passed {@link #screen}.
     *
     * @return the answer to send
     */
    Answer answerDirectly(Request request) {
        return guarded(request, () -> decide(request).answer());
    }

    /** Work that answers on the peer's thread: any failure is answered 5012, logged and counted. */
    private Answer guarded(Request request, java.util.function.Supplier<Answer> work) {
        try {
            return work.get();
        } catch (Exception | StackOverflowError | LinkageError e) {
            statistics.error();
            log.error("Cannot answer CCR of session {}: {}", request.getSessionId(), e.toString(), e);
            statistics.answerSent(ResultCode.UNABLE_TO_COMPLY);
            return unableToComply(request);
        }
    }

    /** An encoded answer and the Result-Code it was counted under. */
    private record Decided(Answer answer, long resultCode) {
    }

    /**
     * Reads the whole CCR, asks the core and encodes its answer, counting request and answer (the
     * answer before it is sent, so that a peer holding it never sees a lower count). An AVP the
     * screen did not read (inside MSCC or Subscription-Id) that does not decode is answered 5004.
     */
    private Decided decide(Request request) {
        CreditControlRequest ccr;
        try {
            ccr = CcrReader.read(request);
        } catch (InvalidAvpException e) {
            return new Decided(invalidAvp(request, e), ResultCode.INVALID_AVP_VALUE);
        }
        return decide(request, ccr);
    }

    private Decided decide(Request request, CreditControlRequest ccr) {
        statistics.requestReceived(ccr.requestType());
        TrafficLog.request(ccr);
        CreditControlAnswer a = core.answer(ccr);
        if (a.resultCode() == ResultCode.UNKNOWN_SESSION_ID) {
            statistics.error();
            log.warn("CCR of unknown session {} from {}: 5002", ccr.sessionId(), ccr.originHost());
        }
        return new Decided(sent(CcaWriter.write(request, a, originHost, originRealm), a, ccr), a.resultCode());
    }

    /**
     * Answers now, on the peer's thread, a request whose answer changes no balance (see
     * {@link CreditControl#answersAtOnce}).
     *
     * @return the answer, or null when the request may wait for the store and must be answered
     *         on a thread that can wait
     */
    Answer answerAtOnce(Request request) {
        return guarded(request, () -> {
            CreditControlRequest ccr;
            try {
                ccr = CcrReader.read(request);
            } catch (InvalidAvpException e) {
                return invalidAvp(request, e);
            }
            return core.answersAtOnce(ccr) ? decide(request, ccr).answer() : null;
        });
    }

    Answer screen(Request request) {
        CreditControlRequest ccr;
        try {
            ccr = CcrReader.readMandatory(request);
        } catch (InvalidAvpException e) {
            return invalidAvp(request, e);
        }
        Optional<CreditControlAnswer> error = core.validate(ccr);
        if (error.isEmpty()) {
            return null;
        }
        statistics.requestReceived(ccr.requestType());
        statistics.error();
        CreditControlAnswer a = error.get();
        log.warn("Refused CCR of session {} from {}: {} ({})", ccr.sessionId(), ccr.originHost(), a.errorMessage(),
                a.resultCode());
        return sent(CcaWriter.write(request, a, originHost, originRealm), a, ccr);
    }

    /**
     * A CCR for a realm this node does not serve: 3003 DIAMETER_REALM_NOT_SERVED (RFC 6733 section
     * 7.1.3, E-bit), in the CCA layout, logged and counted, as mock mode answers it.
     */
    Answer realmNotServed(Request request, String realm) {
        statistics.error();
        log.warn("CCR of session {} for realm {} refused: this node serves {} (3003)", request.getSessionId(), realm,
                originRealm);
        CreditControlAnswer a = new CreditControlAnswer(request.getSessionId(), ResultCode.REALM_NOT_SERVED,
                CcrReader.readableU32(request.getAvps(), Avp.CC_REQUEST_TYPE),
                CcrReader.readableU32(request.getAvps(), Avp.CC_REQUEST_NUMBER), null, null, List.of(), null,
                ResultCode.realmNotServedMessage(realm, originRealm));
        Answer answer = CcaWriter.write(request, a, originHost, originRealm);
        answer.setError(true);
        return sent(answer, a, null);
    }

    /** Whether the core holds this session open; once it has answered a CCR-T, it does not. */
    boolean coreHoldsOpen(String sessionId) {
        return core.holdsOpenSession(sessionId);
    }

    private Answer invalidAvp(Request request, InvalidAvpException e) {
        statistics.error();
        log.warn("Invalid AVP in CCR of session {}: {}", request.getSessionId(), e.getMessage());
        // the CCA ABNF requires CC-Request-Type and CC-Request-Number even in an error answer
        CreditControlAnswer a = new CreditControlAnswer(request.getSessionId(), ResultCode.INVALID_AVP_VALUE,
                CcrReader.readableU32(request.getAvps(), Avp.CC_REQUEST_TYPE),
                CcrReader.readableU32(request.getAvps(), Avp.CC_REQUEST_NUMBER), null, null, List.of(),
                e.failedAvp(), e.getMessage());
        return sent(CcaWriter.write(request, a, originHost, originRealm), a, null);
    }

    /** Called by jDiameter's session state machine with a request that passed {@link #screen}. */
    void answer(ServerCCASession session, JCreditControlRequest event) {
        Request request;
        try {
            request = (Request) event.getMessage();
        } catch (InternalException e) {
            statistics.error();
            log.error("Cannot read the CCR of session {}: {}", session.getSessionId(), e.toString());
            return;
        }
        Decided counted = null;
        try {
            counted = decide(request);
            session.sendCreditControlAnswer(new JCreditControlAnswerImpl(counted.answer()));
        } catch (Exception | StackOverflowError | LinkageError e) {
            if (counted != null) {
                statistics.answerWithdrawn(counted.resultCode());
            }
            // jDiameter logs a listener exception at DEBUG and sends nothing: answer 5012 ourselves.
            statistics.error();
            log.error("Cannot answer CCR of session {}: {}", request.getSessionId(), e.toString(), e);
            sendUnableToComply(session, request);
        }
    }

    private Answer unableToComply(Request request) {
        Answer answer = request.createAnswer(ResultCode.UNABLE_TO_COMPLY);
        answer.getAvps().addAvp(Avp.ORIGIN_HOST, originHost, true, false, true);
        answer.getAvps().addAvp(Avp.ORIGIN_REALM, originRealm, true, false, true);
        return answer;
    }

    private void sendUnableToComply(ServerCCASession session, Request request) {
        try {
            Answer answer = unableToComply(request);
            statistics.answerSent(ResultCode.UNABLE_TO_COMPLY);
            // Not through the state machine: it is the state machine that may have failed.
            session.getSessions().get(0).send(answer);
        } catch (Exception e) {
            log.error("Cannot send 5012 for session {}: {}", request.getSessionId(), e.toString());
        }
        // A CCR-I or CCR-E left its new session IDLE, where no timer would ever release it.
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

    private Answer sent(Answer answer, CreditControlAnswer a, CreditControlRequest ccr) {
        statistics.answerSent(a.resultCode());
        TrafficLog.answer(ccr == null ? null : ccr.requestType(), a);
        return answer;
    }
}
