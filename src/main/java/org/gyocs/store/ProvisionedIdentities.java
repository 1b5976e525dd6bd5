package org.gyocs.store;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Which identities are provisioned subscribers, remembered between changes of the subscriber
 * table. Every CCR-E and CCR-I looks its subscriber up; in a lab most traffic comes from
 * identities nobody provisioned, and the query that finds nothing cost about a third of the
 * node's CPU per event (JFR, bench/RESULTS.md).
 *
 * <p>Right across processes and nodes sharing a database: every change of the subscriber table
 * increments {@code provisioning.generation} in its own transaction, and every
 * {@link #CHECK_INTERVAL_NANOS} a thread of the store reads that number and, when it moved,
 * starts from nothing. A subscriber added or removed by ocs-admin or another node is therefore
 * seen within that interval; balances are never remembered here, only whether an identity
 * exists. Request threads never wait for that check.
 */
final class ProvisionedIdentities {
    static final long CHECK_INTERVAL_NANOS = 250_000_000L;
    /** Beyond this many identities new ones are looked up every time instead of remembered. */
    static final int MAX_REMEMBERED = 100_000;

    /** What one generation of the subscriber table says; replaced whole, never cleared in place. */
    static final class Snapshot {
        private final long generation;
        private final ConcurrentHashMap<String, Boolean> provisioned = new ConcurrentHashMap<>();
        /** subscriber to its plan, of those that have one: read at once, once per generation (a CCR-I needs it) */
        private volatile java.util.Map<String, String> plans;

        private Snapshot(long generation) {
            this.generation = generation;
        }

        /** TRUE or FALSE when known, null when it must be looked up. */
        Boolean provisioned(String identity) {
            return provisioned.get(identity);
        }

        /**
         * Remembers a lookup. A lookup that overlapped a change may be stale, but it lands in the
         * snapshot it started with, which the next check replaces.
         */
        void remember(String identity, boolean isProvisioned) {
            if (provisioned.size() < MAX_REMEMBERED) {
                provisioned.put(identity, isProvisioned);
            }
        }

        /**
         * The plans of this generation (subscriber to plan, those with one), read with {@code load}
         * on first use: one query, where a lookup per subscriber cost each first CCR-I a query.
         */
        java.util.Map<String, String> plans(java.util.function.Supplier<java.util.Map<String, String>> load) {
            java.util.Map<String, String> p = plans;
            if (p == null) {
                synchronized (this) {
                    p = plans;
                    if (p == null) {
                        p = load.get();
                        plans = p;
                    }
                }
            }
            return p;
        }
    }

    private final LongSupplier generation;
    private volatile Snapshot current;

    /** @param generation reads provisioning.generation from the database */
    ProvisionedIdentities(LongSupplier generation) {
        this.generation = generation;
        this.current = new Snapshot(generation.getAsLong());
    }

    Snapshot snapshot() {
        return current;
    }

    /**
     * Reads the generation; called every {@link #CHECK_INTERVAL_NANOS}. When it moved,
     * {@code beforeForgetting} runs first (the node's balances in memory are read again), so a
     * subscriber found from then on is one the node can charge.
     */
    void check(Runnable beforeForgetting) {
        long now = generation.getAsLong();
        if (current.generation != now) {
            beforeForgetting.run();
            changedTo(now);
        }
    }

    /** Called with the generation this process just committed, or one read from the database. */
    void changedTo(long newGeneration) {
        if (current.generation != newGeneration) {
            current = new Snapshot(newGeneration);
        }
    }
}
