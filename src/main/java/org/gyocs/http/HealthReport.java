package org.gyocs.http;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The body of GET /health.
 *
 * @param status         UP (answered 200) or DOWN (503)
 * @param reason         why the node is DOWN (store unreachable, journal failed, stopping); absent when UP
 * @param mode           jdiameter or mock
 * @param originHost     the node's Diameter identity
 * @param originRealm    its realm
 * @param diameterPort   the Diameter port it listens on
 * @param tlsPort        the Diameter/TLS port, absent without TLS
 * @param store          the balance store in use
 * @param openSessions   credit-control sessions open
 * @param connectedPeers Diameter peers connected
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HealthReport(String status, String reason, String mode, String originHost, String originRealm,
                           Integer diameterPort, Integer tlsPort, String store, Integer openSessions,
                           Integer connectedPeers) {

    public static HealthReport down(String reason) {
        return new HealthReport("DOWN", reason, null, null, null, null, null, null, null, null);
    }

    public boolean up() {
        return "UP".equals(status);
    }
}
