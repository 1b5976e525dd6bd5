package org.gyocs.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;

import org.gyocs.core.BalanceStore;
import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

/**
 * A balance store that tells how long each change of balances took (the metrics' store latency:
 * a group commit's wait on PostgreSQL, the journal's sync on the embedded store). Only what a
 * request waits for is timed; lookups served from memory are not.
 */
public final class TimedBalanceStore implements BalanceStore {
    private final BalanceStore store;
    private final LongConsumer nanos;

    public TimedBalanceStore(BalanceStore store, LongConsumer nanos) {
        this.store = store;
        this.nanos = nanos;
    }

    /** Runs a change of balances and tells how long it took, whether it succeeded or not. */
    private <T> T timed(java.util.function.Supplier<T> change) {
        long t = System.nanoTime();
        try {
            return change.get();
        } finally {
            nanos.accept(System.nanoTime() - t);
        }
    }

    @Override
    public Optional<String> findSubscriber(List<String> identities) {
        return store.findSubscriber(identities);
    }

    @Override
    public boolean isKnownUnprovisioned(List<String> identities) {
        return store.isKnownUnprovisioned(identities);
    }

    @Override
    public String planOf(String subscriber) {
        return store.planOf(subscriber);
    }

    @Override
    public Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String reservationKey,
                               Instant expires, String changeKey) {
        return timed(() -> store.reserve(subscriber, unit, ratingGroup, amount, reservationKey, expires, changeKey));
    }

    @Override
    public RatedReservation reserveRated(String subscriber, UnitType unit, Long ratingGroup, long amount,
                                         String reservationKey, Instant expires, String changeKey,
                                         java.util.function.LongUnaryOperator costOf, long settle, UsageNote note) {
        return timed(() -> store.reserveRated(subscriber, unit, ratingGroup, amount, reservationKey, expires, changeKey,
                costOf, settle, note));
    }

    @Override
    public long settle(String subscriber, UnitType unit, Long ratingGroup, String reservationKey, long used,
                       String changeKey, UsageNote note) {
        return timed(() -> store.settle(subscriber, unit, ratingGroup, reservationKey, used, changeKey, note));
    }

    @Override
    public Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String reservationKey,
                                       long used, long amount, Instant expires, String changeKey, UsageNote note) {
        return timed(() -> store.settleAndReserve(subscriber, unit, ratingGroup, reservationKey, used, amount,
                expires, changeKey, note));
    }

    @Override
    public void release(String reservationKey) {
        timed(() -> {
            store.release(reservationKey);
            return null;
        });
    }

    @Override
    public long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                      UsageNote note) {
        return timed(() -> store.debit(subscriber, unit, ratingGroup, amount, changeKey, note));
    }

    @Override
    public void credit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                       UsageNote note) {
        timed(() -> {
            store.credit(subscriber, unit, ratingGroup, amount, changeKey, note);
            return null;
        });
    }

    @Override
    public java.util.concurrent.CompletionStage<Void> recordUsageSoon(UsageNote note) {
        return timed(() -> store.recordUsageSoon(note));
    }

    @Override
    public void recordUsage(UsageNote note) {
        timed(() -> {
            store.recordUsage(note);
            return null;
        });
    }

    @Override
    public Optional<Long> recordedChange(String subscriber, String changeKey) {
        return store.recordedChange(subscriber, changeKey);
    }

    @Override
    public long available(String subscriber, UnitType unit, Long ratingGroup) {
        return store.available(subscriber, unit, ratingGroup);
    }

    @Override
    public int releaseExpired(Instant now) {
        return store.releaseExpired(now);
    }

    /** The store is the application's: it closes it. */
    @Override
    public void close() {
    }
}
