package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;
import org.junit.jupiter.api.Test;

/** The embedded node's ledger rules, in memory alone: no database, no file. */
class LedgerTest {
    private static final String SUB = "491700000001";
    private static final Instant LATER = Instant.now().plusSeconds(3600);

    /** A journal that keeps what it is given: (bucket id, delta) pairs, one batch per change. */
    private final List<long[]> appended = new ArrayList<>();
    private final Ledger.Journal journal = (pairs, length, notes) -> {
        appended.add(java.util.Arrays.copyOf(pairs, length));
        return appended.size();
    };

    private static Ledger.Row row(long id, UnitType unit, Long ratingGroup, long amount, Instant expires) {
        return new Ledger.Row(id, SUB, unit, ratingGroup, amount, expires);
    }

    private static Reservation reservation(Ledger.Outcome o) {
        return ChangeKeys.reservation(o.result());
    }

    @Test
    void aRatingGroupUsesItsOwnBucketsFirstThenTheSoonestExpiringGenericOnes() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.OCTETS, null, 100, null), row(2, UnitType.OCTETS, null, 100, LATER),
                row(3, UnitType.OCTETS, 10L, 50, null), row(4, UnitType.OCTETS, null, 100, Instant.now().minusSeconds(1)),
                row(5, UnitType.SECONDS, 10L, 1000, null)));
        Reservation r = reservation(l.reserve(SUB, UnitType.OCTETS, 10L, 120, "k1", LATER, null, journal));
        assertEquals(120, r.reserved());
        assertEquals(130, r.availableAfter(), "the expired bucket and the seconds are not counted");
        assertEquals(0, l.available(SUB, UnitType.OCTETS, 10L) - 130);
        assertEquals(List.of(), appended, "a reservation changes no amount: nothing to journal");
        // RG 10's own 50 first, then the generic bucket that expires (2), then the one that does not (1)
        assertEquals(50, l.current(bucket(3)).reserved());
        assertEquals(70, l.current(bucket(2)).reserved());
        assertEquals(0, l.current(bucket(1)).reserved());
        assertEquals(0, l.current(bucket(4)).reserved());
    }

    @Test
    void withoutARatingGroupTheGenericBucketsComeFirst() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.OCTETS, 10L, 100, null), row(2, UnitType.OCTETS, null, 100, null)));
        assertEquals(100, reservation(l.reserve(SUB, UnitType.OCTETS, null, 100, "k", LATER, null, journal)).reserved());
        assertEquals(100, l.current(bucket(2)).reserved());
        assertEquals(0, l.current(bucket(1)).reserved());
    }

    @Test
    void settlingDebitsTheHoldThenWhatIsFreeAndNeverBelowZero() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.OCTETS, null, 100, null)));
        l.reserve(SUB, UnitType.OCTETS, null, 40, "k", LATER, null, journal);
        Ledger.Outcome o = l.settle(SUB, UnitType.OCTETS, null, "k", 150, null, null, journal);
        assertEquals(100, o.result()[0], "40 held, 60 free: 100 debited of the 150 used");
        assertEquals(1, o.batch());
        assertArrayEquals(new long[] {1, -40, 1, -60}, appended.get(0), "(bucket, delta) pairs, in order");
        Bucket b = l.current(bucket(1));
        assertEquals(0, b.amount());
        assertEquals(0, b.reserved());
    }

    @Test
    void theSameChangeKeyAnswersItsFirstResultAndChangesNothingAgain() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.UNITS, null, 10, null)));
        Ledger.Outcome first = l.debit(SUB, UnitType.UNITS, null, 3, "change-1", null, journal);
        Ledger.Outcome again = l.debit(SUB, UnitType.UNITS, null, 3, "change-1", null, journal);
        assertEquals(3, first.result()[0]);
        assertEquals(3, again.result()[0]);
        assertEquals(first.batch(), again.batch(), "waits for the first one's batch: answered once it is durable");
        assertEquals(1, appended.size());
        assertEquals(7, l.current(bucket(1)).amount());
        assertEquals(3L, l.recordedChange(SUB, "change-1"));
        assertNull(l.recordedChange(SUB, "change-2"));
        // a debit journals its change key with its amounts: it survives a restart with them
        long[] pairs = appended.get(0);
        assertEquals(8, pairs.length);
        assertEquals(Ledger.KEY_HIGH, pairs[2]);
        assertEquals(Ledger.KEY_LOW, pairs[4]);
        assertEquals(Ledger.KEY_RESULT, pairs[6]);
        assertEquals(3, pairs[7]);
    }

    /** A subscriber's last RECENT_KEYS changes are found again, each with its own result and batch. */
    @Test
    void theLastChangesOfASubscriberAreFoundAgainAndTheOldestIsForgotten() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.UNITS, null, 1_000, null)));
        int n = Ledger.RECENT_KEYS + 1;
        for (int i = 1; i <= n; i++) {
            assertEquals(i, l.debit(SUB, UnitType.UNITS, null, i, "change-" + i, null, journal).result()[0]);
        }
        assertNull(l.recordedChange(SUB, "change-1"), "the oldest is forgotten");
        for (int i = 2; i <= n; i++) {
            assertEquals(i, l.recordedChange(SUB, "change-" + i), "change-" + i);
            Ledger.Outcome again = l.debit(SUB, UnitType.UNITS, null, i, "change-" + i, null, journal);
            assertArrayEquals(new long[] {i, 0}, again.result());
            assertEquals(i, again.batch(), "its own batch (one append each here)");
        }
        assertEquals(1_000 - n * (n + 1) / 2, l.current(bucket(1)).amount(), "each debited once");
    }

    @Test
    void onlyExpiredHoldsAreReleased() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.SECONDS, null, 100, null)));
        l.reserve(SUB, UnitType.SECONDS, null, 30, "old", Instant.now().minusSeconds(1), null, journal);
        l.reserve(SUB, UnitType.SECONDS, null, 20, "live", LATER, null, journal);
        assertEquals(1, l.releaseExpired(Instant.now()));
        assertEquals(20, l.current(bucket(1)).reserved());
        l.release("live");
        assertEquals(0, l.current(bucket(1)).reserved());
        assertEquals(0, l.releaseExpired(Instant.now()));
    }

    /** A reload keeps the holds, and adds to the database's amount what has not been written back. */
    @Test
    void loadingAgainKeepsHoldsAndWhatTheDatabaseLacks() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.OCTETS, null, 100, null)));
        l.reserve(SUB, UnitType.OCTETS, null, 10, "k", LATER, null, journal);
        l.debit(SUB, UnitType.OCTETS, null, 30, null, null, journal);
        // ocs-admin added a bucket: the database still has 100 in bucket 1
        l.load(List.of(row(1, UnitType.OCTETS, null, 100, null), row(2, UnitType.OCTETS, null, 5, null)));
        assertEquals(70, l.current(bucket(1)).amount());
        assertEquals(10, l.current(bucket(1)).reserved());
        assertEquals(65, l.available(SUB, UnitType.OCTETS, null));
        // written back: the database has 70, nothing is unwritten any more
        l.written(Map.of(1L, -30L));
        l.load(List.of(row(1, UnitType.OCTETS, null, 70, null)));
        assertEquals(70, l.current(bucket(1)).amount());
        assertEquals(60, l.available(SUB, UnitType.OCTETS, null), "bucket 2 deleted, the hold kept");
        // a subscriber with no bucket left is gone
        l.load(List.of());
        assertEquals(0, l.available(SUB, UnitType.OCTETS, null));
        assertEquals(0, reservation(l.reserve(SUB, UnitType.OCTETS, null, 1, "k2", LATER, null, journal)).reserved());
    }

    /**
     * A priced grant in one change: unit buckets first, the rest bought with money (at 2 per
     * unit here) under the key's money hold, the last report's money settled in the same journal
     * append; sent again under its change key, its first result and nothing changed.
     */
    @Test
    void aRatedGrantTakesUnitsThenBuysTheRestWithMoneyInOneChange() {
        Ledger l = new Ledger();
        l.load(List.of(row(1, UnitType.OCTETS, null, 30, null), row(2, UnitType.MONEY, null, 1000, null)));
        long[] first = l.reserveRated(SUB, UnitType.OCTETS, null, 100, "k", LATER, "i", units -> 2 * units, 0, null,
                journal).result();
        assertArrayEquals(new long[] {30, 0, 140, 860}, first, "30 octets held, 70 bought for 140");
        assertEquals(List.of(), appended, "holds alone: nothing to journal");
        assertEquals(30, l.current(bucket(1)).reserved());
        assertEquals(140, l.current(bucket(2)).reserved());
        // the usual rated CCR-U: the report's 50 (paid from the money hold) and the next grant
        org.gyocs.core.UsageNote note = org.gyocs.core.UsageNote.of(org.gyocs.core.UsageNote.SESSION, null, SUB, "s;1", "pcef",
                Instant.now())
                .line(null, UnitType.OCTETS, 25, false, "EUR");
        Ledger.Outcome u = l.reserveRated(SUB, UnitType.OCTETS, null, 100, "k", LATER, "u1", units -> 2 * units, 50,
                note, journal);
        assertEquals(1, appended.size(), "one journal append for the settlement and both holds");
        assertEquals(1, u.batch());
        assertArrayEquals(new long[] {2, -50}, java.util.Arrays.copyOf(appended.get(0), 2), "the money debited");
        assertEquals(950, l.current(bucket(2)).amount());
        // the unit hold of the last grant is still the key's (its usage was settled by the caller
        // in the unit buckets first): the new grant adds to it, and money buys what is lacking
        assertArrayEquals(new long[] {0, 0, 200, 750}, u.result());
        Ledger.Outcome again = l.reserveRated(SUB, UnitType.OCTETS, null, 100, "k", LATER, "u1", units -> 2 * units,
                50, note, journal);
        assertArrayEquals(u.result(), again.result());
        assertEquals(u.batch(), again.batch(), "the same change: nothing changed, the first's batch waited for");
        assertEquals(1, appended.size());
        assertEquals(950, l.current(bucket(2)).amount());
        // covered by unit buckets alone and nothing to settle: the money is not held, and its
        // availability is looked at only when the unit buckets are empty
        Ledger l2 = new Ledger();
        l2.load(List.of(row(1, UnitType.OCTETS, null, 100, null), row(2, UnitType.MONEY, null, 1000, null)));
        assertArrayEquals(new long[] {40, 60, 0, 0},
                l2.reserveRated(SUB, UnitType.OCTETS, null, 40, "k", LATER, "i", units -> 2 * units, 0, null, journal)
                        .result());
        assertArrayEquals(new long[] {60, 0, 0, 1000},
                l2.reserveRated(SUB, UnitType.OCTETS, null, 60, "k2", LATER, "i2", units -> 2 * units, 0, null, journal)
                        .result());
        assertEquals(0, l2.current(bucket(2)).reserved());
    }

    private static Bucket bucket(long id) {
        return new Bucket(id, SUB, UnitType.OCTETS, -1, -1, null, null);
    }
}
