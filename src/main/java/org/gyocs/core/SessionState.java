package org.gyocs.core;

import java.util.List;

import org.gyocs.core.rating.TariffBook;

/**
 * What a session needs to continue on another node: who it charges, what it holds per service,
 * what it cost so far, and its last answer (to answer that request's retransmission again).
 *
 * @param sessionId         Session-Id
 * @param subscriber        the provisioned subscriber, null when unknown (granted by policy)
 * @param subscriptionIds   the CCR-I's Subscription-Ids
 * @param peer              the Origin-Host that opened it
 * @param plan              the tariff plan it opened with, null for the default
 * @param currency          ISO 4217 code of that plan's currency, null when unpriced
 * @param record            its usage record (id and start), null for an unknown subscriber
 * @param charged           what its usage cost so far, minor units
 * @param lastRequestNumber the CC-Request-Number of its last answered request
 * @param lastAnswer        that request's answer
 * @param holds             its reservations, one per service
 * @param closed            ended by CCR-T (kept a while to answer the CCR-T's retransmission)
 * @param tccSeconds        seconds of silence after which it is released
 * @param instance          which session of that Session-Id (a client may use one again after a CCR-T)
 */
public record SessionState(String sessionId, String subscriber, List<SubscriptionId> subscriptionIds, String peer,
                           String plan, String currency, UsageNote record, long charged, long lastRequestNumber,
                           CreditControlAnswer lastAnswer, List<Hold> holds, boolean closed, long tccSeconds,
                           String instance) {

    public SessionState {
        subscriptionIds = subscriptionIds == null ? List.of() : List.copyOf(subscriptionIds);
        holds = holds == null ? List.of() : List.copyOf(holds);
    }

    /**
     * One service's reservation: under {@code key} in the store (and its money under key +
     * "|money" when {@code rate} is set).
     *
     * @param service    the service's key in the session (rating group / service identifier)
     * @param rate       the price its units were granted at, null: unpriced
     * @param unitsHeld  whether unit buckets hold part of it
     */
    public record Hold(String service, String key, UnitType unit, Long ratingGroup, TariffBook.Rate rate,
                       boolean unitsHeld) {
    }
}
