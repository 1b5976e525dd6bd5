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
    /** service key (rating group / service identifier) to its reservation */
    final Map<String, ServiceReservation> reservations = new LinkedHashMap<>();
    long lastRequestNumber = -1;
    CreditControlAnswer lastAnswer;
    volatile long lastSeenNanos = System.nanoTime();
    boolean closed;

    ChargingSession(String sessionId, String subscriber, java.util.List<SubscriptionId> subscriptionIds) {
        this.sessionId = sessionId;
        this.subscriber = subscriber;
        this.subscriptionIds = subscriptionIds;
    }

    /** One service's reservation in the store. */
    record ServiceReservation(String key, UnitType unit, Long ratingGroup) {
    }
}
