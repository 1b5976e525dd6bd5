package org.gyocs.testing;

import java.util.concurrent.atomic.AtomicInteger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/** Real databases for tests: a fresh in-memory H2, and one PostgreSQL per test JVM (embedded). */
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

    public static String fresh(String kind) throws Exception {
        return kind.equals("postgres") ? freshPostgres() : freshH2();
    }
}
