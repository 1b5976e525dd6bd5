package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded store's journal: debits acknowledged before a crash are in the balance after it,
 * even those the database had not written yet; a torn last frame is not applied; one node per file.
 */
class AmountJournalTest {
    private static final String SUB = "4917090";
    @TempDir
    Path dir;

    private String url() {
        return Stores.embeddedFile(dir);
    }

    /** Debits of 1, 2, 3 ... n, each acknowledged, then H2 dies without writing what it holds. */
    private void debitThenCrash(int n) throws Exception {
        JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4);
        try {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1_000_000, 0, null, null)), false);
            for (int i = 1; i <= n; i++) {
                assertEquals(i, node.debit(SUB, UnitType.UNITS, null, i));
            }
            // as a kill -9 would: the database closes without storing what it has not written
            try (Connection c = DriverManager.getConnection(url()); Statement s = c.createStatement()) {
                s.execute("SHUTDOWN IMMEDIATELY");
            } catch (java.sql.SQLException expected) {
                // the connection goes with the database
            }
        } finally {
            node.close();
        }
    }

    private long balanceAfterRestart() {
        try (JdbcBalanceStore restarted = JdbcBalanceStore.open(url(), null, null, 4)) {
            return restarted.buckets(SUB).get(0).amount();
        }
    }

    @Test
    void acknowledgedDebitsSurviveACrashBeforeTheDatabaseWroteThem() throws Exception {
        debitThenCrash(40);
        assertEquals(1_000_000 - 40 * 41 / 2, balanceAfterRestart(), "start minus every acknowledged debit");
        // replayed once: a second start applies nothing again
        assertEquals(1_000_000 - 40 * 41 / 2, balanceAfterRestart());
    }

    @Test
    void aTornLastFrameIsNotApplied() throws Exception {
        debitThenCrash(10);
        // one debit per batch, one batch per frame (each caller waited for its own): frames of
        // 12 + 24 bytes; damage the last one (its batch number's low byte) as a cut write would
        try (FileChannel f = FileChannel.open(dir.resolve("ocs.journal"), StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(new byte[] {(byte) 0x7f}), 9 * 36 + 12 + 7);
        }
        assertEquals(1_000_000 - 9 * 10 / 2, balanceAfterRestart(), "the first nine debits, not the torn tenth");
    }

    @Test
    void aSecondNodeOnTheSameFileIsRefused() {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4)) {
            StoreException e = assertThrows(StoreException.class, () -> JdbcBalanceStore.open(url(), null, null, 4));
            assertTrue(e.getMessage().contains("Another node is using the embedded store"), e.getMessage());
            // administration works beside the node
            try (JdbcBalanceStore admin = JdbcBalanceStore.openForAdministration(url(), null, null)) {
                admin.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 5, 0, null, null)), false);
            }
            // the node sees it once its store watch notices the change and reads the balances again
            long until = System.nanoTime() + 5_000_000_000L;
            while (node.available(SUB, UnitType.UNITS, null) != 5 && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            assertEquals(5, node.available(SUB, UnitType.UNITS, null));
        }
    }

    /**
     * The writer held up (a transaction elsewhere holds journal_applied's row): debits are still
     * acknowledged at once, the journal turns to its second file once and then stays there
     * (the first holds batches the database lacks), and a crash then finds acknowledged debits in
     * both files, each applied once; after a restart, more debits and a second crash, the same.
     */
    @Test
    void debitsInBothFilesSurviveACrashWhileTheWriterIsHeldUp() throws Exception {
        JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4);
        long debited = 0;
        try {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1_000_000, 0, null, null)), false);
            java.lang.reflect.Field f = EmbeddedBalanceStore.class.getDeclaredField("journal");
            f.setAccessible(true);
            AmountJournal journal = (AmountJournal) f.get(node);
            try (Connection blocker = DriverManager.getConnection(url()); Statement s = blocker.createStatement()) {
                blocker.setAutoCommit(false);
                s.executeUpdate("UPDATE journal_applied SET batch = batch WHERE id = 1"); // held: no write-back commits
                long t0 = System.nanoTime();
                debited += node.debit(SUB, UnitType.UNITS, null, 1);
                journal.turnSoon();
                awaitFile(journal, 1);
                debited += node.debit(SUB, UnitType.UNITS, null, 2);
                journal.turnSoon(); // refused: the first file holds a batch the database lacks
                Thread.sleep(600);
                debited += node.debit(SUB, UnitType.UNITS, null, 3);
                assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "acknowledged without waiting for the writer");
                assertEquals(1, journal.activeFile(), "still in the second file");
                try (FileChannel a = FileChannel.open(dir.resolve("ocs.journal"), StandardOpenOption.READ);
                     FileChannel b = FileChannel.open(dir.resolve("ocs.journal2"), StandardOpenOption.READ)) {
                    assertEquals(1, AmountJournal.read(a).size(), "the first debit in the first file");
                    assertEquals(2, AmountJournal.read(b).size(), "the next two in the second");
                }
                // as a kill -9 would: the database closes without storing what it has not written
                try {
                    s.execute("SHUTDOWN IMMEDIATELY");
                } catch (java.sql.SQLException expected) {
                    // the connection goes with the database
                }
            } catch (java.sql.SQLException closedAlready) {
                // closing the blocker after the shutdown
            }
        } finally {
            node.close();
        }
        assertEquals(6, debited);
        assertEquals(1_000_000 - 6, balanceAfterRestart(), "every acknowledged debit, once");
        assertEquals(1_000_000 - 6, balanceAfterRestart(), "and nothing applied again");
        // again, with frames of the first life left in both files
        debitThenCrashAgain(4);
        assertEquals(1_000_000 - 10, balanceAfterRestart());
    }

    /**
     * A usage note goes into the journal as its bytes packed into longs, beside its debit: after
     * a crash before any write-back, the replay gives back each note as it was (one whose length
     * is not a multiple of eight bytes, with non-ASCII text) and its record's end.
     */
    @Test
    void usageNotesSurviveACrashWithTheirDebits() throws Exception {
        java.time.Instant started = java.time.Instant.parse("2026-12-04T10:00:00Z");
        java.time.Instant ended = started.plusSeconds(90);
        org.gyocs.core.UsageNote record = org.gyocs.core.UsageNote.of(org.gyocs.core.UsageNote.SESSION, "rec-ü1", SUB,
                "pgw.example.org;1;ß€" + "x".repeat(301), "pgw.example.org", started);
        JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4);
        try {
            node.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, 1_000_000, 0, null, null)), false);
            try (Connection blocker = DriverManager.getConnection(url()); Statement s = blocker.createStatement()) {
                blocker.setAutoCommit(false);
                s.executeUpdate("UPDATE journal_applied SET batch = batch WHERE id = 1"); // held: no write-back commits
                java.time.Instant later = java.time.Instant.now().plusSeconds(600);
                assertEquals(1000, node.reserve(SUB, UnitType.OCTETS, 7L, 1000, "s|7", later, "c0").reserved());
                assertEquals(300, node.settle(SUB, UnitType.OCTETS, 7L, "s|7", 300, "c1",
                        record.line(7L, UnitType.OCTETS, 300, false, null)));
                assertEquals(1000, node.reserve(SUB, UnitType.OCTETS, 9L, 1000, "s|9", later, "c2").reserved());
                assertEquals(45, node.settle(SUB, UnitType.OCTETS, 9L, "s|9", 45, "c3",
                        record.line(9L, UnitType.OCTETS, 45, false, null)));
                node.recordUsage(record.end(ended, 2001L, "DIAMETER_LOGOUT"));
                try {
                    s.execute("SHUTDOWN IMMEDIATELY"); // as a kill -9 would
                } catch (java.sql.SQLException expected) {
                    // the connection goes with the database
                }
            } catch (java.sql.SQLException closedAlready) {
                // closing the blocker after the shutdown
            }
        } finally {
            node.close();
        }
        try (JdbcBalanceStore restarted = JdbcBalanceStore.open(url(), null, null, 4)) {
            assertEquals(1_000_000 - 345, restarted.buckets(SUB).get(0).amount(), "both debits, once");
            List<UsageRecords.UsageRecord> records = List.of();
            for (int i = 0; i < 100 && records.isEmpty(); i++) {
                records = restarted.usage(SUB, java.time.Instant.EPOCH, ended.plusSeconds(1), 10);
                Thread.sleep(records.isEmpty() ? 50 : 0); // replayed at the open, written by the writer
            }
            assertEquals(List.of(new UsageRecords.UsageRecord("rec-ü1", "session", SUB, record.sessionId(),
                    "pgw.example.org", started, ended, 2001L, "DIAMETER_LOGOUT",
                    List.of(new UsageRecords.Line(7L, "octets", 300, 0, null),
                            new UsageRecords.Line(9L, "octets", 45, 0, null)))), records);
        }
    }

    /** A debit after a restart, then H2 dies without writing what it holds. */
    private void debitThenCrashAgain(long amount) throws Exception {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4)) {
            assertEquals(amount, node.debit(SUB, UnitType.UNITS, null, amount));
            try (Connection c = DriverManager.getConnection(url()); Statement s = c.createStatement()) {
                s.execute("SHUTDOWN IMMEDIATELY");
            } catch (java.sql.SQLException expected) {
                // the connection goes with the database
            }
        }
    }

    /** A journal of this test's own (no database), both files ready to take turns. */
    private static AmountJournal twoFiles(Path path) throws java.io.IOException {
        AmountJournal j = AmountJournal.lock(path);
        j.prepareSecond();
        return j;
    }

    private static void awaitFile(AmountJournal journal, int file) throws InterruptedException {
        long until = System.nanoTime() + 5_000_000_000L;
        while (journal.activeFile() != file && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(file, journal.activeFile(), "the journal turned");
    }

    /**
     * The journal's two files take turns; a file is written over from its start, and a frame left
     * from before that lines up behind the new ones is not read as one of them (replay would apply
     * it out of order). Each frame is one batch, numbered one after the other.
     */
    @Test
    void framesLeftFromBeforeATurnAreNotRead() throws Exception {
        Path path = dir.resolve("x.journal");
        AmountJournal j = twoFiles(path);
        try {
            j.write(5, new long[] {1, -10}, 2);
            j.write(6, new long[] {1, -20}, 2);
            j.write(7, new long[] {1, -30}, 2);
            assertEquals(7, j.turn(), "on in the second file; the database to be checkpointed through 7");
            j.write(8, new long[] {1, -40}, 2);
            j.checkpointedThrough(7);
            assertEquals(8, j.turn(), "back to the first, from its start: the database holds its batches");
            j.write(9, new long[] {1, -50}, 2); // the same size as batch 5: batch 6 lines up behind it
        } finally {
            j.close();
        }
        try (FileChannel f = FileChannel.open(path, StandardOpenOption.READ)) {
            List<long[]> records = AmountJournal.read(f);
            assertEquals(1, records.size(), "batch 9 only, not the stale 6 and 7 behind it");
            assertEquals(9, records.get(0)[0]);
        }
        List<long[]> both = AmountJournal.readAll(path);
        assertEquals(List.of(8L, 9L), both.stream().map(r -> r[0]).toList(), "both files, in the order of their batches");
    }

    /**
     * A file the journal left is written over only once the database holds every batch in it:
     * until then the journal stays in the file it is in, and a crash finds both files' batches.
     */
    @Test
    void aFileLeftIsNotWrittenOverBeforeTheDatabaseHoldsItsBatches() throws Exception {
        Path path = dir.resolve("y.journal");
        AmountJournal j = twoFiles(path);
        try {
            j.write(1, new long[] {1, -1}, 2);
            assertEquals(1, j.turn());
            j.write(2, new long[] {1, -2}, 2);
            assertEquals(0, j.turn(), "the first file still holds batch 1, which the database lacks");
            j.write(3, new long[] {1, -3}, 2);
            assertTrue(j.holdsFrames());
            assertEquals(List.of(1L, 2L, 3L), AmountJournal.readAll(path).stream().map(r -> r[0]).toList());
            j.checkpointedThrough(1);
            assertEquals(3, j.turn(), "now it may be written over");
            j.write(4, new long[] {1, -4}, 2);
            assertEquals(List.of(2L, 3L, 4L), AmountJournal.readAll(path).stream().map(r -> r[0]).toList(),
                    "batch 1, which the database holds, written over by 4");
            j.checkpointedThrough(4);
            assertTrue(!j.holdsFrames(), "the database holds every batch of both files");
        } finally {
            j.close();
        }
    }
}
