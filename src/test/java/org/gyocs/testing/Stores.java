package org.gyocs.testing;

import java.util.concurrent.atomic.AtomicInteger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/** Real databases for tests: a fresh in-memory H2 or H2 file, and one PostgreSQL per test JVM (embedded). */
public final class Stores {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final java.util.List<java.nio.file.Path> TEMPORARY = new java.util.ArrayList<>();
    private static EmbeddedPostgres postgres;

    private Stores() {
    }

    public static String freshH2() {
        return "jdbc:h2:mem:ocs" + COUNTER.incrementAndGet() + ";DB_CLOSE_DELAY=-1";
    }

    /** A fresh database on the shared embedded PostgreSQL server (started on first use). */
    public static synchronized String freshPostgres() throws Exception {
        if (postgres == null) {
            postgres = EmbeddedPostgres.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    postgres.close();
                } catch (Exception e) {
                    // the JVM is ending anyway
                }
            }));
        }
        String db = "ocs" + COUNTER.incrementAndGet();
        try (var c = postgres.getPostgresDatabase().getConnection(); var s = c.createStatement()) {
            s.execute("CREATE DATABASE " + db);
        }
        return postgres.getJdbcUrl("postgres", db);
    }

    /** A fresh embedded store in a file, as the node runs it (balances in memory, journal beside it). */
    public static String freshEmbeddedFile() throws Exception {
        return embeddedFile(tempDirectory("gyocs-store"));
    }

    /**
     * A temporary directory removed with everything in it when the test JVM ends. File.deleteOnExit
     * removes only empty directories, and each store leaves megabytes of files: a run of the suite
     * left 1.5 GB in /tmp before.
     */
    public static synchronized java.nio.file.Path tempDirectory(String prefix) throws java.io.IOException {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory(prefix);
        if (TEMPORARY.isEmpty()) {
            Runtime.getRuntime().addShutdownHook(new Thread(Stores::removeTemporary, "remove-test-stores"));
        }
        TEMPORARY.add(dir);
        return dir;
    }

    private static synchronized void removeTemporary() {
        for (java.nio.file.Path dir : TEMPORARY) {
            try (var tree = java.nio.file.Files.walk(dir)) {
                tree.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException | RuntimeException e) {
                // the JVM is ending: what cannot be removed stays in the temporary directory
            }
        }
    }

    /** The node's embedded store in a directory, as bin/ocs.sh opens it. */
    public static String embeddedFile(java.nio.file.Path dir) {
        return org.gyocs.app.GyDiameterApplication.embeddedStore(dir);
    }

    /** h2 (in memory, SQL), embedded (a file: the node's balances in memory) or postgres. */
    public static String fresh(String kind) throws Exception {
        return switch (kind) {
            case "postgres" -> freshPostgres();
            case "embedded" -> freshEmbeddedFile();
            default -> freshH2();
        };
    }
}
