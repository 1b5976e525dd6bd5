package org.gyocs.store;

import static org.gyocs.store.ChangeKeys.pair;
import static org.gyocs.store.ChangeKeys.reservation;

import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;

/**
 * The node's balances on the embedded store, held in memory, with the journal as the only write
 * a request waits for.
 *
 * <p>Why: with every change executed as SQL in H2 (one committer thread) and then journalled,
 * the node reached about 0.6x the reference with 100,000 provisioned subscribers; H2 executing
 * the statements was the largest cost per CCR. A prototype of this class reached 1.3x with the
 * same journal sync (bench/RESULTS.md).
 *
 * <p>How it stays right:
 * <ul>
 * <li>Durable: a change's amount deltas (bucket id, delta) are appended to the journal inside the
 * account's lock, and the caller returns only after the journal thread has written and synced
 * the batch holding them. Batches are numbered; one frame per batch (AmountJournal).</li>
 * <li>Written back: every {@link #WRITE_BACK_NANOS} the journal thread adds the synced deltas to
 * the database ({@code amount = amount + delta}) together with the last batch they cover
 * (journal_applied), so a restart replays only later batches. Every few seconds the database is
 * checkpointed, and the journal written over from its start. Both run on the journal thread, so
 * no frame is written meanwhile.</li>
 * <li>Administration: ocs-admin changes the database, and moves provisioning.generation; the
 * store then reloads every bucket, each one's amount being the database's plus what this node
 * changed and has not written back ({@code unwritten}). Holds stay where they are.</li>
 * <li>Holds (reservations) live only here: they end with the node, as the sessions do.</li>
 * <li>One node per embedded file (the journal's lock), so nothing else charges these balances.</li>
 * </ul>
 * Each subscriber's buckets are changed under that subscriber's lock, in the same order and with
 * the same rules as the SQL stores (JdbcBalanceStore), which the same contract tests check.
 */
final class MemoryBalances implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(MemoryBalances.class);
    /** How often synced amounts are written back to the database: what ocs-admin shows lags by about this. */
    static final long WRITE_BACK_NANOS = 1_000_000_000L;
    private static final long IDLE_WAIT_NANOS = 250_000_000L;

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
            return unit == u && (rg == null || ratingGroup == null || ratingGroup.equals(rg))
                    && (expires == null || expires.isAfter(now));
        }
    }

    /** A subscriber's buckets; its monitor guards them and their slots. */
    private static final class Account {
        List<Slot> buckets = List.of();
        /**
         * The change keys of this subscriber's last changes and their results (made on first
         * use): a request sent again (after a 5012, or a retransmission racing its original)
         * targets the same subscriber, so its key is found here, under the lock the change takes.
         */
        String[] recentKeys;
        long[][] recentResults;
        int nextRecent;

        long[] recent(String changeKey) {
            if (recentKeys != null) {
                for (int i = 0; i < recentKeys.length; i++) {
                    if (changeKey.equals(recentKeys[i])) {
                        return recentResults[i];
                    }
                }
            }
            return null;
        }

        void remember(String changeKey, long[] result) {
            if (recentKeys == null) {
                recentKeys = new String[RECENT_KEYS];
                recentResults = new long[RECENT_KEYS][];
            }
            recentKeys[nextRecent] = changeKey;
            recentResults[nextRecent] = result;
            nextRecent = (nextRecent + 1) % RECENT_KEYS;
        }
    }

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
        long[] pairs = new long[4];
        int length;

        void add(Slot s, long delta) {
            s.amount += delta;
            s.unwritten += delta;
            put(s.id, delta);
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

    private final DataSource dataSource;
    private final AmountJournal journal;
    private final Map<String, Account> accounts = new ConcurrentHashMap<>();
    private volatile Map<Long, Slot> slots = Map.of();
    private final Map<String, Held> held = new ConcurrentHashMap<>();

    // the journal's queue: guarded by lock
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition done = lock.newCondition();
    private long[] pending = new long[1024];
    private long[] spare = new long[1024];
    private int pendingLength;
    private long pendingBatch;
    private long syncedBatch;
    private long reloadsAsked;
    private long reloadsDone;
    private boolean closing;
    /** Why the journal cannot be written, once it cannot: every change is refused from then on. */
    private volatile String failure;



    // the journal thread's own
    private Map<Long, Long> syncedDeltas = new HashMap<>();
    /** (hex key, result) of the synced change keys, written back with the deltas. */
    private Map<String, Long> syncedKeys = new HashMap<>();
    private long lastKeyPurge = System.nanoTime();
    /** Since when write-backs fail (0: they do not); past WRITE_BACK_GIVE_UP_NANOS the store fails. */
    private long writeBackFailingSince;
    static final long WRITE_BACK_GIVE_UP_NANOS = 30_000_000_000L;
    private long lastSynced;
    private long lastWriteBack = System.nanoTime();
    private final Thread journalThread;
    /** Open once the journal thread has read every bucket: the node listens meanwhile. */
    private final CountDownLatch loaded = new CountDownLatch(1);

    /**
     * Starts the journal thread, which first reads every bucket of the database (after the
     * journal's recovery): with 100,000 subscribers that took 0.6 s, which the node's start no
     * longer waits for; a request that needs a balance waits for it instead.
     */
    MemoryBalances(DataSource dataSource, AmountJournal journal) {
        this.dataSource = dataSource;
        this.journal = journal;
        this.syncedBatch = journal.lastBatch();
        this.lastSynced = syncedBatch;
        this.pendingBatch = syncedBatch + 1;
        journalThread = new Thread(this::run, "ocs-store-journal");
        journalThread.setDaemon(true);
        journalThread.start();
    }

    // ------------------------------------------------------------------ charging

    Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key, Instant expires,
                        String changeKey) {
        return reservation(change(subscriber, key, changeKey, ZERO,
                (a, c) -> pair(reserveIn(a, unit, ratingGroup, amount, key, expires))));
    }

    long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey) {
        return change(subscriber, key, changeKey, ZERO,
                (a, c) -> new long[] {settleIn(a, unit, ratingGroup, key, used, c), 0})[0];
    }

    Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                 long amount, Instant expires, String changeKey) {
        return reservation(change(subscriber, key, changeKey, ZERO, (a, c) -> {
            settleIn(a, unit, ratingGroup, key, used, c);
            return pair(reserveIn(a, unit, ratingGroup, amount, key, expires));
        }));
    }

    private static final long[] ZERO = {0, 0};

    void release(String key) {
        ready();
        Held h = held.get(key);
        if (h != null) {
            synchronized (h.account()) {
                unreserve(key, h);
            }
        }
    }

    /**
     * A debit. Its change key is also journalled with its amounts, and so written back to the
     * database: an event's retransmission may come after a restart (a session's may not: the
     * session is gone, and the request gets 5002).
     */
    long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey) {
        return change(subscriber, null, changeKey, ZERO, true,
                (a, c) -> new long[] {debitFreeIn(a, unit, ratingGroup, amount, c), 0})[0];
    }

    /** The result of a change of this subscriber under this change key that this node made recently, or null. */
    Long recordedChange(String subscriber, String changeKey) {
        Account a = accounts.get(subscriber);
        if (a == null) {
            return null;
        }
        synchronized (a) {
            long[] r = a.recent(changeKey);
            return r == null ? null : r[0];
        }
    }

    long available(String subscriber, UnitType unit, Long ratingGroup) {
        ready();
        Account a = accounts.get(subscriber);
        if (a == null) {
            return 0;
        }
        synchronized (a) {
            long free = 0;
            for (Slot b : candidates(a, unit, ratingGroup)) {
                free += b.amount - b.reserved;
            }
            return free;
        }
    }

    int releaseExpired(Instant now) {
        ready();
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
     * buckets), appends its amount changes to the journal under the account's lock and returns
     * once they are synced. A key held on another account, only by mistake, is released first:
     * its hold is never left behind, and usage is then debited from what is free.
     */
    private long[] change(String subscriber, String key, String changeKey, long[] none, Change<long[]> work) {
        return change(subscriber, key, changeKey, none, false, work);
    }

    private long[] change(String subscriber, String key, String changeKey, long[] none, boolean journalKey,
                          Change<long[]> work) {
        ready();
        Account a = accounts.get(subscriber);
        Held before = key == null ? null : held.get(key);
        if (before != null && before.account() != a) {
            release(key);
        }
        if (a == null) {
            return none;
        }
        Changes c = new Changes();
        long[] result;
        long batch;
        synchronized (a) {
            // the same change again (a request answered 5012 at its deadline and sent again, a
            // retransmission racing its original): its first result, nothing changed. Checked and
            // recorded under the account's lock, where a change of this subscriber is made.
            long[] earlier = changeKey == null ? null : a.recent(changeKey);
            if (earlier != null) {
                return earlier;
            }
            result = work.apply(a, c);
            if (changeKey != null) {
                a.remember(changeKey, result);
                if (journalKey && c.length > 0) {
                    c.key(ChangeKeys.digest(changeKey), result[0]); // journalled with its amounts: it survives with them
                }
            }
            batch = append(c);
        }
        awaitDurable(batch);
        return result;
    }

    /** The same rules as JdbcBalanceStore.reserveIn; the caller holds the account's lock. */
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

    /** The same rules as JdbcBalanceStore.settleIn; the caller holds the account's lock. */
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
     * expiry, then the oldest (JdbcBalanceStore.lockBuckets).
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
            out.sort(Comparator.<Slot>comparingInt(b -> (ratingGroup == null) == (b.ratingGroup == null) ? 0 : 1)
                    .thenComparing(b -> b.expires, Comparator.nullsLast(Comparator.naturalOrder()))
                    .thenComparingLong(b -> b.id));
        }
        return out;
    }

    // ------------------------------------------------------------------ administration

    /**
     * A bucket as this node has it now, with its holds: administration in the node's process sees
     * it at once, where the database has it as of the last write-back.
     */
    Bucket current(Bucket inDatabase) {
        ready();
        Slot s = slots.get(inDatabase.id());
        if (s == null) {
            return inDatabase;
        }
        synchronized (s.account) {
            return new Bucket(s.id, inDatabase.subscriber(), s.unit, s.amount, s.reserved, s.ratingGroup, s.expires);
        }
    }

    /** Reloads the buckets and returns once done (the database's subscribers or balances changed). */
    void reloadNow() {
        lock.lock();
        try {
            long mine = ++reloadsAsked;
            work.signal();
            long wait = TimeUnit.SECONDS.toNanos(30);
            while (reloadsDone < mine && failure == null && !closing && wait > 0) {
                wait = done.awaitNanos(wait);
            }
            if (reloadsDone < mine) {
                throw new StoreException(failure != null ? failure
                        : "The balances could not be read again from the database (see the log)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("Interrupted while the balances were read again", e);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ the journal

    /**
     * Waits until the balances are read; after a failure of the journal (or of that reading)
     * nothing is granted or changed any more (the memory may hold a change it never kept).
     */
    private void ready() {
        if (loaded.getCount() > 0) {
            try {
                if (!loaded.await(60, TimeUnit.SECONDS)) {
                    throw new StoreException("The balances are still being read from the database");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreException("Interrupted while the balances were read", e);
            }
        }
        String why = failure;
        if (why != null) {
            throw new StoreException(why);
        }
    }

    /** Queues a request's amount changes; @return the batch to wait for, 0 when none. Under the account's lock. */
    private long append(Changes c) {
        if (c.length == 0) {
            return 0;
        }
        lock.lock();
        try {
            if (failure != null || closing) {
                throw new StoreException(failure != null ? failure : "The balance store is closed");
            }
            if (pendingLength + c.length > pending.length) {
                pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + c.length));
            }
            System.arraycopy(c.pairs, 0, pending, pendingLength, c.length);
            pendingLength += c.length;
            work.signal();
            return pendingBatch;
        } finally {
            lock.unlock();
        }
    }

    private volatile long deadlineNanos = TimeUnit.MILLISECONDS.toNanos(GroupCommit.DEFAULT_DEADLINE_MILLIS);

    /** The longest a change waits for the journal's sync (a disk that stalls: 5012, not a hang). */
    void deadline(java.time.Duration d) {
        deadlineNanos = d.toNanos();
    }

    private void awaitDurable(long batch) {
        if (batch == 0) {
            return;
        }
        lock.lock();
        try {
            long wait = deadlineNanos;
            while (syncedBatch < batch && failure == null && wait > 0) {
                try {
                    wait = done.awaitNanos(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StoreException("Interrupted while the balance journal was synced", e);
                }
            }
            if (syncedBatch < batch) {
                // not acknowledged: if the sync comes later, the change stands, and a retransmission
                // (T-bit) finds its change key
                throw new StoreException(failure != null ? failure : "The balance journal was not synced within "
                        + TimeUnit.NANOSECONDS.toMillis(deadlineNanos) + " ms");
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The journal thread. Whatever ends it (an Error as well as an exception) fails the store
     * first, so that no caller waits forever for a sync that will not come.
     */
    private void run() {
        try {
            journalLoop();
        } catch (Throwable t) {
            log.error("The balance journal thread ended unexpectedly; balance changes are refused until the node restarts",
                    t);
            signal(() -> failure = failure != null ? failure : "The balance journal thread ended: " + t);
            loaded.countDown();
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    private void journalLoop() {
        try {
            reload();
        } catch (RuntimeException e) {
            log.error("Cannot read the balances from the database; balance changes are refused until the node restarts",
                    e);
            signal(() -> failure = "The balances could not be read from the database: " + e.getMessage());
            return;
        } finally {
            loaded.countDown();
        }
        journalLoopBody();
    }

    /**
     * True once the journal thread has ended after a last write-back and checkpoint that
     * succeeded, with no failure before: only then is the database file marked closed cleanly.
     */
    private volatile boolean stoppedCleanly;

    boolean stoppedCleanly() {
        return stoppedCleanly && failure == null;
    }

    private void journalLoopBody() {
        boolean stop = false;
        while (!stop) {
            long[] records;
            int length;
            long batch;
            long reload;
            lock.lock();
            try {
                long wait = IDLE_WAIT_NANOS;
                while (pendingLength == 0 && !closing && reloadsAsked == reloadsDone && wait > 0) {
                    try {
                        wait = work.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        wait = 0; // nobody interrupts this thread; closing is how it stops
                    }
                }
                records = pending;
                length = pendingLength;
                batch = pendingBatch;
                if (length > 0) {
                    pending = spare;
                    spare = records;
                    pendingLength = 0;
                    pendingBatch++;
                }
                reload = reloadsAsked;
                stop = closing && length == 0;
            } finally {
                lock.unlock();
            }
            if (length > 0) {
                try {
                    journal.write(batch, records, length);
                } catch (IOException | RuntimeException e) {
                    fail(e);
                    return;
                }
                for (int i = 0; i < length; i += 2) {
                    if (records[i] == KEY_HIGH) { // followed by KEY_LOW and KEY_RESULT
                        syncedKeys.put(ChangeKeys.hex(records[i + 1], records[i + 3]), records[i + 5]);
                        i += 4;
                    } else {
                        syncedDeltas.merge(records[i], records[i + 1], Long::sum);
                    }
                }
                lastSynced = batch;
                signal(() -> syncedBatch = batch);
            }
            try {
                boolean reloading = reload != reloadsDone;
                if (reloading || stop || journal.checkpointDue()
                        || System.nanoTime() - lastWriteBack > WRITE_BACK_NANOS) {
                    writeBack();
                }
                if ((stop || journal.checkpointDue()) && journal.holdsFrames()) {
                    checkpoint();
                }
                if (reloading) {
                    reload();
                    signal(() -> reloadsDone = reload);
                }
            } catch (RuntimeException e) {
                // the journal still holds everything the database lacks: try again later, without
                // holding up the journal's syncs (a pause here once cost every request 100 ms)
                if (writeBackFailingSince == 0) {
                    writeBackFailingSince = System.nanoTime();
                }
                lastWriteBack = System.nanoTime();
                log.warn("Cannot write the balances back to the database (trying again): {}", e.toString());
                if (stop) {
                    return;
                }
                if (System.nanoTime() - writeBackFailingSince > WRITE_BACK_GIVE_UP_NANOS) {
                    // H2 closed itself (a full disk) and stays closed: stop, so that the node
                    // restarts and replays its journal into a database that opens again
                    String why = "The balances could not be written back to the database for "
                            + WRITE_BACK_GIVE_UP_NANOS / 1_000_000_000L + " s: " + e.getMessage();
                    log.error(why);
                    signal(() -> failure = why);
                    failed(why);
                    return;
                }
                continue;
            }
        }
        stoppedCleanly = !journal.holdsFrames(); // the last write-back and checkpoint went through
    }

    private void signal(Runnable change) {
        lock.lock();
        try {
            change.run();
            done.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The journal cannot be written: no change is acknowledged any more (each fails with 5012),
     * and a restart of the node replays what the journal holds.
     */
    private void fail(Exception e) {
        log.error("The balance journal failed; balance changes are refused until the node restarts", e);
        signal(() -> failure = "The balance journal failed: " + e.getMessage());
        failed(failure);
    }

    /** Who is told when this store can change no balance any more (the application stops the node). */
    private volatile java.util.function.Consumer<String> onFailure = why -> { };

    void onFailure(java.util.function.Consumer<String> listener) {
        onFailure = listener;
    }

    private void failed(String why) {
        try {
            onFailure.accept(why);
        } catch (RuntimeException e) {
            log.error("Cannot report the store's failure: {}", e.toString(), e);
        }
    }

    /** Why no balance can change any more, or null. */
    String failure() {
        return failure;
    }

    /** Adds the synced deltas to the database, with the last batch they cover. On the journal thread. */
    private void writeBack() {
        lastWriteBack = System.nanoTime();
        if (lastWriteBack - lastKeyPurge > ChangeKeys.PURGE_INTERVAL_NANOS) {
            lastKeyPurge = lastWriteBack;
            JdbcBalanceStore.inTransaction(dataSource, tx -> ChangeKeys.purge(tx, Instant.now()));
        }
        if (syncedDeltas.isEmpty() && syncedKeys.isEmpty()) {
            return;
        }
        Map<Long, Long> deltas = syncedDeltas;
        Map<String, Long> keys = syncedKeys;
        long upTo = lastSynced;
        JdbcBalanceStore.inTransaction(dataSource, tx -> {
            PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount + ? WHERE id = ?");
            for (Map.Entry<Long, Long> e : deltas.entrySet()) {
                u.setLong(1, e.getValue());
                u.setLong(2, e.getKey());
                u.addBatch();
            }
            u.executeBatch();
            writeKeys(tx, keys, Instant.now());
            PreparedStatement s = tx.prepare("UPDATE journal_applied SET batch = ? WHERE id = 1");
            s.setLong(1, upTo);
            s.executeUpdate();
            return null;
        });
        writeBackFailingSince = 0;
        syncedDeltas = new HashMap<>();
        syncedKeys = new HashMap<>();
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


    /** Change keys into the database (MERGE: a replay may meet a key written already). */
    static void writeKeys(SqlTransaction tx, Map<String, Long> keys, Instant at) throws java.sql.SQLException {
        if (keys.isEmpty()) {
            return;
        }
        PreparedStatement k = tx.prepare(
                "MERGE INTO applied_change (change_key, result, result2, applied_at) KEY (change_key) VALUES (?, ?, 0, ?)");
        for (Map.Entry<String, Long> e : keys.entrySet()) {
            k.setString(1, e.getKey());
            k.setLong(2, e.getValue());
            k.setTimestamp(3, Timestamp.from(at));
            k.addBatch();
        }
        k.executeBatch();
    }

    /** Makes the database durable by itself; the journal is then written over from its start. */
    private void checkpoint() {
        if (!syncedDeltas.isEmpty() || !syncedKeys.isEmpty()) {
            return; // the write-back failed: the journal still holds what the database lacks
        }
        JdbcBalanceStore.inTransaction(dataSource, tx -> {
            journal.checkpointNow(tx);
            return null;
        });
        journal.checkpointed();
    }

    /**
     * Reads every bucket of the database: a bucket this node charges keeps its holds and gets the
     * database's amount plus what it has not written back; new buckets join, deleted ones leave.
     */
    private void reload() {
        List<Object[]> rows = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            List<Object[]> out = new ArrayList<>();
            try (ResultSet rs = tx.prepare("SELECT id, subscriber_id, unit, rating_group, amount, expires_at FROM bucket")
                    .executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(4);
                    Long ratingGroup = rs.wasNull() ? null : rg;
                    Timestamp t = rs.getTimestamp(6);
                    out.add(new Object[] {rs.getLong(1), rs.getString(2), Bucket.unitOf(rs.getString(3)), ratingGroup,
                            rs.getLong(5), t == null ? null : t.toInstant()});
                }
            }
            return out;
        });
        Map<Long, Slot> before = slots;
        Map<Long, Slot> now = new HashMap<>(rows.size() * 2);
        Map<Account, List<Slot>> buckets = new HashMap<>();
        for (Object[] r : rows) {
            long id = (Long) r[0];
            String subscriber = (String) r[1];
            long amount = (Long) r[4];
            Account a = accounts.computeIfAbsent(subscriber, k -> new Account());
            Slot s = before.get(id);
            if (s != null && s.account == a) {
                synchronized (a) {
                    s.amount = amount + s.unwritten;
                }
            } else {
                s = new Slot(id, a, (UnitType) r[2], (Long) r[3], (Instant) r[5], amount);
            }
            now.put(id, s);
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
        log.debug("Balances in memory: {} buckets of {} subscribers", now.size(), accounts.size());
    }

    /** Writes back what is synced, checkpoints the database and stops the journal thread. */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            work.signal();
            done.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            journalThread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
