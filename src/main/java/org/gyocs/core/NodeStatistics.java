package org.gyocs.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of a running node, shared by every transport thread. LongAdder keeps the hot path
 * free of contention between listener threads.
 */
public final class NodeStatistics {
    public static final String CCR_INITIAL_RECEIVED = "ccr_initial_received";
    public static final String CCR_UPDATE_RECEIVED = "ccr_update_received";
    public static final String CCR_TERMINATE_RECEIVED = "ccr_terminate_received";
    public static final String CCR_EVENT_RECEIVED = "ccr_event_received";
    public static final String CCA_SENT = "cca_sent";
    public static final String ERRORS = "errors";
    public static final String ANSWERS_BY_RESULT_CODE = "answers_by_result_code";
    public static final String SESSIONS_EXPIRED = "sessions_expired";
    public static final String PEERS_REFUSED = "peers_refused";
    /** RARs and ASRs the node sent, by "RAR 2001", "ASR timeout", "RAR not_connected"... */
    public static final String SESSION_REQUESTS = "session_requests";

    private final LongAdder initial = new LongAdder();
    private final LongAdder update = new LongAdder();
    private final LongAdder terminate = new LongAdder();
    private final LongAdder event = new LongAdder();
    private final LongAdder ccaSent = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder sessionsExpired = new LongAdder();
    private final LongAdder peersRefused = new LongAdder();
    private final Map<Long, LongAdder> byResultCode = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> sessionRequests = new ConcurrentHashMap<>();

    /** Counts a received CCR; a request whose type is missing or invalid counts only as an error. */
    public void requestReceived(RequestType type) {
        if (type == null) {
            return;
        }
        switch (type) {
            case INITIAL -> initial.increment();
            case UPDATE -> update.increment();
            case TERMINATION -> terminate.increment();
            case EVENT -> event.increment();
        }
    }

    public void answerSent(long resultCode) {
        ccaSent.increment();
        byResultCode.computeIfAbsent(resultCode, k -> new LongAdder()).increment();
    }

    /** Takes back {@link #answerSent} for an answer whose send failed after it was counted. */
    public void answerWithdrawn(long resultCode) {
        ccaSent.decrement();
        byResultCode.computeIfAbsent(resultCode, k -> new LongAdder()).decrement();
    }

    public void error() {
        errors.increment();
    }

    /** A peer not in allowed-peers was refused at its capabilities exchange (also counted in errors). */
    public void peerRefused() {
        peersRefused.increment();
        errors.increment();
    }

    /** A session silent past Tcc was released (RFC 4006 section 13). */
    public void sessionExpired() {
        sessionsExpired.increment();
    }

    /**
     * A RAR or ASR the node sent has ended: {@code result} is the answer's Result-Code, or
     * "timeout", "not_connected", "error".
     */
    public void sessionRequestEnded(String command, String result) {
        sessionRequests.computeIfAbsent(command + " " + result, k -> new LongAdder()).increment();
    }

    /** RARs and ASRs by command and result ("RAR 2001" to a count), sorted. */
    public Map<String, Long> sessionRequests() {
        Map<String, Long> m = new TreeMap<>();
        sessionRequests.forEach((k, n) -> m.put(k, n.sum()));
        return Collections.unmodifiableMap(m);
    }

    /** CCRs received of this type. */
    public long requests(RequestType type) {
        return switch (type) {
            case INITIAL -> initial.sum();
            case UPDATE -> update.sum();
            case TERMINATION -> terminate.sum();
            case EVENT -> event.sum();
        };
    }

    /** Answers sent by top-level Result-Code, sorted. */
    public Map<Long, Long> answersByResultCode() {
        Map<Long, Long> codes = new TreeMap<>();
        byResultCode.forEach((code, n) -> codes.put(code, n.sum()));
        return Collections.unmodifiableMap(codes);
    }

    public long sessionsExpired() {
        return sessionsExpired.sum();
    }

    public long peersRefused() {
        return peersRefused.sum();
    }

    public long errors() {
        return errors.sum();
    }

    public long answersSent() {
        return ccaSent.sum();
    }

    /** A consistent-enough copy for reporting: the keys above, answers by Result-Code as a sorted map. */
    public Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(CCR_INITIAL_RECEIVED, initial.sum());
        m.put(CCR_UPDATE_RECEIVED, update.sum());
        m.put(CCR_TERMINATE_RECEIVED, terminate.sum());
        m.put(CCR_EVENT_RECEIVED, event.sum());
        m.put(CCA_SENT, ccaSent.sum());
        m.put(ERRORS, errors.sum());
        m.put(SESSIONS_EXPIRED, sessionsExpired.sum());
        m.put(PEERS_REFUSED, peersRefused.sum());
        m.put(ANSWERS_BY_RESULT_CODE, answersByResultCode());
        m.put(SESSION_REQUESTS, sessionRequests());
        return Collections.unmodifiableMap(m);
    }

    /** The block printed at shutdown, in the format operators of the earlier tool know. */
    public String report() {
        String line = "=".repeat(60);
        StringBuilder sb = new StringBuilder();
        sb.append(line).append('\n');
        sb.append("Gy Diameter Application Statistics:\n");
        sb.append(line).append('\n');
        sb.append(String.format("CCR Initial Received:    %d%n", initial.sum()));
        sb.append(String.format("CCR Update Received:     %d%n", update.sum()));
        sb.append(String.format("CCR Terminate Received:  %d%n", terminate.sum()));
        sb.append(String.format("CCR Event Received:      %d%n", event.sum()));
        sb.append(String.format("CCA Sent:                %d%n", ccaSent.sum()));
        sb.append(String.format("Errors:                  %d%n", errors.sum()));
        if (sessionsExpired.sum() > 0) {
            sb.append(String.format("Sessions Expired:        %d (Tcc, or their node lost)%n", sessionsExpired.sum()));
        }
        if (peersRefused.sum() > 0) {
            sb.append(String.format("Peers Refused:           %d%n", peersRefused.sum()));
        }
        Map<Long, Long> codes = answersByResultCode();
        if (!codes.isEmpty()) {
            StringBuilder c = new StringBuilder();
            codes.forEach((code, n) -> c.append(c.length() == 0 ? "" : ", ").append(code).append(": ").append(n));
            sb.append(String.format("Answers by Result-Code:  %s%n", c));
        }
        Map<String, Long> requests = sessionRequests();
        if (!requests.isEmpty()) {
            StringBuilder c = new StringBuilder();
            requests.forEach((k, n) -> c.append(c.length() == 0 ? "" : ", ").append(k).append(": ").append(n));
            sb.append(String.format("RAR/ASR sent:            %s%n", c));
        }
        sb.append(line);
        return sb.toString();
    }
}
