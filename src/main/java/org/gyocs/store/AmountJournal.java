package org.gyocs.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The embedded store's write-ahead journal of balance amounts: what makes an acknowledged debit
 * durable there, instead of H2's own commit.
 *
 * <p>Why: H2 rewrites every B-tree page a commit touches, a few 4-16 KB pages per change to
 * random subscribers; flushing that to disk at every group commit held the node to about 0.4x
 * the reference with 100,000 subscribers. Here the node's balances live in memory
 * (MemoryBalances), each batch of changes appends 24 bytes per amount change (batch number,
 * bucket id, delta) to {@code <database>.journal} and syncs it, and the amounts are written
 * back to H2 in the background, which is checkpointed (written and synced) every 5 s.
 *
 * <p>Two files, {@code <database>.journal} and {@code <database>.journal2}, take turns: every
 * 5 s (or 12 MB) the journal goes on in the other file, from its start, while the database is
 * checkpointed through the last batch of the file it left; that file is written over at the
 * next turn only once the checkpoint covered it. Why: with one file, the journal could start
 * over only once the database held every frame, so the write-back and checkpoint ran on the
 * journal's thread between two syncs, and every request waited for them: 50-150 ms of each
 * second under load, most of the answers over 5 ms (bench/RESULTS.md, issue 17).
 *
 * <p>Recovery: every write-back also records the last batch it covers in journal_applied, so
 * the database knows the last batch it holds. At start, the batches of the journal past that
 * number are applied again (their deltas), then the database is checkpointed and the journal
 * written over from its start. Reservations are not journalled: they end with the node's
 * sessions. Anything that changes the database outside the journal (ocs-admin; refunds, which
 * may create a bucket) is checkpointed by the store before it returns.
 *
 * <p>Only the node's store writes the journal, and it holds a lock on the file: a second node
 * on the same embedded file is refused (nodes that share balances share PostgreSQL).
 */
final class AmountJournal implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(AmountJournal.class);
    private static final int MAGIC = 0x47594A31; // "GYJ1"
    private static final int FRAME_HEADER = 12;   // magic, record count, CRC32C of the records
    private static final int RECORD = 24;         // batch, bucket id, delta
    /** How often the database is checkpointed, and the journal written over from its start. */
    static final long CHECKPOINT_NANOS = 5_000_000_000L;
    /** ... or sooner, when the journal has grown this much. */
    static final long CHECKPOINT_BYTES = 12L << 20;
    /**
     * The journal's file is written full of zeros once and then overwritten in place from its
     * start: a sync then writes data only, where appending to a file also commits the file
     * system's journal for its new length at every sync (measured: half the bytes written to
     * the disk, a tenth less system time). Frames left from before a checkpoint are of batches
     * the database holds.
     */
    static final long PREALLOCATED_BYTES = 16L << 20;

    /** The two files: the first is locked (one node per embedded file), the second is not. */
    private final FileChannel[] files;
    private final FileLock lock;
    private final Path path;
    private long lastBatch;
    // the journal thread's own, but for holdsFrames() once that thread has ended
    /** The file in turn (volatile for the tests that watch it). */
    private volatile int active;
    /** The bytes of frames written to each file since the journal last turned to it (0: none). */
    private final long[] sizes = new long[2];
    /** The last batch written to each file. */
    private final long[] lastIn = new long[2];
    private long lastTurn = System.nanoTime();
    /** A turn asked for (the tests): made at the next chance, then forgotten. */
    private volatile boolean turnAsked;
    /** The second file is written full of zeros (prepareSecond): the journal may turn to it. */
    private volatile boolean secondReady;
    /** The frame being written, grown as needed: one buffer, not one per sync. */
    private ByteBuffer frame = ByteBuffer.allocate(4096);
    /** The last batch the database holds durably (set by whoever checkpointed it). */
    private volatile long checkpointed;

    private AmountJournal(FileChannel[] files, FileLock lock, Path path) {
        this.files = files;
        this.lock = lock;
        this.path = path;
        // what is there is held by the database already: written over from the start
    }

    /** The second file of the journal whose first is {@code path}. */
    static Path second(Path path) {
        return Path.of(path + "2");
    }

    /**
     * Opens the journal of the H2 database behind this data source, applies what the database
     * does not hold yet and checkpoints it; the journal is then written over from its start.
     */
    static AmountJournal openAndRecover(DataSource ds) {
        Path path = Path.of(JdbcBalanceStore.inTransaction(ds, tx -> {
            try (ResultSet rs = tx.prepare("SELECT DATABASE_PATH()").executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }) + ".journal");
        AmountJournal j = lock(path);
        try {
            j.recover(ds);
            return j;
        } catch (RuntimeException e) {
            j.close();
            throw e;
        }
    }

    /**
     * Opens and locks the journal, before the database is opened: one node per embedded file, and
     * the database's crash recovery (UncleanStopRecovery) runs while nobody else can open it.
     */
    static AmountJournal lock(Path path) {
        FileChannel file = null;
        try {
            file = open(path);
            FileLock lock;
            try {
                lock = file.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new StoreException("Another node is using the embedded store " + path
                        + " (its journal is locked); nodes that share balances share PostgreSQL");
            }
            FileChannel second;
            try {
                second = open(second(path));
            } catch (IOException e) {
                lock.release();
                throw e;
            }
            return new AmountJournal(new FileChannel[] {file, second}, lock, path);
        } catch (IOException e) {
            close(file);
            throw new StoreException("Cannot open the balance journal " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(file);
            throw e;
        }
    }

    private static FileChannel open(Path path) throws IOException {
        return FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(PrivateDirectory.FILE));
    }

    /** Applies what the database does not hold yet and checkpoints it; the journal is then written over. */
    void recover(DataSource ds) {
        try {
            List<long[]> records = inOrder(read(files[0]), read(files[1]));
            lastBatch = replay(ds, records, path);
            if (!records.isEmpty()) {
                JdbcBalanceStore.inTransaction(ds, AmountJournal::checkpoint);
            }
            checkpointed = lastBatch;
            preallocate(files[0]); // the second: prepareSecond(), off the start's path
            lastTurn = System.nanoTime(); // a slow start does not make the first batch turn
        } catch (IOException e) {
            throw new StoreException("Cannot read the balance journal " + path + ": " + e.getMessage(), e);
        }
    }

    private static void preallocate(FileChannel file) throws IOException {
        long at = file.size();
        if (at >= PREALLOCATED_BYTES) {
            return;
        }
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        while (at < PREALLOCATED_BYTES) {
            zeros.clear();
            zeros.limit((int) Math.min(zeros.capacity(), PREALLOCATED_BYTES - at));
            while (zeros.hasRemaining()) {
                at += file.write(zeros, at);
            }
        }
        file.force(true);
    }

    /**
     * The whole frames of the journal, in order; a torn or damaged frame, zeros, or a frame that
     * is not the next batch end it (a torn frame was never acknowledged; frames after the end are
     * of batches before a checkpoint). Frames of batches the database holds are skipped by replay.
     */
    static List<long[]> read(FileChannel file) throws IOException {
        List<long[]> records = new ArrayList<>();
        long position = 0;
        long end = file.size();
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER);
        long previous = Long.MIN_VALUE; // each frame is one batch, numbered one after the other
        while (position + FRAME_HEADER <= end) {
            header.clear();
            readFully(file, header, position);
            header.flip();
            int magic = header.getInt();
            int count = header.getInt();
            int crc = header.getInt();
            if (magic != MAGIC || count <= 0 || position + FRAME_HEADER + (long) count * RECORD > end) {
                break;
            }
            ByteBuffer body = ByteBuffer.allocate(count * RECORD);
            readFully(file, body, position + FRAME_HEADER);
            CRC32C sum = new CRC32C();
            sum.update(body.array());
            if ((int) sum.getValue() != crc) {
                break;
            }
            body.flip();
            long batch = body.getLong(0);
            if (previous != Long.MIN_VALUE && batch != previous + 1) {
                // a frame left from before the last checkpoint, whose boundary happened to line up
                break;
            }
            previous = batch;
            for (int i = 0; i < count; i++) {
                records.add(new long[] {body.getLong(), body.getLong(), body.getLong()});
            }
            position += FRAME_HEADER + (long) count * RECORD;
        }
        return records;
    }

    /**
     * The records of both files in the order of their batches: each file holds batches one after
     * the other from its start, and the files take turns, so the file whose first batch is lower
     * comes first. Frames of batches the database holds are skipped by replay, wherever they are.
     */
    static List<long[]> inOrder(List<long[]> first, List<long[]> second) {
        if (first.isEmpty() || second.isEmpty()) {
            return first.isEmpty() ? second : first;
        }
        List<long[]> all = new ArrayList<>(first.size() + second.size());
        boolean secondFirst = second.get(0)[0] < first.get(0)[0];
        all.addAll(secondFirst ? second : first);
        all.addAll(secondFirst ? first : second);
        return all;
    }

    /** The records of the journal at {@code path} (both of its files), in order; for tests and tools. */
    static List<long[]> readAll(Path path) throws IOException {
        try (FileChannel a = FileChannel.open(path, StandardOpenOption.READ)) {
            List<long[]> first = read(a);
            Path other = second(path);
            if (!java.nio.file.Files.exists(other)) {
                return first;
            }
            try (FileChannel b = FileChannel.open(other, StandardOpenOption.READ)) {
                return inOrder(first, read(b));
            }
        }
    }

    private static void readFully(FileChannel file, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            if (file.read(b, position + b.position()) < 0) {
                throw new IOException("journal ends inside a frame");
            }
        }
    }

    /** Applies the records of batches past the database's last; @return the last batch now held. */
    private static long replay(DataSource ds, List<long[]> records, Path path) {
        return JdbcBalanceStore.inTransaction(ds, tx -> {
            long applied;
            try (ResultSet rs = tx.prepare("SELECT batch FROM journal_applied WHERE id = 1").executeQuery()) {
                rs.next();
                applied = rs.getLong(1);
            }
            // only the node reserves, one node per file (the journal's lock), and it is starting:
            // holds still in the database are of a node that died (db/h2/V3)
            tx.prepare("DELETE FROM reservation").executeUpdate();
            long first = Long.MAX_VALUE;
            for (long[] r : records) {
                if (r[0] > applied) {
                    first = Math.min(first, r[0]);
                }
            }
            if (first != Long.MAX_VALUE) {
                // before amounts fall (reserved <= amount); without a replay, the balances' first
                // reading does it (MemoryBalances#reload): this scan of every bucket was a third
                // of a start-up with 100,000 subscribers
                SqlRules.releaseHolds(tx);
            }
            if (first != Long.MAX_VALUE && first > applied + 1) {
                // acknowledged batches in neither the database nor the journal: say so, loudly
                log.error("Balance journal {}: the database holds batches up to {} but the journal begins at batch {}: "
                        + "the amount changes of batches {}..{} are lost. Check the balances of the subscribers "
                        + "charged just before the last stop", path, applied, first, applied + 1, first - 1);
            }
            long last = applied;
            long previous = Long.MIN_VALUE;
            for (long[] r : records) {
                if (r[0] > applied && r[0] != previous) {
                    if (previous != Long.MIN_VALUE && r[0] > previous + 1) {
                        // each file's batches follow one another; between the two files, too
                        log.error("Balance journal {}: batches {}..{} are in neither of its files: their amount "
                                + "changes are lost. Check the balances of the subscribers charged just before the "
                                + "last stop", path, previous + 1, r[0] - 1);
                    }
                    previous = r[0];
                }
            }
            int replayed = 0;
            PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount + ? WHERE id = ?");
            java.util.Map<String, Long> keys = new java.util.HashMap<>();
            List<UsageRecords.Kept> usage = new ArrayList<>();
            for (int i = 0; i < records.size(); i++) {
                long[] r = records.get(i);
                if (r[0] <= applied) {
                    continue;
                }
                last = Math.max(last, r[0]);
                if (r[1] == Ledger.KEY_HIGH && i + 2 < records.size()) {
                    // a debit's change key: kept with the debit (BalanceStore#recordedChange)
                    keys.put(ChangeKeys.hex(r[2], records.get(i + 1)[2]), records.get(i + 2)[2]);
                    i += 2;
                    continue;
                }
                if (r[1] == Ledger.USAGE_LENGTH) {
                    // a usage note: kept with the change it describes (UsageRecords)
                    i = readUsage(records, i, usage) - 1;
                    continue;
                }
                u.setLong(1, r[2]);
                u.setLong(2, r[1]);
                u.addBatch();
                replayed++;
            }
            MemoryBalances.writeKeys(tx, keys, java.time.Instant.now());
            UsageRecords.applyAll(tx, usage);
            if (replayed > 0 || !keys.isEmpty() || !usage.isEmpty()) {
                u.executeBatch();
                PreparedStatement s = tx.prepare("UPDATE journal_applied SET batch = ? WHERE id = 1");
                s.setLong(1, last);
                s.executeUpdate();
                log.info("Balance journal: applied {} amount changes of batches {}..{} that the database did not hold",
                        replayed, Math.min(first, last), last);
            }
            return last;
        });
    }

    /**
     * The usage note whose USAGE_LENGTH record is {@code records[i]}, its bytes in the
     * USAGE_BYTES records after it (Ledger.Changes#usage), added to {@code usage}.
     * @return the index of the record after the note
     */
    private static int readUsage(List<long[]> records, int i, List<UsageRecords.Kept> usage) {
        int length = (int) records.get(i)[2];
        ByteBuffer b = ByteBuffer.allocate((length + 7) / 8 * 8);
        int k = i + 1;
        while (b.hasRemaining()) {
            if (k >= records.size() || records.get(k)[1] != Ledger.USAGE_BYTES) {
                throw new IllegalArgumentException("a usage note ends early in the journal");
            }
            b.putLong(records.get(k++)[2]);
        }
        usage.add(UsageRecords.decode(java.util.Arrays.copyOf(b.array(), length)));
        return k;
    }

    /**
     * Makes H2 write everything committed so far and sync its file: the journal's checkpoint, and
     * what the store does after a change the journal does not keep (administration).
     */
    static boolean checkpoint(SqlTransaction tx) throws SQLException {
        return tx.prepare("CHECKPOINT SYNC").execute();
    }

    /** The number of the last batch the database or this journal holds; the next is one more. */
    long lastBatch() {
        return lastBatch;
    }

    /**
     * Appends one batch's amount changes, {@code length} longs of (bucket id, delta) pairs, as
     * one frame to the file in turn, and returns once they are on disk. On the journal's thread.
     */
    void write(long batch, long[] changes, int length) throws IOException {
        int count = length / 2;
        int bytes = FRAME_HEADER + count * RECORD;
        if (frame.capacity() < bytes) {
            frame = ByteBuffer.allocate(Math.max(bytes, frame.capacity() * 2));
        }
        frame.clear();
        frame.position(FRAME_HEADER);
        for (int i = 0; i < length; i += 2) {
            frame.putLong(batch).putLong(changes[i]).putLong(changes[i + 1]);
        }
        CRC32C sum = new CRC32C();
        sum.update(frame.array(), FRAME_HEADER, count * RECORD);
        frame.putInt(0, MAGIC).putInt(4, count).putInt(8, (int) sum.getValue());
        frame.flip();
        FileChannel file = files[active];
        long at = sizes[active];
        while (frame.hasRemaining()) {
            at += file.write(frame, at);
        }
        file.force(false); // the data (and the file's length, in the rare case it grew)
        sizes[active] = at;
        lastIn[active] = batch;
    }

    /**
     * The journal goes on in the other file when the one in turn is due to start over (5 s or
     * 12 MB) and the other holds nothing the database lacks. On the journal's thread.
     * @return the last batch of the file left, which the database must now be checkpointed
     *         through before that file is written over; 0 when the journal did not turn
     */
    long turnIfDue() {
        if (!turnAsked && System.nanoTime() - lastTurn <= CHECKPOINT_NANOS && sizes[active] <= CHECKPOINT_BYTES) {
            return 0;
        }
        long left = turn();
        if (left != 0) {
            turnAsked = false;
        }
        return left;
    }

    /** Asks for a turn at the journal thread's next chance, as if one were due (the tests). */
    void turnSoon() {
        turnAsked = true;
    }

    /** The file in turn: 0 or 1. */
    int activeFile() {
        return active;
    }

    /**
     * Writes the second file full of zeros up to its preallocated size, once; the journal turns to
     * it only after that. Why not at start with the first: 16 MB written and synced there made a
     * node's first start 0.3-0.4 s slower (bench/run.sh --only startup).
     */
    void prepareSecond() throws IOException {
        try {
            preallocate(files[1]);
        } finally {
            secondReady = true; // a disk that failed here fails the frames written there too: the node stops
        }
    }

    /** {@link #turnIfDue} when due: @return the last batch of the file left, or 0. */
    long turn() {
        int other = 1 - active;
        if (!secondReady || sizes[active] == 0 || lastIn[active] <= checkpointed || (sizes[other] > 0 && lastIn[other] > checkpointed)) {
            return 0;
        }
        long left = lastIn[active];
        active = other;
        sizes[active] = 0;
        lastTurn = System.nanoTime();
        return left;
    }

    /** The database holds every batch up to this one durably (after a checkpoint through it). */
    void checkpointedThrough(long batch) {
        checkpointed = Math.max(checkpointed, batch);
    }

    /** The last batch the database holds durably, as far as this journal was told. */
    long checkpointedBatch() {
        return checkpointed;
    }

    /** True when a file holds a frame of a batch the database may lack (once the journal's thread ended). */
    boolean holdsFrames() {
        long c = checkpointed;
        return (sizes[0] > 0 && lastIn[0] > c) || (sizes[1] > 0 && lastIn[1] > c);
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // closing the channel releases it anyway
        }
        for (FileChannel f : files) {
            close(f);
        }
        log.debug("Balance journal {} closed", path);
    }

    private static void close(FileChannel f) {
        if (f != null) {
            try {
                f.close();
            } catch (IOException e) {
                // nothing more to write through it
            }
        }
    }
}
