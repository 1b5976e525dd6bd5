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
    /** The subscriber's tariff plan when the session opened (null: the default plan). */
    final String plan;
    /** The currency of that plan, null when its tariffs price nothing: the session then has no cost to tell. */
    final java.util.Currency currency;
    /** The session's rated usage record (what its notes name), null for a subscriber nobody provisioned. */
    final UsageNote record;
    /**
     * What the session's usage cost so far, in minor units of {@link #currency} (the CCA-T's
     * Cost-Information): the price, which the money debited equals unless the money ran out.
     */
    long charged;
    long lastRequestNumber = -1;
    CreditControlAnswer lastAnswer;
    /** The state last saved for the other nodes (SharedSessions), null before the first save. */
    SessionState saved;
    /** When it was saved (System.nanoTime()); read only once {@link #saved} is set. */
    long savedNanos;
    volatile long lastSeenNanos = System.nanoTime();
    boolean closed;

    /** Which session of its Session-Id this is (SessionState#instance). */
    final String instance;

    ChargingSession(String sessionId, String subscriber, java.util.List<SubscriptionId> subscriptionIds, String peer,
                    String plan, java.util.Currency currency) {
        this.record = subscriber == null ? null
                : UsageNote.of(UsageNote.SESSION, null, subscriber, sessionId, peer, java.time.Instant.now());
        // the record's id where there is one (random already), else cheap: unique per Session-Id is enough
        this.instance = record != null ? record.recordId()
                : Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());
        this.plan = plan;
        this.currency = currency;
        this.sessionId = sessionId;
        this.subscriber = subscriber;
        this.subscriptionIds = subscriptionIds;
        this.peer = peer;
    }

    /** A session another node answered last, as it saved it (SharedSessions), to continue here. */
    ChargingSession(SessionState state) {
        this.instance = state.instance();
        this.sessionId = state.sessionId();
        this.subscriber = state.subscriber();
        this.subscriptionIds = state.subscriptionIds();
        this.peer = state.peer();
        this.plan = state.plan();
        this.currency = state.currency() == null ? null : java.util.Currency.getInstance(state.currency());
        this.record = state.record();
        this.charged = state.charged();
        this.lastRequestNumber = state.lastRequestNumber();
        this.lastAnswer = state.lastAnswer();
        this.closed = state.closed();
        // not marked saved: its first request here saves it, naming this node its node (the
        // other may be gone) and renewing its expiry
        for (SessionState.Hold h : state.holds()) {
            reservations.put(h.service(), new ServiceReservation(h.key(), h.unit(), h.ratingGroup(), h.rate(),
                    h.unitsHeld()));
        }
    }

    /** What another node needs to continue it; the caller holds its lock. */
    SessionState state(long tccSeconds) {
        java.util.List<SessionState.Hold> holds = new java.util.ArrayList<>(reservations.size());
        reservations.forEach((service, r) -> holds.add(new SessionState.Hold(service, r.key(), r.unit(), r.ratingGroup(),
                r.rate(), r.unitsHeld())));
        return new SessionState(sessionId, subscriber, subscriptionIds, peer, plan, currencyCode(), record, charged,
                lastRequestNumber, lastAnswer, holds, closed, tccSeconds, instance);
    }

    boolean openedBy(CreditControlRequest r) {
        return java.util.Objects.equals(peer, r.sender());
    }

    /** The ISO 4217 code of the session's currency, or null. */
    String currencyCode() {
        return currency == null ? null : currency.getCurrencyCode();
    }

    /**
     * What the request being decided costs: added to {@link #charged} once it is answered
     * ({@link #chargesAnswered}), so that a request that failed (5012) and is sent again, whose
     * changes the store does not make twice, is not counted twice either.
     */
    long charging;

    /** Adds to the request's cost; saturates rather than wrap (a cost past 2^63-1 minor units is not real). */
    void charge(long minorUnits) {
        charging = charging > Long.MAX_VALUE - minorUnits ? Long.MAX_VALUE : charging + minorUnits;
    }

    /** The request is answered: its cost is the session's. */
    void chargesAnswered() {
        charged = charged > Long.MAX_VALUE - charging ? Long.MAX_VALUE : charged + charging;
        charging = 0;
    }

    /**
     * One service's reservation in the store.
     *
     * @param rate the price its units were granted at (money is then held under key + "|money"), null: unpriced
     * @param unitsHeld whether unit buckets hold part of it (a grant bought with money alone: false)
     */
    record ServiceReservation(String key, UnitType unit, Long ratingGroup, org.gyocs.core.rating.TariffBook.Rate rate,
                              boolean unitsHeld) {
    }
}
