package org.gyocs.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.ResultSet;

import javax.sql.DataSource;

/**
 * Asks the disk to keep what H2 has written to its file (fsync). H2 writes every commit to the
 * file (WRITE_DELAY=0) but leaves it in the OS's cache: it survives the node's crash, not the
 * machine's. Its own CHECKPOINT SYNC would store a new version first, doubling its writes; this
 * syncs the file through a descriptor of our own, which on Linux flushes every write made to it,
 * whichever process or descriptor made it (ocs-admin may be the auto-server's host).
 */
final class H2FileSync implements GroupCommit.Flush, AutoCloseable {
    private final FileChannel file;

    private H2FileSync(FileChannel file) {
        this.file = file;
    }

    /** Opens the file of the H2 database behind this data source (DATABASE_PATH() + ".mv.db"). */
    static H2FileSync open(DataSource ds) {
        String path = JdbcBalanceStore.inTransaction(ds, tx -> {
            try (ResultSet rs = tx.prepare("SELECT DATABASE_PATH()").executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        });
        if (path == null) {
            throw new StoreException("H2 names no file for this database");
        }
        try {
            return new H2FileSync(FileChannel.open(Path.of(path + ".mv.db"), StandardOpenOption.READ));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void run() throws IOException {
        file.force(true);
    }

    /** Flushes now, for changes made outside the group commit (administration). */
    void now() {
        try {
            run();
        } catch (IOException e) {
            throw new StoreException("Cannot flush the balance store's file: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            // nothing more to flush through it
        }
    }
}
