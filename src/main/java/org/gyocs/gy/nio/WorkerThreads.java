package org.gyocs.gy.nio;

import java.util.concurrent.ThreadFactory;

/**
 * The threads mock mode's charging workers run on: virtual threads from Java 24 on, else
 * platform threads.
 *
 * <p>Why: a charging worker waits for the balance store's commit of its decision (on PostgreSQL,
 * a group commit shared by the decisions of the moment), and a committer wakes it. On platform
 * threads each wait and each wake-up was a futex call and a switch of the kernel's threads: perf
 * put a third of the node's CPU on PostgreSQL in the kernel's thread switches. A virtual thread
 * waits on the JVM's scheduler instead, and the committer's wake-up queues it on a carrier
 * thread that is already running. Measured on PostgreSQL (bench/RESULTS.md, 2026-12-04), two
 * pairs: 6,293-6,693 CCR/s against 5,253-5,529, the node's CPU per CCR 82-91 us against 93-97.
 *
 * <p>Not before Java 24: until JEP 491 a virtual thread that waited inside a {@code synchronized}
 * block kept its carrier (of which there is one per core), and the libraries a decision goes
 * through (the JDBC driver, the pool, Log4j) wait in such blocks. The bin/ scripts run the
 * newest Java they find; on Java 17 to 23 the workers are platform threads, as they were.
 * {@code -Dgyocs.virtualWorkers=false} keeps them platform threads on any Java.
 */
final class WorkerThreads {
    /** The system property that turns virtual workers off ({@code false}). */
    static final String PROPERTY = "gyocs.virtualWorkers";
    /** The first Java whose virtual threads do not keep their carrier in a {@code synchronized} wait. */
    static final int FIRST_JAVA = 24;

    private WorkerThreads() {
    }

    /** Whether the workers of this JVM are virtual threads. */
    static boolean virtual() {
        return Runtime.version().feature() >= FIRST_JAVA && !"false".equals(System.getProperty(PROPERTY));
    }

    /** A factory of one worker's thread, named {@code name}: a daemon thread, virtual when {@link #virtual()}. */
    static ThreadFactory named(String name) {
        if (virtual()) {
            try {
                // Thread.ofVirtual().name(name).factory(), by reflection: the build targets Java 17
                Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
                Class<?> type = Class.forName("java.lang.Thread$Builder");
                builder = type.getMethod("name", String.class).invoke(builder, name);
                return (ThreadFactory) type.getMethod("factory").invoke(builder);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("Java " + Runtime.version().feature() + " has no virtual threads", e);
            }
        }
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true); // virtual threads are daemons always
            return t;
        };
    }

    /** What the workers are, for the start's log line. */
    static String describe() {
        return (virtual() ? "virtual" : "platform") + " threads (Java " + Runtime.version().feature() + ")";
    }
}
