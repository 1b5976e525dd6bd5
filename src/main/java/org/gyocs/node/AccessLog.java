package org.gyocs.node;

import java.time.Instant;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The access log: one JSON line per answered request (logger {@value #NAME}, to logs/access.log
 * in config/log4j2.xml), for billing checks and customer care. Off unless access-log=true (the
 * logger is at WARN otherwise, so the hot path pays only a level check). JSON by Jackson: what a
 * peer sends (Session-Id, Origin-Host) is escaped, and cannot forge a line.
 */
public final class AccessLog {
    public static final String NAME = "org.gyocs.access";
    private static final Logger log = LogManager.getLogger(NAME);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One answered request.
     *
     * @param time       when it was answered (ISO-8601)
     * @param peer       the Origin-Host of the connection's CER (null when the transport does not know it)
     * @param session    its Session-Id
     * @param subscriber its first END_USER_E164 Subscription-Id-Data, else its first one (null when none)
     * @param request    INITIAL, UPDATE, TERMINATION, EVENT (null when it had no valid CC-Request-Type)
     * @param number     its CC-Request-Number
     * @param resultCode the answer's top-level Result-Code
     * @param granted    what the answer grants, as the traffic log writes it ("rg100=1048576 octets", "-")
     * @param latencyMs  from taking the request to its answer being ready, milliseconds
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Entry(String time, String peer, String session, String subscriber, String request, Long number,
                        long resultCode, String granted, double latencyMs) {
    }

    private AccessLog() {
    }

    public static boolean enabled() {
        return log.isInfoEnabled();
    }

    public static void answered(String peer, String session, String subscriber, String request, Long number,
                                long resultCode, String granted, long latencyNanos) {
        try {
            log.info(JSON.writeValueAsString(new Entry(Instant.now().toString(), peer, session, subscriber, request,
                    number, resultCode, granted, Math.round(latencyNanos / 1_000.0) / 1_000.0)));
        } catch (JsonProcessingException e) {
            log.warn("Cannot write an access log line: {}", e.getMessage());
        }
    }
}
