package org.gyocs.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.h2.mvstore.MVStore;

/**
 * The embedded database after a crash. H2 2.5 reopens a file that was not closed cleanly at the
 * version its file header names, and on a large, fragmented file that header can still name an
 * older version than the last {@code CHECKPOINT SYNC} (the newest chunk was written into reused
 * space before the header was pointed at it). The journal had been written over from its start
 * after that checkpoint, so the batches in between were in neither: an audit lost acknowledged
 * debits after kill -9 on a store of 100,000 subscribers, and once found the file unreadable.
 *
 * <p>So whoever opens the file notes it: a marker beside the database ({@code ocs.clean}) exists
 * only while nobody has it open after a clean close. Without it, the file is first opened by
 * MVStore's recovery mode, which reads every chunk of the file and takes the newest whole one,
 * then closed cleanly, and only then opened as a database. The journal's replay then finds its
 * batches right after the ones the database holds (and says so loudly when it does not).
 *
 * <p>The recovery works on a copy, which replaces the file only once it opens and holds the maps
 * recovery found; otherwise the node does not start and the file is left as the crash left it.
 */
final class UncleanStopRecovery {
    private static final Logger log = LogManager.getLogger(UncleanStopRecovery.class);

    private UncleanStopRecovery() {
    }

    static Path marker(Path base) {
        return Path.of(base + ".clean");
    }

    static Path journal(Path base) {
        return Path.of(base + ".journal");
    }

    /**
     * Before a node opens the database, holding the journal's lock: consumes the marker, and
     * recovers the file when it is missing.
     */
    static void beforeOpen(Path base) {
        boolean clean;
        try {
            clean = Files.deleteIfExists(marker(base));
        } catch (IOException e) {
            throw new StoreException("Cannot remove " + marker(base) + ": " + e.getMessage(), e);
        }
        Path database = Path.of(base + ".mv.db");
        if (clean || !Files.exists(database)) {
            return;
        }
        long t0 = System.nanoTime();
        log.warn("The balance store {} was not closed cleanly: reading the whole file for its last checkpoint", database);
        Path copy = Path.of(base + ".recovering.mv.db");
        try {
            // on a copy: MVStore's close writes a new chunk, and over a file it misread (one whose
            // newest chunk omits a chunk it needs, JdbcBalanceStore.embeddedUrl says how H2 left
            // such files) that chunk went where the data was
            Files.copy(database, copy, StandardCopyOption.REPLACE_EXISTING);
            MVStore store = new MVStore.Builder().fileName(copy.toString()).recoveryMode().open();
            long version = store.getCurrentVersion();
            int maps = store.getMapNames().size();
            store.close();
            String fault = fault(copy, version, maps);
            if (fault != null) {
                throw new StoreException("Cannot recover the balance store " + database + " after an unclean stop: "
                        + fault + ". The file is left as it was; restore it from a backup (a copy of the "
                        + "directory while the node was stopped) and start again");
            }
            try (FileChannel f = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                f.force(true);
            }
            Files.move(copy, database, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(database.getParent());
            log.warn("Recovered {} at version {} ({} maps) in {} ms", database, version, maps,
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(copy);
            } catch (IOException ignored) {
                // the next recovery writes over it
            }
            if (e instanceof StoreException se) {
                throw se;
            }
            throw new StoreException("Cannot recover the balance store " + database + " after an unclean stop: "
                    + e.getMessage(), e);
        }
    }

    /**
     * What is wrong with a recovered file, or null: it must open as it is (its newest chunk's
     * layout reaching every page it names) and hold the maps recovery found; and a file with a
     * version holds some (one without, killed before H2 wrote to it, has nothing to lose).
     */
    private static String fault(Path recovered, long version, int maps) {
        if (maps == 0 && version > 0) {
            return "its newest checkpoint reads as empty (a chunk it needs is missing from its layout, h2database#4383)";
        }
        try {
            MVStore check = new MVStore.Builder().fileName(recovered.toString()).readOnly().open();
            try {
                int reopened = check.getMapNames().size();
                return reopened == maps ? null : "it holds " + reopened + " maps once recovered, not " + maps;
            } finally {
                check.closeImmediately();
            }
        } catch (RuntimeException e) {
            return "it does not open once recovered (" + e.getMessage() + ")";
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            log.debug("Cannot sync {}: {}", dir, e.toString());
        }
    }

    /**
     * Before ocs-admin opens the database: the same, when no node holds it (its journal is free);
     * a node that runs has done it already. @return true when this opener may mark it clean at its close
     */
    static boolean beforeAdministration(Path base) {
        Path journal = journal(base);
        if (!Files.exists(journal)) {
            beforeOpen(base);
            return true;
        }
        try (FileChannel f = FileChannel.open(journal, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = f.tryLock();
            } catch (OverlappingFileLockException e) {
                return false; // a node of this process holds it
            }
            if (lock == null) {
                return false; // a node holds it
            }
            try {
                beforeOpen(base);
                return true;
            } finally {
                lock.release();
            }
        } catch (IOException e) {
            throw new StoreException("Cannot open " + journal + ": " + e.getMessage(), e);
        }
    }

    /** After the database was closed cleanly, before the journal's lock is released. */
    static void closedCleanly(Path base) {
        try {
            Files.createFile(marker(base), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(PrivateDirectory.FILE));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // marked already
        } catch (IOException e) {
            log.warn("Cannot mark {} as closed cleanly ({}): the next start reads the whole file", base, e.toString());
        }
    }
}
