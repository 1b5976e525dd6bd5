package org.gyocs.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A credit-control session between CCR-I and CCR-T: its subscriber (null when unknown and
 * granted by policy), the reservation key of each service, and the last answer, for
 * retransmissions. Guarded by its own monitor: requests of one session are decided one at a time.
 */
final class ChargingSession {
    final String sessionId;
    final String subscriber;
    /** The Subscription-Ids of the CCR-I: a CCR-I repeating Session-Id and number is a retransmission only with them. */
    final java.util.List<SubscriptionId> subscriptionIds;
    /**
     * The peer that opened it (CreditControlRequest#sender): only it may update or end it, or see
     * its answers again. An audit ended another peer's session with a CCR-T of its Session-Id.
     */
    final String peer;
    /** service key (rating group / service identifier) to its reservation */
    final Map<String, ServiceReservation> reservations = new LinkedHashMap<>();
    long lastRequestNumber = -1;
    CreditControlAnswer lastAnswer;
    volatile long lastSeenNanos = System.nanoTime();
    boolean closed;

    ChargingSession(String sessionId, String subscriber, java.util.List<SubscriptionId> subscriptionIds, String peer) {
        this.sessionId = sessionId;
        this.subscriber = subscriber;
        this.subscriptionIds = subscriptionIds;
        this.peer = peer;
    }

    boolean openedBy(CreditControlRequest r) {
        return java.util.Objects.equals(peer, r.sender());
    }

    /** One service's reservation in the store. */
    record ServiceReservation(String key, UnitType unit, Long ratingGroup) {
    }
}
