package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, item 5: acknowledged debits lost after kill -9 on a large embedded store. A debit is
 * acknowledged, written back, CHECKPOINT SYNCed and its journal frame written over; the node then
 * dies (its files copied as they are, unclosed: what a kill -9 leaves). H2 2.5 reopening such a
 * file takes an older chunk than the checkpointed one when that chunk sits in reused space in the
 * middle of the file, so the debit was in neither the database nor the journal. Reading the
 * whole file after an unclean stop (UncleanStopRecovery) finds it.
 */
class CrashRecoveryTest {
    private static final String SUB = "4917099";
    @TempDir
    Path dir;
    @TempDir
    Path crashed;

    @Test
    void aCheckpointedDebitSurvivesAKillOnAFragmentedFile() throws Exception {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(Stores.embeddedFile(dir), null, null, 4)) {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1_000_000, 0, null, null)), false);
            // free space in the middle of the file, as the dead chunks of a large store leave after
            // a load and idle housekeeping (retention 0 instead of waiting 45 s for old chunks)
            try (Connection c = node.dataSource().getConnection(); Statement s = c.createStatement()) {
                s.execute("SET RETENTION_TIME 0");
                s.execute("CREATE TABLE scratch (id INT PRIMARY KEY, v VARCHAR)");
                s.execute("INSERT INTO scratch SELECT x, REPEAT('x', 1000) FROM SYSTEM_RANGE(1, 20000)");
                c.commit();
                s.execute("CHECKPOINT SYNC");
                s.execute("DROP TABLE scratch");
                c.commit();
                for (int i = 0; i < 10; i++) { // a few versions, so that the dead chunks are freed
                    s.execute("UPDATE provisioning SET generation = generation");
                    c.commit();
                    s.execute("CHECKPOINT SYNC");
                }
            }
            java.lang.reflect.Field f = EmbeddedBalanceStore.class.getDeclaredField("journal");
            f.setAccessible(true);
            AmountJournal journal = (AmountJournal) f.get(node);
            long before = journal.checkpointedBatch();
            Thread.sleep(AmountJournal.CHECKPOINT_NANOS / 1_000_000 + 500); // idle: the journal turns at the next debit
            assertEquals(1, node.debit(SUB, UnitType.UNITS, null, 1)); // the journal goes on in its second file
            awaitCheckpointPast(journal, before); // the first debit written back, checkpointed
            assertEquals(1, node.debit(SUB, UnitType.UNITS, null, 1)); // at the second file's start
            long checkpointed = journal.checkpointedBatch();
            Thread.sleep(AmountJournal.CHECKPOINT_NANOS / 1_000_000 + 500); // idle: back to the first file
            awaitCheckpointPast(journal, checkpointed); // the second debit checkpointed
            assertEquals(1, node.debit(SUB, UnitType.UNITS, null, 1)); // over the first debit's frame
            // kill -9 now: the files as they are, and no clean mark. The first two debits are in
            // the checkpointed database only
            Files.copy(dir.resolve("ocs.mv.db"), crashed.resolve("ocs.mv.db"));
            Files.copy(dir.resolve("ocs.journal"), crashed.resolve("ocs.journal"));
            Files.copy(dir.resolve("ocs.journal2"), crashed.resolve("ocs.journal2"));
        }
        assertTrue(Files.exists(dir.resolve("ocs.clean")), "a clean close is marked");
        assertFalse(Files.exists(crashed.resolve("ocs.clean")));
        try (JdbcBalanceStore restarted = JdbcBalanceStore.open(Stores.embeddedFile(crashed), null, null, 4)) {
            assertEquals(1_000_000 - 3, restarted.buckets(SUB).get(0).amount(), "every acknowledged debit");
            assertFalse(Files.exists(crashed.resolve("ocs.clean")), "open: not marked");
            assertFalse(Files.exists(crashed.resolve("ocs.recovering.mv.db")), "the recovered copy took the file's place");
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(crashed.resolve("ocs.mv.db"))));
        }
        assertTrue(Files.exists(crashed.resolve("ocs.clean")));
        try (JdbcBalanceStore again = JdbcBalanceStore.open(Stores.embeddedFile(crashed), null, null, 4)) {
            assertEquals(1_000_000 - 3, again.buckets(SUB).get(0).amount(), "and after a clean stop too");
        }
    }

    /**
     * A file the kill -9 test left while H2 still wrote in the background (before WRITE_DELAY=0):
     * chunks 2 and 3 written a millisecond apart, chunk 3's layout without chunk 2 though its
     * pages point into it (h2database#4383).
     * MVStore's recovery mode reads it as empty, and the recovery used to close it in place,
     * writing its new chunk over chunk 2: the data was gone. Now it is refused and left as it was.
     */
    @Test
    void aFileWhoseNewestChunkOmitsOneItNeedsIsRefusedAndLeftAsItWas() throws Exception {
        byte[] left;
        try (java.io.InputStream in = getClass().getResourceAsStream("/store/chunk-omitted-by-its-successor.mv.db")) {
            left = in.readAllBytes();
        }
        Files.write(crashed.resolve("ocs.mv.db"), left);
        StoreException e = org.junit.jupiter.api.Assertions.assertThrows(StoreException.class,
                () -> JdbcBalanceStore.open(Stores.embeddedFile(crashed), null, null, 4).close());
        assertTrue(e.getMessage().contains("after an unclean stop") && e.getMessage().contains("is left as it was"),
                e.getMessage());
        org.junit.jupiter.api.Assertions.assertArrayEquals(left, Files.readAllBytes(crashed.resolve("ocs.mv.db")),
                "the file as the kill left it, for a report or a repair");
        assertFalse(Files.exists(crashed.resolve("ocs.recovering.mv.db")), "no copy left behind");
        assertFalse(Files.exists(crashed.resolve("ocs.clean")), "still not marked clean: the next start tries again");
    }

    /** A node killed before H2 wrote its first chunk leaves a file with nothing in it: that one is no fault. */
    @Test
    void aFileKilledBeforeItsFirstChunkOpensAsANewStore() throws Exception {
        Files.createFile(crashed.resolve("ocs.mv.db"));
        try (JdbcBalanceStore node = JdbcBalanceStore.open(Stores.embeddedFile(crashed), null, null, 4)) {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 10, 0, null, null)), false);
            assertEquals(10, node.buckets(SUB).get(0).amount());
        }
    }

    /** Waits (5 s at most) until the writer has checkpointed the database past this batch. */
    private static void awaitCheckpointPast(AmountJournal journal, long batch) throws InterruptedException {
        long until = System.nanoTime() + 5_000_000_000L;
        while (journal.checkpointedBatch() <= batch && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertTrue(journal.checkpointedBatch() > batch, "checkpointed past batch " + batch);
    }

    /** A store whose journal failed (a full disk) is not marked closed cleanly: the next start reads the whole file. */
    @Test
    void aStoreThatFailedIsNotMarkedClean() throws Exception {
        JdbcBalanceStore node = JdbcBalanceStore.open(Stores.embeddedFile(dir), null, null, 4);
        try {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 100, 0, null, null)), false);
            assertEquals(1, node.debit(SUB, UnitType.UNITS, null, 1));
            java.lang.reflect.Field f = EmbeddedBalanceStore.class.getDeclaredField("journal");
            f.setAccessible(true);
            ((AmountJournal) f.get(node)).close(); // as a disk that fails: the next write throws
            org.junit.jupiter.api.Assertions.assertThrows(StoreException.class, () -> node.debit(SUB, UnitType.UNITS, null, 1));
        } finally {
            node.close();
        }
        assertFalse(Files.exists(dir.resolve("ocs.clean")), "not marked: the next start scans the file");
        try (JdbcBalanceStore again = JdbcBalanceStore.open(Stores.embeddedFile(dir), null, null, 4)) {
            assertEquals(99, again.buckets(SUB).get(0).amount(), "the acknowledged debit, not the refused one");
        }
    }

    /** The store's files are private; a directory it shares with other files is left as it is. */
    @Test
    void onlyTheStoresOwnFilesAndDirectoryAreMadePrivate() throws Exception {
        Path shared = Stores.tempDirectory("shared");
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path notes = Files.writeString(shared.resolve("notes.txt"), "not the store's");
        Files.setPosixFilePermissions(notes, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        try (JdbcBalanceStore s = JdbcBalanceStore.open(Stores.embeddedFile(shared), null, null, 4)) {
            s.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1, 0, null, null)), false);
        }
        assertEquals("rwxr-xr-x", perms(shared), "a shared directory is not changed");
        assertEquals("rw-r--r--", perms(notes), "nor are files that are not the store's");
        assertEquals("rw-------", perms(shared.resolve("ocs.mv.db")));
        assertEquals("rw-------", perms(shared.resolve("ocs.journal")));
        Path own = dir.resolve("own");
        try (JdbcBalanceStore s = JdbcBalanceStore.open(Stores.embeddedFile(own), null, null, 4)) {
            s.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1, 0, null, null)), false);
        }
        assertEquals("rwx------", perms(own), "a directory of its own is 0700");
    }

    static String perms(Path p) throws Exception {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
