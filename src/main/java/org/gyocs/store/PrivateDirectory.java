package org.gyocs.store;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The embedded store's directory ({@code data/}) holds every balance: it is 0700 and its files
 * 0600, whatever the umask was when they were made (H2 creates its files with the process's
 * umask, 0644 on most systems, and an audit read every balance from the database file as another
 * local user). Applied each time the store is opened, so an installation made before is closed too.
 */
final class PrivateDirectory {
    private static final Logger log = LogManager.getLogger(PrivateDirectory.class);
    static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateDirectory() {
    }

    /** The directory of an H2 file URL ({@code jdbc:h2:file:/x/ocs;...} or {@code jdbc:h2:/x/ocs}), if it is one. */
    static Optional<Path> ofH2Url(String url) {
        return h2Base(url).map(Path::getParent);
    }

    /** The database's path without extension ({@code /x/ocs} for {@code /x/ocs.mv.db}), if the URL is an H2 file. */
    static Optional<Path> h2Base(String url) {
        if (!url.startsWith("jdbc:h2:") || url.startsWith("jdbc:h2:mem:") || url.startsWith("jdbc:h2:tcp:")
                || url.startsWith("jdbc:h2:ssl:")) {
            return Optional.empty();
        }
        String name = url.substring("jdbc:h2:".length());
        if (name.startsWith("file:")) {
            name = name.substring("file:".length());
        }
        int semicolon = name.indexOf(';');
        if (semicolon >= 0) {
            name = name.substring(0, semicolon);
        }
        if (name.startsWith("~")) {
            name = System.getProperty("user.home") + name.substring(1);
        }
        Path base = Path.of(name).toAbsolutePath();
        return base.getParent() == null ? Optional.empty() : Optional.of(base);
    }

    /**
     * Makes the store's files private (0600): those named after the database ({@code ocs.*}).
     * The directory is made 0700 when it holds nothing but the store's files (data/, or one made
     * here); a directory shared with other files (a --store in /tmp or in a home directory) is
     * left as it is, with a warning when others may enter it.
     */
    static void secure(Path base) {
        Path dir = base.getParent();
        String prefix = base.getFileName() + ".";
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIRECTORY));
            }
            boolean ours = true;
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    boolean store = name.startsWith(prefix) || name.equals("admin.sock");
                    if (store && Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.setPosixFilePermissions(f, FILE);
                    }
                    ours &= store || name.equals("tls"); // bin/ocs.sh users keep TLS stores in data/tls
                }
            }
            if (ours) {
                Files.setPosixFilePermissions(dir, DIRECTORY);
            } else if (!java.util.Collections.disjoint(Files.getPosixFilePermissions(dir), Set.of(
                    PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE))) {
                log.warn("The balance store's directory {} holds other files and others may enter it: its own files "
                        + "are 0600, but give the store a directory of its own", dir);
            }
        } catch (UnsupportedOperationException e) {
            log.warn("{}: this file system has no POSIX permissions; keep the directory private yourself", dir);
        } catch (IOException e) {
            // not ours (installed by another user): say so, the store may still open
            log.warn("Cannot make {} private (0700, files 0600): {}", dir, e.toString());
        }
    }
}
