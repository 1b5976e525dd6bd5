package org.gyocs.testing;

import java.util.concurrent.atomic.AtomicInteger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/** Real databases for tests: a fresh in-memory H2 or H2 file, and one PostgreSQL per test JVM (embedded). */
public final class Stores {
    private static final AtomicInteger COUNTER = new AtomicInteger();
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
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("gyocs-store");
        dir.toFile().deleteOnExit();
        return embeddedFile(dir);
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
