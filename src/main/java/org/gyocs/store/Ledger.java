package org.gyocs.store;

import static org.gyocs.store.ChangeKeys.pair;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.gyocs.core.BalanceStore;
import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

/**
 * The embedded node's balances as a ledger in memory: subscribers' buckets, the holds of their
 * reservations, and the rules that change them, the same as the SQL stores' (SqlRules), which
 * the same contract tests check. No database and no file: what each change does to the amounts
 * goes, under the subscriber's lock, to a {@link Journal}, and the caller waits for the batch
 * that holds it to be durable (MemoryBalances). Thread-safe: each subscriber's buckets change
 * under that subscriber's lock.
 */
final class Ledger {

    /**
     * Where the amount changes of a change go, under its subscriber's lock, so that the journal
     * holds them in the order they were made: (bucket id, delta) pairs, and a debit's change key
     * as three pairs with the ids KEY_HIGH, KEY_LOW and KEY_RESULT.
     */
    interface Journal {
        /**
         * @param notes the usage notes the pairs hold (encoded), as objects: the writer thread
         *              writes them back without decoding them again; null when none
         * @return the batch they went into, to wait for
         */
        long append(long[] pairs, int length, List<UsageRecords.Kept> notes);
    }

    /** A change's result (as ChangeKeys packs it) and the journal batch to wait for (0: none). */
    record Outcome(long[] result, long batch) {
    }

    /** A bucket as the database has it, to load. */
    record Row(long id, String subscriber, UnitType unit, Long ratingGroup, long amount, Instant expires) {
    }

    /** A bucket as the node charges it; its unit, rating group and expiry never change. */
    private static final class Slot {
        final long id;
        final Account account;
        final UnitType unit;
        final Long ratingGroup;
        final Instant expires;
        long amount;
        long reserved;
        /** Amount changes made here that the database does not have yet. */
        long unwritten;

        Slot(long id, Account account, UnitType unit, Long ratingGroup, Instant expires, long amount) {
            this.id = id;
            this.account = account;
            this.unit = unit;
            this.ratingGroup = ratingGroup;
            this.expires = expires;
            this.amount = amount;
        }

        boolean serves(UnitType u, Long rg, Instant now) {
            return unit == u && Bucket.servesRatingGroup(ratingGroup, rg) && (expires == null || expires.isAfter(now));
        }
    }

    /** A subscriber's buckets; its monitor guards them and their slots. */
    private static final class Account {
        List<Slot> buckets = List.of();
        /**
         * This subscriber's last changes (made on first use): a request sent again (after a 5012,
         * or a retransmission racing its original) targets the same subscriber, so its change key
         * is found here, under the lock the change takes. Each as RECENT_WIDTH longs: the key's
         * 128 bits (ChangeKeys#digest), the journal batch of the change (a change sent again is
         * answered once that batch is synced, not before), the result's length, the result.
         * Longs in one array made once, not a String and a long[] per change: held for the
         * subscriber's next changes, those were copied by every young collection until promoted,
         * the larger part of the collector's pauses under load.
         */
        long[] recent;
        int nextRecent;

        /** @return the index of this key among the recent changes, or -1 */
        int recent(long[] digest) {
            if (recent != null) {
                for (int i = 0; i < RECENT_KEYS; i++) {
                    int at = i * RECENT_WIDTH;
                    if (recent[at + 2] != 0 && recent[at] == digest[0] && recent[at + 1] == digest[1]) {
                        return i;
                    }
                }
            }
            return -1;
        }

        long[] result(int i) {
            int at = i * RECENT_WIDTH;
            return Arrays.copyOfRange(recent, at + 3, at + 3 + (int) recent[at + 2]);
        }

        long batch(int i) {
            return recent[i * RECENT_WIDTH + RECENT_WIDTH - 1];
        }

        void remember(long[] digest, long[] result, long batch) {
            if (result.length == 0 || result.length > RECENT_WIDTH - 4) {
                throw new IllegalArgumentException("a change's result has 1 to 4 longs, not " + result.length);
            }
            if (recent == null) {
                recent = new long[RECENT_KEYS * RECENT_WIDTH];
            }
            int at = nextRecent * RECENT_WIDTH;
            recent[at] = digest[0];
            recent[at + 1] = digest[1];
            recent[at + 2] = result.length;
            System.arraycopy(result, 0, recent, at + 3, result.length);
            recent[at + RECENT_WIDTH - 1] = batch;
            nextRecent = (nextRecent + 1) % RECENT_KEYS;
        }
    }

    /** Longs per recent change: key (2), result length, result (up to 4), batch. */
    private static final int RECENT_WIDTH = 8;

    /** Change keys remembered per subscriber: its last changes, of all its sessions and events. */
    static final int RECENT_KEYS = 8;

    private record Hold(Slot bucket, long amount) {
    }

    /** What one reservation key holds, on one account. */
    private record Held(Account account, Instant expires, List<Hold> holds) {
    }

    /**
     * The amount changes of one request, appended to the journal together: (bucket id, delta)
     * pairs, and the change key of a debit as three pairs whose ids are KEY_HIGH, KEY_LOW and
     * KEY_RESULT (bucket ids are positive; a journal read by an older node applies them to no
     * bucket).
     */
    private static final class Changes {
        /** Room for a settlement with its usage note and change key: grown, it was 5 % of the node's allocation. */
        long[] pairs = new long[64];
        int length;
        /** The usage notes encoded in pairs, as objects; null until one is added. */
        List<UsageRecords.Kept> kept;

        void add(Slot s, long delta) {
            s.amount += delta;
            s.unwritten += delta;
            put(s.id, delta);
        }

        /**
         * The usage note of the change, in the same frame as its amounts: journal records
         * USAGE_LENGTH (its length in bytes) then USAGE_BYTES, 8 bytes each (UsageRecords).
         */
        void usage(UsageNote note, UnitType unit, long changed) {
            if (note == null) {
                return;
            }
            UsageRecords.Kept k = UsageRecords.resolve(note, unit, changed);
            if (!k.matters()) {
                return;
            }
            if (kept == null) {
                kept = new ArrayList<>(1);
            }
            kept.add(k);
            UsageRecords.NoteBytes encoded = UsageRecords.encoded(k);
            byte[] b = encoded.bytes();
            int length = encoded.size();
            put(USAGE_LENGTH, length);
            // big-endian, zero-padded to whole longs: the length record says where the note ends
            for (int i = 0; i < length; i += 8) {
                long v = 0;
                for (int j = i; j < i + 8; j++) {
                    v = (v << 8) | (j < length ? b[j] & 0xff : 0);
                }
                put(USAGE_BYTES, v);
            }
        }

        void key(long[] digest, long result) {
            put(KEY_HIGH, digest[0]);
            put(KEY_LOW, digest[1]);
            put(KEY_RESULT, result);
        }

        private void put(long id, long value) {
            if (length == pairs.length) {
                pairs = Arrays.copyOf(pairs, length * 2);
            }
            pairs[length++] = id;
            pairs[length++] = value;
        }
    }

    /** Journal record ids of a change key (see Changes). */
    static final long KEY_HIGH = -1;
    static final long KEY_LOW = -2;
    static final long KEY_RESULT = -3;
    /** Journal record ids of a usage note (see Changes#usage). */
    static final long USAGE_LENGTH = -4;
    static final long USAGE_BYTES = -5;

    private final Map<String, Account> accounts = new ConcurrentHashMap<>();
    private volatile Map<Long, Slot> slots = Map.of();
    private final Map<String, Held> held = new ConcurrentHashMap<>();

    private static final long[] ZERO = {0, 0};

    Outcome reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key, Instant expires,
                    String changeKey, Journal journal) {
        return change(subscriber, key, changeKey, ZERO, false, journal,
                (a, c) -> pair(reserveIn(a, unit, ratingGroup, amount, key, expires)));
    }

    Outcome settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey,
                   UsageNote note, Journal journal) {
        return change(subscriber, key, changeKey, ZERO, false, journal, (a, c) -> {
            long debited = settleIn(a, unit, ratingGroup, key, used, c);
            c.usage(note, unit, debited);
            return new long[] {debited, 0};
        });
    }

    Outcome settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used, long amount,
                             Instant expires, String changeKey, UsageNote note, Journal journal) {
        return change(subscriber, key, changeKey, ZERO, false, journal, (a, c) -> {
            c.usage(note, unit, settleIn(a, unit, ratingGroup, key, used, c));
            return pair(reserveIn(a, unit, ratingGroup, amount, key, expires));
        });
    }

    /**
     * A priced grant as one change (BalanceStore#reserveRated): the unit buckets' hold, the
     * money's settlement and the money's hold under one lock and one change key, in one journal
     * append.
     *
     * @return units reserved, units available after, money held, money available after
     */
    Outcome reserveRated(String subscriber, UnitType unit, Long ratingGroup, long amount, String key, Instant expires,
                         String changeKey, java.util.function.LongUnaryOperator costOf, long settle, UsageNote note,
                         Journal journal) {
        String moneyKey = key + BalanceStore.MONEY_HOLD;
        releaseIfHeldElsewhere(moneyKey, accounts.get(subscriber));
        return change(subscriber, key, changeKey, new long[4], false, journal, (a, c) -> {
            Reservation units = reserveIn(a, unit, ratingGroup, amount, key, expires);
            long need = amount - units.reserved();
            if (need > 0 || note != null) {
                c.usage(note, UnitType.MONEY, settleIn(a, UnitType.MONEY, ratingGroup, moneyKey, settle, c));
                Reservation money = reserveIn(a, UnitType.MONEY, ratingGroup, need > 0 ? costOf.applyAsLong(need) : 0,
                        moneyKey, expires);
                return new long[] {units.reserved(), units.availableAfter(), money.reserved(), money.availableAfter()};
            }
            return new long[] {units.reserved(), units.availableAfter(), 0,
                    units.availableAfter() > 0 ? 0 : availableIn(a, UnitType.MONEY, ratingGroup)};
        });
    }

    /**
     * A debit. Its change key is also journalled with its amounts, and so written back to the
     * database: an event's retransmission may come after a restart (a session's may not: the
     * session is gone, and the request gets 5002).
     */
    Outcome debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey, UsageNote note,
                  Journal journal) {
        return change(subscriber, null, changeKey, ZERO, true, journal, (a, c) -> {
            long debited = debitFreeIn(a, unit, ratingGroup, amount, c);
            c.usage(note, unit, debited);
            return new long[] {debited, 0};
        });
    }

    /** A usage note without a balance change (a record's end), journalled on its own. */
    Outcome note(UsageNote note, Journal journal) {
        Changes c = new Changes();
        c.usage(note, null, 0);
        return new Outcome(ZERO, c.length == 0 ? 0 : journal.append(c.pairs, c.length, c.kept));
    }

    void release(String key) {
        Held h = held.get(key);
        if (h != null) {
            synchronized (h.account()) {
                unreserve(key, h);
            }
        }
    }

    /** The result of a change of this subscriber under this change key made recently, or null. */
    Long recordedChange(String subscriber, String changeKey) {
        Account a = accounts.get(subscriber);
        if (a == null) {
            return null;
        }
        long[] digest = ChangeKeys.digest(changeKey);
        synchronized (a) {
            int i = a.recent(digest);
            return i < 0 ? null : a.recent[i * RECENT_WIDTH + 3]; // its result's first long
        }
    }

    long available(String subscriber, UnitType unit, Long ratingGroup) {
        Account a = accounts.get(subscriber);
        if (a == null) {
            return 0;
        }
        synchronized (a) {
            return availableIn(a, unit, ratingGroup);
        }
    }

    /** The caller holds the account's lock. */
    private static long availableIn(Account a, UnitType unit, Long ratingGroup) {
        long free = 0;
        for (Slot b : candidates(a, unit, ratingGroup)) {
            free += b.amount - b.reserved;
        }
        return free;
    }

    int releaseExpired(Instant now) {
        int released = 0;
        for (Map.Entry<String, Held> e : held.entrySet()) {
            Held h = e.getValue();
            if (h.expires().isBefore(now)) {
                synchronized (h.account()) {
                    if (unreserve(e.getKey(), h)) {
                        released++;
                    }
                }
            }
        }
        return released;
    }

    /** What a request does to one subscriber's buckets, under its lock; amount changes go to c. */
    @FunctionalInterface
    private interface Change<T> {
        T apply(Account a, Changes c);
    }

    /**
     * Runs a change on the subscriber's account (or answers {@code none} when it has no
     * buckets) and appends its amount changes to the journal under the account's lock; the
     * caller waits for the batch it returns to be synced. A key held on another account, only by mistake, is released first:
     * its hold is never left behind, and usage is then debited from what is free.
     */
    private Outcome change(String subscriber, String key, String changeKey, long[] none, boolean journalKey,
                           Journal journal, Change<long[]> work) {
        Account a = accounts.get(subscriber);
        releaseIfHeldElsewhere(key, a);
        if (a == null) {
            return new Outcome(none, 0);
        }
        Changes c = new Changes();
        long[] result;
        long batch;
        long[] digest = changeKey == null ? null : ChangeKeys.digest(changeKey); // outside the lock
        synchronized (a) {
            // the same change again (a request answered 5012 at its deadline and sent again, a
            // retransmission racing its original): its first result, nothing changed. Checked and
            // recorded under the account's lock, where a change of this subscriber is made.
            // Its batch too: answered once the first is durable, if that is still to come (the first
            // was answered 5012 when its sync missed the deadline, and the sync may yet fail).
            int earlier = digest == null ? -1 : a.recent(digest);
            if (earlier >= 0) {
                return new Outcome(a.result(earlier), a.batch(earlier));
            }
            result = work.apply(a, c);
            if (digest != null && journalKey && c.length > 0) {
                c.key(digest, result[0]); // journalled with its amounts: it survives with them
            }
            batch = c.length == 0 ? 0 : journal.append(c.pairs, c.length, c.kept);
            if (digest != null) {
                a.remember(digest, result, batch);
            }
        }
        return new Outcome(result, batch);
    }

    /** Releases a key's hold when it is on another account than this one (only ever by mistake). */
    private void releaseIfHeldElsewhere(String key, Account a) {
        Held before = key == null ? null : held.get(key);
        if (before != null && before.account() != a) {
            release(key);
        }
    }

    /** The same rules as SqlRules.reserveIn; the caller holds the account's lock. */
    private Reservation reserveIn(Account a, UnitType unit, Long ratingGroup, long amount, String key,
                                  Instant expires) {
        long need = amount;
        long available = 0;
        List<Hold> taken = new ArrayList<>(1);
        for (Slot b : candidates(a, unit, ratingGroup)) {
            long free = b.amount - b.reserved;
            long take = Math.min(free, need);
            if (take > 0) {
                b.reserved += take;
                taken.add(new Hold(b, take));
                need -= take;
            }
            available += free - Math.max(0, take);
        }
        if (!taken.isEmpty()) {
            Held before = held.get(key);
            if (before != null) { // a second reservation under a live key adds to it
                taken.addAll(before.holds());
                taken.sort(Comparator.comparingLong(h -> h.bucket().id));
            }
            held.put(key, new Held(a, expires, List.copyOf(taken)));
        }
        return new Reservation(amount - need, available);
    }

    /** The same rules as SqlRules.settleIn; the caller holds the account's lock. */
    private long settleIn(Account a, UnitType unit, Long ratingGroup, String key, long used, Changes c) {
        long left = used;
        long debited = 0;
        Held h = held.get(key);
        if (h != null && h.account() == a && held.remove(key, h)) {
            for (Hold hold : h.holds()) { // in bucket id order
                long d = Math.min(left, hold.amount());
                hold.bucket().reserved -= hold.amount();
                if (d != 0) {
                    c.add(hold.bucket(), -d);
                }
                left -= d;
                debited += d;
            }
        }
        if (left > 0) {
            debited += debitFreeIn(a, unit, ratingGroup, left, c);
        }
        return debited;
    }

    private long debitFreeIn(Account a, UnitType unit, Long ratingGroup, long amount, Changes c) {
        long left = amount;
        for (Slot b : candidates(a, unit, ratingGroup)) {
            long d = Math.min(left, b.amount - b.reserved);
            if (d > 0) {
                c.add(b, -d);
                left -= d;
            }
        }
        return amount - left;
    }

    /** Releases a key's hold if it is still this one; the caller holds its account's lock. */
    private boolean unreserve(String key, Held h) {
        if (!held.remove(key, h)) {
            return false;
        }
        for (Hold hold : h.holds()) {
            hold.bucket().reserved -= hold.amount();
        }
        return true;
    }

    /**
     * The buckets a request may use, in the order they are used: for a rating group its own
     * before the generic ones; without one (Open5GS), generic ones first; then the soonest
     * expiry, then the oldest (SqlRules.lockBuckets).
     */
    private static List<Slot> candidates(Account a, UnitType unit, Long ratingGroup) {
        Instant now = Instant.now();
        List<Slot> out = new ArrayList<>(a.buckets.size());
        for (Slot b : a.buckets) {
            if (b.serves(unit, ratingGroup, now)) {
                out.add(b);
            }
        }
        if (out.size() > 1) {
            out.sort(Bucket.useOrder(ratingGroup, (Slot b) -> b.ratingGroup, b -> b.expires, b -> b.id));
        }
        return out;
    }

    /**
     * A bucket as the ledger has it now, with its holds (the database has it as of the last
     * write-back); one the ledger does not have, as it is.
     */
    Bucket current(Bucket inDatabase) {
        Slot s = slots.get(inDatabase.id());
        if (s == null) {
            return inDatabase;
        }
        synchronized (s.account) {
            return new Bucket(s.id, inDatabase.subscriber(), s.unit, s.amount, s.reserved, s.ratingGroup, s.expires);
        }
    }

    /** The deltas of a write-back are in the database now: they no longer count as unwritten. */
    void written(Map<Long, Long> deltas) {
        Map<Long, Slot> bySlot = slots;
        for (Map.Entry<Long, Long> e : deltas.entrySet()) {
            Slot s = bySlot.get(e.getKey());
            if (s != null) {
                synchronized (s.account) {
                    s.unwritten -= e.getValue();
                }
            }
        }
    }

    /**
     * Takes every bucket of the database: a bucket the ledger holds keeps its holds and gets the
     * database's amount plus what has not been written back; new buckets join, deleted ones leave.
     */
    void load(List<Row> rows) {
        Map<Long, Slot> before = slots;
        Map<Long, Slot> now = new HashMap<>(rows.size() * 2);
        Map<Account, List<Slot>> buckets = new HashMap<>();
        for (Row r : rows) {
            Account a = accounts.computeIfAbsent(r.subscriber(), k -> new Account());
            Slot s = before.get(r.id());
            if (s != null && s.account == a) {
                synchronized (a) {
                    s.amount = r.amount() + s.unwritten;
                }
            } else {
                s = new Slot(r.id(), a, r.unit(), r.ratingGroup(), r.expires(), r.amount());
            }
            now.put(r.id(), s);
            buckets.computeIfAbsent(a, k -> new ArrayList<>()).add(s);
        }
        for (Map.Entry<String, Account> e : accounts.entrySet()) {
            Account a = e.getValue();
            List<Slot> mine = buckets.get(a);
            synchronized (a) {
                a.buckets = mine == null ? List.of() : List.copyOf(mine);
            }
            if (mine == null) {
                accounts.remove(e.getKey(), a);
            }
        }
        slots = now;
    }

    /** For the log: buckets and subscribers held. */
    String size() {
        return slots.size() + " buckets of " + accounts.size() + " subscribers";
    }
}
