package org.gyocs.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

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
 * <p>The recovery works on a copy, which replaces the file only once it opens as a database and
 * every row of every table reads back; otherwise the store is refused (the node does not start,
 * ocs-admin stops) and the file is left as the crash left it.
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
     * recovers the file when it is missing (with the store's credentials, to read the result).
     */
    static void beforeOpen(Path base, String user, String password) {
        boolean clean;
        Path copyBase = Path.of(base + ".recovering"); // as H2 names it: the file is <base>.mv.db
        Path copy = Path.of(copyBase + ".mv.db");
        try {
            clean = Files.deleteIfExists(marker(base));
            Files.deleteIfExists(copy); // left by a recovery that was cut short: the file is as it was
        } catch (IOException e) {
            throw new StoreException("Cannot remove " + marker(base) + " or " + copy + ": " + e.getMessage(), e);
        }
        Path database = Path.of(base + ".mv.db");
        if (clean || !Files.exists(database)) {
            return;
        }
        long t0 = System.nanoTime();
        log.warn("The balance store {} was not closed cleanly: reading the whole file for its last checkpoint", database);
        String refused = "Cannot recover the balance store " + database + " after an unclean stop: ";
        String leftAsItWas = ". The file is left as it was: restore the directory from a copy taken while the "
                + "node was stopped, or provision a new one";
        // the original is locked as H2 locks what it opens (another process's node or ocs-admin
        // waits), and only read: MVStore's recovery closes the file it read by writing a new chunk,
        // and over a file it misread (one whose newest chunk omits a chunk it needs:
        // JdbcBalanceStore.embeddedUrl says how H2 left such files) that chunk went where the data was
        try (FileChannel original = FileChannel.open(database, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock lock = original.tryLock()) {
            if (lock == null) {
                throw new StoreException(refused + "another process has it open");
            }
            Files.copy(database, copy, StandardCopyOption.REPLACE_EXISTING);
            long version;
            int maps;
            MVStore store = new MVStore.Builder().fileName(copy.toString()).recoveryMode().autoCommitDisabled().open();
            try {
                version = store.getCurrentVersion();
                maps = store.getMapNames().size();
            } catch (RuntimeException e) {
                store.closeImmediately();
                throw e;
            }
            store.close();
            String fault = fault(copyBase, version, maps, user, password);
            if (fault != null) {
                throw new StoreException(refused + fault + leftAsItWas);
            }
            try (FileChannel f = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                f.force(true);
            }
            Files.move(copy, database, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(database.getParent());
            log.warn("Recovered {} at version {} ({} maps, every table read back) in {} ms", database, version, maps,
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(copy); // this process's: made while it held the lock
            } catch (IOException ignored) {
                // the next start removes it
            }
            if (e instanceof StoreException se) {
                throw se;
            }
            throw new StoreException(refused + e.getMessage() + leftAsItWas, e);
        }
    }

    /**
     * What is wrong with a recovered file, or null. A file with a version has maps (one without,
     * killed before H2 wrote to it, has nothing to lose). And it opens as a database, read-only,
     * with every row of every table read back: recovery mode reads a page it cannot find as an
     * empty one, an ordinary opening fails on it ("Chunk N not found").
     */
    private static String fault(Path recovered, long version, int maps, String user, String password) {
        if (maps == 0) {
            return version == 0 ? null
                    : "its newest checkpoint reads as empty (a chunk it needs is missing from its layout, h2database#4383)";
        }
        String url = "jdbc:h2:file:" + recovered + ";ACCESS_MODE_DATA=r;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE";
        try (Connection c = DriverManager.getConnection(url, user == null ? "" : user, password == null ? "" : password)) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = c.createStatement().executeQuery("SELECT TABLE_SCHEMA, TABLE_NAME FROM "
                    + "INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA' AND TABLE_TYPE = 'BASE TABLE'")) {
                while (rs.next()) {
                    tables.add('"' + rs.getString(1) + "\".\"" + rs.getString(2) + '"');
                }
            }
            for (String table : tables) {
                try (ResultSet rs = c.createStatement().executeQuery("SELECT * FROM " + table)) {
                    while (rs.next()) {
                        // every leaf page of the table's rows
                    }
                }
            }
            return null;
        } catch (SQLException | RuntimeException e) {
            return "it does not read back once recovered (" + e.getMessage() + ")";
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
    static boolean beforeAdministration(Path base, String user, String password) {
        Path journal = journal(base);
        if (!Files.exists(journal)) {
            beforeOpen(base, user, password);
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
                beforeOpen(base, user, password);
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
