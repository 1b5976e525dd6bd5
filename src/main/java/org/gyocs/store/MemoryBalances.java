package org.gyocs.store;

import static org.gyocs.store.ChangeKeys.reservation;

import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.BalanceStore;
import org.gyocs.core.BalanceStore.Reservation;
import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

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
 * <li>Written back: every {@link #WRITE_BACK_NANOS} the writer thread adds the synced deltas to
 * the database ({@code amount = amount + delta}) together with the last batch they cover
 * (journal_applied), so a restart replays only later batches. Every few seconds the journal goes
 * on in its other file, and the writer checkpoints the database through the last batch of the
 * file left, which is written over only after that (AmountJournal). The journal thread never
 * waits for the database: it syncs batch after batch while the writer works.</li>
 * <li>Administration: ocs-admin changes the database, and moves provisioning.generation; the
 * store then reloads every bucket, each one's amount being the database's plus what this node
 * changed and has not written back ({@code unwritten}). Holds stay where they are.</li>
 * <li>Holds (reservations) live only here: they end with the node, as the sessions do.</li>
 * <li>One node per embedded file (the journal's lock), so nothing else charges these balances.</li>
 * </ul>
 * The balances and their rules are the {@link Ledger}; this class makes its changes durable and
 * keeps the database in step.
 */
final class MemoryBalances implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(MemoryBalances.class);
    /**
     * How often synced amounts are written back to the database: what ocs-admin shows lags by
     * about this. A tenth of a second, not a second: what waits for the write-back (each synced
     * batch's records, the usage notes) lived through two or three of G1's young collections
     * under load, which copied it each time; at 0.1 s they copy about a third less, and pause
     * 7-30 % shorter in jDiameter mode and half as long in mock mode, for about the same CPU per
     * CCR (bench/RESULTS.md, 2026-12-04).
     */
    static final long WRITE_BACK_NANOS = 100_000_000L;
    /** How soon a write-back that failed is tried again (H2 closed by a full disk stays closed a while). */
    static final long WRITE_BACK_RETRY_NANOS = 1_000_000_000L;
    private static final long IDLE_WAIT_NANOS = 250_000_000L;

    private final DataSource dataSource;
    private final AmountJournal journal;
    private final Ledger ledger = new Ledger();

    // the journal's queue: guarded by lock
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition done = lock.newCondition();
    private long[] pending = new long[1024];
    /** The usage notes of the pending pairs, in their order (the writer thread writes them back). */
    private List<UsageRecords.Kept> pendingNotes = new ArrayList<>();
    private long[] spare = new long[1024];
    private int pendingLength;
    private long pendingBatch;
    /** Written under lock; read without it by a transport checking its answers (SyncPoints#synced). */
    private volatile long syncedBatch;
    /** The batch of the last change appended (SyncPoints#current): written under lock, read without it. */
    private volatile long appendedBatch;
    private long reloadsAsked;
    private long reloadsDone;
    private boolean closing;
    /** Why the journal cannot be written, once it cannot: every change is refused from then on. */
    private volatile String failure;



    // synced batches, handed by the journal thread to the writer: guarded by lock
    private final Condition writerWork = lock.newCondition();
    private List<long[]> handed = new ArrayList<>();
    private List<UsageRecords.Kept> handedNotes = new ArrayList<>();
    /** The last batch of a journal file left (AmountJournal#turnIfDue): checkpoint through it; 0: none. */
    private long checkpointAsked;
    private boolean journalEnded;

    // the writer thread's own
    private Map<Long, Long> syncedDeltas = new HashMap<>();
    /** (hex key, result) of the synced change keys, written back with the deltas. */
    private Map<String, Long> syncedKeys = new HashMap<>();
    /** The usage notes synced, in their order, written back with the deltas. */
    private List<UsageRecords.Kept> syncedUsage = new ArrayList<>();
    /**
     * The records of this run with a part in the database and no end yet: (head note, when its
     * last part was kept). Ended at a clean stop, so that the next start need not look for them
     * among every part this run kept (6 s after 200,000 sessions).
     */
    private final Map<String, OpenRecord> openRecords = new HashMap<>();

    private record OpenRecord(UsageNote head, long lastKept) {
    }
    private long lastKeyPurge = System.nanoTime();
    /** Since when write-backs fail (0: they do not); past WRITE_BACK_GIVE_UP_NANOS the store fails. */
    private long writeBackFailingSince;
    static final long WRITE_BACK_GIVE_UP_NANOS = 30_000_000_000L;
    /** The last batch whose changes are in the synced maps (or written back). */
    private long lastSynced;
    private long lastWriteBack = System.nanoTime();
    private final Thread journalThread;
    /**
     * Writes the synced changes back to the database, checkpoints it and reads it again after
     * administration, beside the journal thread: that work (50-150 ms of each second under load)
     * once ran between two syncs, and every request waited for it.
     */
    private final Thread writerThread;
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
        this.appendedBatch = syncedBatch;
        this.lastSynced = syncedBatch;
        this.pendingBatch = syncedBatch + 1;
        journalThread = new Thread(this::run, "ocs-store-journal");
        journalThread.setDaemon(true);
        writerThread = new Thread(this::runWriter, "ocs-store-writer");
        writerThread.setDaemon(true);
        journalThread.start();
        writerThread.start();
    }

    // ------------------------------------------------------------------ charging

    Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key, Instant expires,
                        String changeKey) {
        ready();
        return reservation(durable(ledger.reserve(subscriber, unit, ratingGroup, amount, key, expires, changeKey,
                this::append)));
    }

    long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey,
                UsageNote note) {
        ready();
        return durable(ledger.settle(subscriber, unit, ratingGroup, key, used, changeKey, note, this::append))[0];
    }

    Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                 long amount, Instant expires, String changeKey, UsageNote note) {
        ready();
        return reservation(durable(ledger.settleAndReserve(subscriber, unit, ratingGroup, key, used, amount, expires,
                changeKey, note, this::append)));
    }

    BalanceStore.RatedReservation reserveRated(String subscriber, UnitType unit, Long ratingGroup, long amount,
                                               String key, Instant expires, String changeKey,
                                               java.util.function.LongUnaryOperator costOf, long settle,
                                               UsageNote note) {
        ready();
        long[] r = durable(ledger.reserveRated(subscriber, unit, ratingGroup, amount, key, expires, changeKey, costOf,
                settle, note, this::append));
        // a change sent again answers its first result: an unpriced reservation's when a tariff
        // import came in between (its units held, no money), whose first two are the same
        return r.length < 4 ? new BalanceStore.RatedReservation(r[0], r[1], 0, 0)
                : new BalanceStore.RatedReservation(r[0], r[1], r[2], r[3]);
    }

    /**
     * A record's end: in the journal's next batch, and with {@code wait} durable on return; in the
     * database at the next write-back.
     */
    void recordUsage(UsageNote note, boolean wait) {
        ready();
        Ledger.Outcome o = ledger.note(note, this::append);
        if (wait) {
            durable(o);
        }
    }

    void release(String key) {
        ready();
        ledger.release(key);
    }

    long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey, UsageNote note) {
        ready();
        return durable(ledger.debit(subscriber, unit, ratingGroup, amount, changeKey, note, this::append))[0];
    }

    /** The result of a change of this subscriber under this change key that this node made recently, or null. */
    Long recordedChange(String subscriber, String changeKey) {
        return ledger.recordedChange(subscriber, changeKey);
    }

    long available(String subscriber, UnitType unit, Long ratingGroup) {
        ready();
        return ledger.available(subscriber, unit, ratingGroup);
    }

    int releaseExpired(Instant now) {
        ready();
        return ledger.releaseExpired(now);
    }

    /** A change's result once the journal batch holding its amounts is synced. */
    private long[] durable(Ledger.Outcome o) {
        awaitDurable(o.batch());
        return o.result();
    }

    // ------------------------------------------------------------------ administration

    /**
     * A bucket as this node has it now, with its holds: administration in the node's process sees
     * it at once, where the database has it as of the last write-back.
     */
    Bucket current(Bucket inDatabase) {
        ready();
        return ledger.current(inDatabase);
    }

    /** Reloads the buckets and returns once done (the database's subscribers or balances changed). */
    void reloadNow() {
        lock.lock();
        try {
            long mine = ++reloadsAsked;
            writerWork.signal();
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

    // ------------------------------------------------------------------ sync points

    /** Set while a transport decides on its own thread (SyncPoints#withoutWaiting). */
    private static final ThreadLocal<boolean[]> NOT_WAITING = ThreadLocal.withInitial(() -> new boolean[1]);
    private final java.util.List<Runnable> syncListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** What lets a transport send its answers after the journal's sync instead of waiting for it (SyncPoints). */
    org.gyocs.core.SyncPoints syncPoints() {
        return new org.gyocs.core.SyncPoints() {
            @Override
            public boolean ready() {
                return loaded.getCount() == 0 && failure == null;
            }

            @Override
            public <T> T withoutWaiting(java.util.function.Supplier<T> decision) {
                boolean[] flag = NOT_WAITING.get();
                boolean before = flag[0];
                flag[0] = true;
                try {
                    return decision.get();
                } finally {
                    flag[0] = before;
                }
            }

            @Override
            public long current() {
                return appendedBatch; // read without the journal's lock, once per answer
            }

            @Override
            public long synced() {
                return syncedBatch;
            }

            @Override
            public String failure() {
                return failure;
            }

            @Override
            public long deadlineNanos() {
                return deadlineNanos;
            }

            @Override
            public void await(long point) {
                boolean[] flag = NOT_WAITING.get();
                boolean before = flag[0];
                flag[0] = false;
                try {
                    awaitDurable(point);
                } finally {
                    flag[0] = before;
                }
            }

            @Override
            public AutoCloseable onSync(Runnable listener) {
                syncListeners.add(listener);
                return () -> syncListeners.remove(listener);
            }
        };
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

    /** Queues a change's amount changes; @return the batch to wait for. Under the subscriber's lock (Ledger). */
    private long append(long[] pairs, int length, List<UsageRecords.Kept> notes) {
        lock.lock();
        try {
            if (failure != null || closing) {
                throw new StoreException(failure != null ? failure : "The balance store is closed");
            }
            if (pendingLength + length > pending.length) {
                pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + length));
            }
            System.arraycopy(pairs, 0, pending, pendingLength, length);
            pendingLength += length;
            if (notes != null) {
                pendingNotes.addAll(notes);
            }
            work.signal();
            appendedBatch = pendingBatch;
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
        if (batch == 0 || NOT_WAITING.get()[0]) {
            return; // a transport sends the answer once SyncPoints#synced covers it
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

    /** The journal thread; at its end, the writer writes back what was synced, checkpoints and ends. */
    private void run() {
        try {
            untilItEnds("journal", this::journalLoop);
        } finally {
            lock.lock();
            try {
                journalEnded = true;
                writerWork.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    /** The writer thread. */
    private void runWriter() {
        untilItEnds("writer", this::writerLoop);
    }

    private interface Loop {
        void run() throws Exception;
    }

    /**
     * Runs one of the store's threads. Whatever ends it unexpectedly (an Error as well as an
     * exception) fails the store first, so that no caller waits forever for a sync or a reading
     * that will not come, and the application is told (it stops the node).
     */
    private void untilItEnds(String thread, Loop loop) {
        try {
            loop.run();
        } catch (Throwable t) {
            log.error("The balance store's {} thread ended unexpectedly; balance changes are refused until the node "
                    + "restarts", thread, t);
            signal(() -> failure = failure != null ? failure : "The balance store's " + thread + " thread ended: " + t);
            loaded.countDown();
            failed(failure);
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
     * True once the writer thread has ended after a last write-back and checkpoint that
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
            List<UsageRecords.Kept> notes;
            int length;
            long batch;
            lock.lock();
            try {
                long wait = IDLE_WAIT_NANOS;
                while (pendingLength == 0 && !closing && wait > 0) {
                    try {
                        wait = work.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        wait = 0; // nobody interrupts this thread; closing is how it stops
                    }
                }
                records = pending;
                length = pendingLength;
                batch = pendingBatch;
                notes = pendingNotes;
                if (length > 0) {
                    pending = spare;
                    spare = records;
                    pendingLength = 0;
                    pendingBatch++;
                    pendingNotes = new ArrayList<>();
                }
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
                long[] synced = Arrays.copyOf(records, length); // records is the next batch's array
                signal(() -> {
                    handed.add(synced);
                    handedNotes.addAll(notes);
                    syncedBatch = batch; // the last batch handed, too
                });
            }
            long left = journal.turnIfDue();
            if (left != 0) {
                lock.lock();
                try {
                    checkpointAsked = Math.max(checkpointAsked, left);
                    writerWork.signal();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * Every {@link #WRITE_BACK_NANOS}, or when the journal left a file, or administration asks for
     * a reading: the synced changes go to the database; the database is checkpointed when the
     * journal left a file (which may be written over once it holds nothing the database lacks);
     * at the end, after the journal thread's, a last write-back and checkpoint.
     */
    private void writerLoop() throws InterruptedException {
        loaded.await();
        try {
            journal.prepareSecond();
        } catch (IOException e) {
            log.warn("Cannot prepare the journal's second file: {}", e.toString());
        }
        long checkpointOwed = 0;
        boolean end = false;
        while (!end) {
            List<long[]> records;
            List<UsageRecords.Kept> notes;
            long through;
            long reload;
            lock.lock();
            try {
                // after a failure, the next try waits a whole second, whatever is asked
                boolean failing = writeBackFailingSince != 0;
                long wait = (failing ? WRITE_BACK_RETRY_NANOS : WRITE_BACK_NANOS) - (System.nanoTime() - lastWriteBack);
                while (!journalEnded && (failing || (checkpointAsked == 0 && reloadsAsked == reloadsDone)) && wait > 0) {
                    try {
                        wait = writerWork.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        wait = 0; // nobody interrupts this thread; the journal's end is how it stops
                    }
                }
                records = handed;
                notes = handedNotes;
                through = syncedBatch;
                handed = new ArrayList<>();
                handedNotes = new ArrayList<>();
                checkpointOwed = Math.max(checkpointOwed, checkpointAsked);
                checkpointAsked = 0;
                reload = reloadsAsked;
                end = journalEnded;
            } finally {
                lock.unlock();
            }
            for (long[] r : records) {
                fold(r);
            }
            syncedUsage.addAll(notes);
            lastSynced = Math.max(lastSynced, through);
            try {
                boolean reloading = reload != reloadsDone;
                writeBack();
                if (end) {
                    endRecordsLeftOpen();
                }
                if ((end || checkpointOwed != 0) && lastSynced > journal.checkpointedBatch()) {
                    checkpoint();
                }
                checkpointOwed = 0;
                if (reloading) {
                    reload();
                    signal(() -> reloadsDone = reload);
                }
                writeBackFailingSince = 0; // all of it went through
            } catch (RuntimeException e) {
                // the journal still holds everything the database lacks, and goes on without
                // waiting: try again later (the checkpoint owed too)
                if (writeBackFailingSince == 0) {
                    writeBackFailingSince = System.nanoTime();
                }
                lastWriteBack = System.nanoTime();
                log.warn("Cannot write the balances back to the database (trying again): {}", e.toString());
                if (end) {
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
            }
        }
        stoppedCleanly = !journal.holdsFrames(); // the last write-back and checkpoint went through
    }

    /** A synced batch's records into the maps the next write-back writes. */
    private void fold(long[] records) {
        for (int i = 0; i < records.length; i += 2) {
            if (records[i] == Ledger.KEY_HIGH) { // followed by KEY_LOW and KEY_RESULT
                syncedKeys.put(ChangeKeys.hex(records[i + 1], records[i + 3]), records[i + 5]);
                i += 4;
            } else if (records[i] == Ledger.USAGE_LENGTH) {
                // a usage note's bytes, for a replay: the batch's notes come as objects
                i += 2 * (int) ((records[i + 1] + 7) / 8);
            } else {
                syncedDeltas.merge(records[i], records[i + 1], Long::sum);
            }
        }
    }

    private void signal(Runnable change) {
        lock.lock();
        try {
            change.run();
            done.signalAll();
        } finally {
            lock.unlock();
        }
        for (Runnable listener : syncListeners) {
            try {
                listener.run(); // a sync, a failure: the transports' waiting answers go out, or are refused
            } catch (RuntimeException e) {
                log.warn("A listener of the journal's syncs failed: {}", e.toString()); // never this thread
            }
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

    /** Adds the synced deltas to the database, with the last batch they cover. On the writer thread. */
    private void writeBack() {
        lastWriteBack = System.nanoTime();
        if (lastWriteBack - lastKeyPurge > ChangeKeys.PURGE_INTERVAL_NANOS) {
            lastKeyPurge = lastWriteBack;
            JdbcBalanceStore.inTransaction(dataSource, tx -> ChangeKeys.purge(tx, Instant.now()));
        }
        if (syncedDeltas.isEmpty() && syncedKeys.isEmpty() && syncedUsage.isEmpty()) {
            return;
        }
        Map<Long, Long> deltas = syncedDeltas;
        Map<String, Long> keys = syncedKeys;
        List<UsageRecords.Kept> usage = syncedUsage;
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
            UsageRecords.applyAll(tx, usage);
            PreparedStatement s = tx.prepare("UPDATE journal_applied SET batch = ? WHERE id = 1");
            s.setLong(1, upTo);
            s.executeUpdate();
            return null;
        });
        syncedDeltas = new HashMap<>();
        syncedKeys = new HashMap<>();
        syncedUsage = new ArrayList<>();
        ledger.written(deltas);
        for (UsageRecords.Kept k : usage) { // as UsageRecords.applyAll wrote them
            UsageNote n = k.note();
            if (n.ended() != null) {
                openRecords.remove(n.recordId());
            } else if (n.unit() != null && (k.units() != 0 || k.cost() != 0)) {
                OpenRecord before = openRecords.get(n.recordId());
                openRecords.put(n.recordId(), new OpenRecord(before == null ? n : before.head(),
                        before == null ? k.at() : Math.max(before.lastKept(), k.at())));
            }
        }
    }

    /**
     * At a clean stop, after the last write-back: the records of sessions still open end here as
     * the next start would end them (NODE_STOPPED, when their last part was kept), and node_run
     * marks every part kept so far as looked at. Without this, a start after a clean stop looked
     * for open records among every usage part of the run before (UsageRecords.endOpen).
     */
    private void endRecordsLeftOpen() {
        List<UsageRecords.Kept> ends = new ArrayList<>(openRecords.size());
        for (OpenRecord r : openRecords.values()) {
            UsageNote end = r.head().end(Instant.ofEpochMilli(r.lastKept()), null, UsageRecords.NODE_STOPPED);
            ends.add(new UsageRecords.Kept(end, 0, 0, r.lastKept()));
        }
        JdbcBalanceStore.inTransaction(dataSource, tx -> {
            UsageRecords.applyAll(tx, ends);
            UsageRecords.markLooked(tx);
            return null;
        });
        if (!ends.isEmpty()) {
            log.info("Ended {} usage records of sessions open at the stop ({})", ends.size(), UsageRecords.NODE_STOPPED);
        }
        openRecords.clear();
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

    /**
     * Makes the database durable by itself through the last batch written back: the journal may
     * then write over a file that holds nothing later. After a write-back that went through.
     */
    private void checkpoint() {
        long through = lastSynced;
        JdbcBalanceStore.inTransaction(dataSource, tx -> AmountJournal.checkpoint(tx));
        journal.checkpointedThrough(through);
    }

    /**
     * Reads every bucket of the database: a bucket this node charges keeps its holds and gets the
     * database's amount plus what it has not written back; new buckets join, deleted ones leave.
     */
    private void reload() {
        List<Ledger.Row> rows = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            List<Ledger.Row> out = new ArrayList<>();
            boolean held = false;
            try (ResultSet rs = tx.prepare("SELECT id, subscriber_id, unit, rating_group, amount, expires_at, reserved "
                    + "FROM bucket").executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(4);
                    Long ratingGroup = rs.wasNull() ? null : rg;
                    Timestamp t = rs.getTimestamp(6);
                    out.add(new Ledger.Row(rs.getLong(1), rs.getString(2), Bucket.unitOf(rs.getString(3)), ratingGroup,
                            rs.getLong(5), t == null ? null : t.toInstant()));
                    held |= rs.getLong(7) != 0;
                }
            }
            if (held) {
                // holds an SQL store left in the file (this node keeps its own in memory): released
                // before the first write-back, which could otherwise go below them
                log.info("Released the holds of {} buckets left in the database", SqlRules.releaseHolds(tx));
            }
            return out;
        });
        ledger.load(rows);
        log.debug("Balances in memory: {}", ledger.size());
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
            writerThread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
