package org.gyocs.node;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.RequestType;

/**
 * The per-message log that --verbose turns on (logger {@value #NAME} at INFO; it is at WARN
 * otherwise, so that the hot path pays only a level check).
 */
public final class TrafficLog {
    public static final String NAME = "org.gyocs.traffic";
    private static final Logger log = LogManager.getLogger(NAME);

    private TrafficLog() {
    }

    public static boolean enabled() {
        return log.isInfoEnabled();
    }

    public static void request(CreditControlRequest r) {
        if (log.isInfoEnabled()) {
            RequestType t = r.requestType();
            log.info("Received {} #{} session={} subscriber={} from {}", t == null ? "CCR" : t.shortName(),
                    r.requestNumber(), r.sessionId(), r.subscriberForLog(), r.originHost());
        }
    }

    public static void answer(RequestType type, CreditControlAnswer a) {
        if (log.isInfoEnabled()) {
            log.info("Sent CCA {} #{} session={} Result-Code={} granted={}", type == null ? "CCR" : type.shortName(),
                    a.requestNumber(), a.sessionId(), a.resultCode(), a.grantsForLog());
        }
    }

    public static void info(String message, Object... args) {
        log.info(message, args);
    }
}
