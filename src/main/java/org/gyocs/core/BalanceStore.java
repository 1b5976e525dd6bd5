package org.gyocs.core;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where subscriber balances live. The core defines what it needs; the embedded and PostgreSQL
 * stores implement it. Every method is one atomic transaction, committed before it returns: a
 * debit acknowledged to the core survives a crash, and two nodes sharing a store never grant
 * more than a balance holds.
 *
 * <p>A change that settles, debits or credits may carry a {@link UsageNote}: the line of a rated
 * usage record it accounts for, kept in the same transaction (null: none).
 *
 * <p>Buckets are chosen per request: those of the unit asked, not expired, with the request's
 * rating group first, then those without a rating group (which serve every rating group).
 */
public interface BalanceStore extends AutoCloseable {

    /** The first of these identities (MSISDN or IMSI digits, in priority order) that is a provisioned subscriber. */
    Optional<String> findSubscriber(List<String> identities);

    /**
     * The plan of a provisioned subscriber, or null when it has none (its tariffs are the default
     * plan's). Not a default method: a wrapper that forgot it priced every subscriber at the
     * default plan.
     */
    String planOf(String subscriber);

    /**
     * True when every one of these identities is known, without a query, not to be a subscriber;
     * false when that is not known (a store that remembers nothing always says false).
     */
    default boolean isKnownUnprovisioned(List<String> identities) {
        return false;
    }

    /**
     * Reserves up to {@code amount} under {@code reservationKey}.
     *
     * @param changeKey identifies the request's change (see {@link #recordedChange}); null: none
     * @return what was reserved (0 when nothing is left) and what stays available after it
     */
    Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String reservationKey,
                        Instant expires, String changeKey);

    default Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String reservationKey,
                                Instant expires) {
        return reserve(subscriber, unit, ratingGroup, amount, reservationKey, expires, null);
    }

    /**
     * Debits {@code used} against the reservation (usage beyond it is debited from what is still
     * available, never below zero) and releases the rest of the reservation.
     *
     * @return the amount actually debited
     */
    long settle(String subscriber, UnitType unit, Long ratingGroup, String reservationKey, long used, String changeKey,
                UsageNote note);

    default long settle(String subscriber, UnitType unit, Long ratingGroup, String reservationKey, long used,
                        String changeKey) {
        return settle(subscriber, unit, ratingGroup, reservationKey, used, changeKey, null);
    }

    default long settle(String subscriber, UnitType unit, Long ratingGroup, String reservationKey, long used) {
        return settle(subscriber, unit, ratingGroup, reservationKey, used, null, null);
    }

    /**
     * What a CCR-U does to one service: {@link #settle} the usage against the reservation under
     * {@code reservationKey}, then {@link #reserve} the next grant under the same key, in one
     * transaction (one change).
     */
    Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String reservationKey,
                                 long used, long amount, Instant expires, String changeKey, UsageNote note);

    default Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String reservationKey,
                                         long used, long amount, Instant expires, String changeKey) {
        return settleAndReserve(subscriber, unit, ratingGroup, reservationKey, used, amount, expires, changeKey, null);
    }

    default Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String reservationKey,
                                         long used, long amount, Instant expires) {
        return settleAndReserve(subscriber, unit, ratingGroup, reservationKey, used, amount, expires, null, null);
    }

    /** Under this suffix of a priced service's reservation key, the money held for the units it was granted. */
    String MONEY_HOLD = "|money";

    /**
     * A priced service's grant (rating), as one change: up to {@code amount} from the unit
     * buckets under {@code reservationKey}; what they lack is bought with money, {@code costOf}
     * the units lacking, held under {@code reservationKey + MONEY_HOLD}, after the money of the
     * last report ({@code settle}, with its note, null: none) is settled against what that key
     * held. When the unit buckets cover it all and no money is settled, the money is not held,
     * and its availability is looked at only when the unit buckets are left empty.
     *
     * <p>This default makes it as two changes (the units under {@code changeKey}, the money under
     * {@code changeKey + MONEY_HOLD}); a store that can make it as one should: a money CCR-U then
     * costs what a unit CCR-U does.
     */
    default RatedReservation reserveRated(String subscriber, UnitType unit, Long ratingGroup, long amount,
                                          String reservationKey, Instant expires, String changeKey,
                                          java.util.function.LongUnaryOperator costOf, long settle, UsageNote note) {
        Reservation units = reserve(subscriber, unit, ratingGroup, amount, reservationKey, expires, changeKey);
        long need = amount - units.reserved();
        if (need > 0 || note != null) {
            Reservation money = settleAndReserve(subscriber, UnitType.MONEY, ratingGroup, reservationKey + MONEY_HOLD,
                    settle, need > 0 ? costOf.applyAsLong(need) : 0, expires,
                    changeKey == null ? null : changeKey + MONEY_HOLD, note);
            return new RatedReservation(units.reserved(), units.availableAfter(), money.reserved(),
                    money.availableAfter());
        }
        return new RatedReservation(units.reserved(), units.availableAfter(), 0,
                units.availableAfter() > 0 ? 0 : available(subscriber, UnitType.MONEY, ratingGroup));
    }

    /** Releases a reservation without debiting anything. */
    void release(String reservationKey);

    /** Debits up to {@code amount} at once (direct debiting). @return the amount debited */
    long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey, UsageNote note);

    default long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey) {
        return debit(subscriber, unit, ratingGroup, amount, changeKey, null);
    }

    default long debit(String subscriber, UnitType unit, Long ratingGroup, long amount) {
        return debit(subscriber, unit, ratingGroup, amount, null, null);
    }

    /** Credits {@code amount} (refund) to the subscriber's bucket of this unit and rating group, made if needed. */
    void credit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey, UsageNote note);

    default void credit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey) {
        credit(subscriber, unit, ratingGroup, amount, changeKey, null);
    }

    default void credit(String subscriber, UnitType unit, Long ratingGroup, long amount) {
        credit(subscriber, unit, ratingGroup, amount, null, null);
    }

    /**
     * Keeps a usage note that changes no balance (the end of a session's or event's record),
     * durably before it returns.
     */
    void recordUsage(UsageNote note);

    /**
     * The same, for a note no answer waits on (a session's end): the store may return before it
     * is durable, and keep it with its next commit (the embedded store's next journal sync,
     * milliseconds later), so that a CCR-T waits for one sync, not two.
     *
     * @return completed once the store has kept it (the embedded store: taken into the journal's
     *         next sync), exceptionally when it could not: the caller hears of a failure only there
     */
    java.util.concurrent.CompletionStage<Void> recordUsageSoon(UsageNote note);

    /** What {@link #recordUsageSoon} returns when the note is kept before it returns: one for all calls. */
    java.util.concurrent.CompletionStage<Void> KEPT = java.util.concurrent.CompletableFuture.completedStage(null);

    /**
     * Every change that moves money carries a change key: the request's Session-Id and
     * CC-Request-Number, and the service (RFC 4006 section 5.2: what identifies a duplicate).
     * The store keeps the key with the change, durably and in the same transaction, for the
     * retransmission window; a change whose key it holds is not made again: its first result is
     * returned instead. So a debit is never made twice, whether its request comes again after a
     * commit whose outcome was unknown (the store runs it again), after a restart, or through
     * another node sharing the store.
     *
     * @return the result of the change made under this key (the amount debited, reserved or
     *         credited), or empty when there was none within the window
     */
    Optional<Long> recordedChange(String subscriber, String changeKey);

    /** What is available (balance minus reservations) for this unit and rating group. */
    long available(String subscriber, UnitType unit, Long ratingGroup);

    /** Releases reservations whose expiry has passed (held by a node that died). @return how many */
    int releaseExpired(Instant now);

    @Override
    void close();

    /** The outcome of {@link #reserve}. */
    record Reservation(long reserved, long availableAfter) {
    }

    /**
     * The outcome of {@link #reserveRated}: the units reserved from unit buckets and what they
     * have left, the money held (minor units) and what is left of it (0 when it was not looked
     * at because unit buckets are left).
     */
    record RatedReservation(long units, long unitsAvailableAfter, long money, long moneyAvailableAfter) {
    }
}
