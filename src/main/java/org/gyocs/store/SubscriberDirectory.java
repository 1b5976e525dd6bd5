package org.gyocs.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;
import java.util.function.UnaryOperator;

import javax.sql.DataSource;

import org.gyocs.core.rating.Tariff;

/**
 * Subscriber administration (bin/ocs-admin.sh, CSV imports) on any kind of store: the same
 * tables everywhere. Each change moves the provisioning generation in its own transaction, so
 * that every node forgets what it knew of the subscribers (ProvisionedIdentities).
 */
final class SubscriberDirectory implements SubscriberAdmin {
    private final DataSource dataSource;
    private final UnaryOperator<Bucket> current;
    private final Runnable flushed;
    private final LongConsumer changed;
    /** Whether open sessions' holds are rows of the database (not the embedded node's memory). */
    private final boolean holdsInDatabase;

    /**
     * @param current what a bucket read from the database holds now (the embedded node's
     *                balances are ahead of its database); identity elsewhere
     * @param flushed run after each change (an H2 file checkpoints it)
     * @param changed told the new provisioning generation after each change
     * @param holdsInDatabase whether open sessions' holds are rows of the database (a delete or
     *                        import checks them), not the embedded node's memory
     */
    SubscriberDirectory(DataSource dataSource, UnaryOperator<Bucket> current, Runnable flushed, LongConsumer changed,
                        boolean holdsInDatabase) {
        this.holdsInDatabase = holdsInDatabase;
        this.dataSource = dataSource;
        this.current = current;
        this.flushed = flushed;
        this.changed = changed;
    }

    @Override
    public List<String> subscribers() {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> {
            List<String> out = new ArrayList<>();
            try (ResultSet rs = tx.prepare("SELECT id FROM subscriber ORDER BY id").executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        });
    }

    @Override
    public List<Bucket> buckets(String subscriber) {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> {
            List<Bucket> out = new ArrayList<>();
            PreparedStatement s = tx.prepare("SELECT id, unit, amount, reserved, rating_group, expires_at "
                    + "FROM bucket WHERE subscriber_id = ? ORDER BY id");
            s.setString(1, subscriber);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(5);
                    Long ratingGroup = rs.wasNull() ? null : rg;
                    Timestamp t = rs.getTimestamp(6);
                    out.add(current.apply(new Bucket(rs.getLong(1), subscriber, Bucket.unitOf(rs.getString(2)),
                            rs.getLong(3), rs.getLong(4), ratingGroup, t == null ? null : t.toInstant())));
                }
            }
            return out;
        });
    }

    /**
     * One transaction, a few statements sent in JDBC batches whatever the number of rows. An
     * import of 100,000 subscribers prepared three statements per row before, and took 37 s on H2,
     * most of it closing them. (Set-based statements over arrays, UNNEST, were tried too: slower on H2, whose
     * cost is per row inserted, not per statement.)
     */
    @Override
    public void add(List<Bucket> buckets, Map<String, String> plans, boolean replaceSubscribers) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            LinkedHashSet<String> named = new LinkedHashSet<>();
            buckets.forEach(b -> named.add(b.subscriber()));
            // a replaced subscriber's plan: the call's when it names one (null: the default plan),
            // else the one it had (an import without the plan column keeps it)
            Map<String, String> planned = new java.util.HashMap<>();
            if (replaceSubscribers) { // the subscribers of the buckets lose their others (a plan alone keeps them)
                refuseHeld(tx, named, "replaced");
                planned.putAll(plansOf(tx, named.stream().filter(id -> !plans.containsKey(id)).toList()));
                inBatches(tx.prepare("DELETE FROM subscriber WHERE id = ?"), named, (s, id) -> s.setString(1, id));
            }
            planned.putAll(plans);
            // the subscribers just deleted are inserted as they are, with their plans; any other is
            // created unless it is there already (portable: H2 and PostgreSQL; a lookup per row, so
            // not for those)
            LinkedHashSet<String> created = replaceSubscribers ? named : new LinkedHashSet<>();
            LinkedHashSet<String> others = new LinkedHashSet<>(replaceSubscribers ? List.of() : named);
            plans.keySet().stream().filter(p -> !created.contains(p)).forEach(others::add);
            inBatches(tx.prepare("INSERT INTO subscriber (id, plan) VALUES (?, ?)"), created, (s, id) -> {
                s.setString(1, id);
                s.setString(2, planned.get(id));
            });
            inBatches(tx.prepare("INSERT INTO subscriber (id) SELECT CAST(? AS VARCHAR(64)) "
                    + "WHERE NOT EXISTS (SELECT 1 FROM subscriber WHERE id = ?)"), others, (s, id) -> {
                        s.setString(1, id);
                        s.setString(2, id);
                    });
            inBatches(tx.prepare(SqlRules.INSERT_BUCKET), buckets, (s, b) -> SqlRules.bucketRow(s, b.subscriber(),
                    b.unit(), b.ratingGroup(), b.amount(), b.expires()));
            // the others' plans (those just inserted have theirs)
            inBatches(tx.prepare("UPDATE subscriber SET plan = ? WHERE id = ?"), others.stream()
                    .filter(plans::containsKey).toList(), (s, id) -> {
                        s.setString(1, plans.get(id));
                        s.setString(2, id);
                    });
            return SqlRules.nextGeneration(tx);
        });
        flushed.run();
        changed.accept(generation);
    }

    /** What sets one row's parameters of a batched statement. */
    private interface RowArguments<T> {
        void set(PreparedStatement s, T row) throws java.sql.SQLException;
    }

    /** Runs a statement for each row, sent in batches of at most 10,000 (bounded driver memory). */
    private static <T> void inBatches(PreparedStatement s, Iterable<T> rows, RowArguments<T> arguments)
            throws java.sql.SQLException {
        int pending = 0;
        for (T row : rows) {
            arguments.set(s, row);
            s.addBatch();
            if (++pending == 10_000) {
                s.executeBatch();
                pending = 0;
            }
        }
        if (pending > 0) {
            s.executeBatch();
        }
    }

    @Override
    public List<UsageRecords.UsageRecord> usage(String subscriber, java.time.Instant since, java.time.Instant until,
                                                int limit) {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> UsageRecords.find(tx, subscriber, since, until, limit));
    }

    /** Every subscriber that has a plan, with it. */
    Map<String, String> plans() {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> {
            Map<String, String> out = new java.util.HashMap<>();
            try (ResultSet rs = tx.prepare("SELECT id, plan FROM subscriber WHERE plan IS NOT NULL").executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
            return out;
        });
    }

    /**
     * The plans of these subscribers that have one, their rows locked (a plan set meanwhile waits
     * for the import, then is set on the row the import inserted: {@link #setPlan}).
     */
    private static Map<String, String> plansOf(SqlTransaction tx, List<String> subscribers)
            throws java.sql.SQLException {
        Map<String, String> out = new java.util.HashMap<>();
        PreparedStatement s = tx.prepare("SELECT id, plan FROM subscriber WHERE id = ANY(?) FOR UPDATE");
        inArrays(tx, subscribers, names -> {
            s.setArray(1, names);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) { // every row locked, those without a plan too
                    if (rs.getString(2) != null) {
                        out.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
        });
        return out;
    }

    /** What runs with one array of subscriber ids. */
    private interface WithNames {
        void run(java.sql.Array names) throws java.sql.SQLException;
    }

    /**
     * Runs {@code work} with the ids in SQL arrays of 1,000: H2 takes at most 65,536, and its time
     * per name grew with the array (a review timed an import replacing 100,000 subscribers at
     * 2.5-3x with arrays of 10,000).
     */
    private static void inArrays(SqlTransaction tx, List<String> ids, WithNames work) throws java.sql.SQLException {
        for (int from = 0; from < ids.size(); from += 1_000) {
            work.run(tx.connection().createArrayOf("VARCHAR", ids.subList(from, Math.min(ids.size(), from + 1_000))
                    .toArray()));
        }
    }

    @Override
    public Optional<String> plan(String subscriber) {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> {
            PreparedStatement s = tx.prepare("SELECT plan FROM subscriber WHERE id = ?");
            s.setString(1, subscriber);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.<String>empty();
            }
        });
    }

    @Override
    public boolean setPlan(String subscriber, String plan) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            PreparedStatement u = tx.prepare("UPDATE subscriber SET plan = ? WHERE id = ?");
            u.setString(1, plan);
            u.setString(2, subscriber);
            // an import that replaced the subscriber meanwhile deleted the row this waited for and
            // inserted another, which a second statement sees (read committed): no false "no subscriber"
            if (u.executeUpdate() == 0 && u.executeUpdate() == 0) {
                return -1L;
            }
            return SqlRules.nextGeneration(tx);
        });
        if (generation < 0) {
            return false;
        }
        flushed.run();
        changed.accept(generation);
        return true;
    }

    @Override
    public List<Tariff> tariffs() {
        return JdbcBalanceStore.inTransaction(dataSource, tx -> {
            List<Tariff> out = new ArrayList<>();
            try (ResultSet rs = tx.prepare("SELECT plan, rating_group, unit, price, per, currency, from_time, to_time "
                    + "FROM tariff ORDER BY row_no").executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(2);
                    Long ratingGroup = rs.wasNull() ? null : rg;
                    String from = rs.getString(7);
                    String to = rs.getString(8);
                    out.add(new Tariff(rs.getString(1), ratingGroup, Bucket.unitOf(rs.getString(3)), rs.getLong(4),
                            rs.getLong(5), java.util.Currency.getInstance(rs.getString(6).trim()),
                            from == null ? null : LocalTime.parse(from.trim()), to == null ? null : LocalTime.parse(to.trim())));
                }
            }
            return out;
        });
    }

    @Override
    public void replaceTariffs(List<Tariff> tariffs) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            tx.prepare("DELETE FROM tariff").executeUpdate();
            PreparedStatement i = tx.prepare("INSERT INTO tariff (row_no, plan, rating_group, unit, price, per, currency, "
                    + "from_time, to_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
            int n = 0;
            for (Tariff t : tariffs) {
                i.setInt(1, ++n);
                i.setString(2, t.plan());
                if (t.ratingGroup() == null) {
                    i.setNull(3, Types.BIGINT);
                } else {
                    i.setLong(3, t.ratingGroup());
                }
                i.setString(4, Bucket.unitName(t.unit()));
                i.setLong(5, t.price());
                i.setLong(6, t.per());
                i.setString(7, t.currency().getCurrencyCode());
                i.setString(8, t.from() == null ? null : t.from().toString());
                i.setString(9, t.to() == null ? null : t.to().toString());
                i.addBatch();
            }
            i.executeBatch();
            return SqlRules.nextGeneration(tx);
        });
        flushed.run();
        changed.accept(generation);
    }

    /**
     * Locks the rows of {@code subscribers} and their buckets until the transaction ends (the
     * buckets in id order, as a change locks them), and refuses when a hold not yet expired is on
     * any of them: a reservation made meanwhile, by any node, waits for this transaction (up to
     * its request's deadline) and then finds the buckets as they are after it, and no bucket is
     * inserted for them meanwhile (a top-up). A hold past its expiry is one nobody settles any
     * more: it does not keep a subscriber from being deleted while no node is up to release it.
     * The embedded store's holds live in its node's memory, which checks its open sessions
     * before it calls the store, and end with it: nothing to check here.
     */
    private void refuseHeld(SqlTransaction tx, java.util.Collection<String> subscribers, String what)
            throws java.sql.SQLException {
        if (!holdsInDatabase) {
            return;
        }
        PreparedStatement people = tx.prepare("SELECT id FROM subscriber WHERE id = ANY(?) FOR UPDATE");
        PreparedStatement buckets = tx.prepare("SELECT id FROM bucket WHERE subscriber_id = ANY(?) ORDER BY id "
                + "FOR UPDATE");
        PreparedStatement holds = tx.prepare("SELECT b.subscriber_id, SUM(r.amount) FROM reservation r "
                + "JOIN bucket b ON b.id = r.bucket_id WHERE b.subscriber_id = ANY(?) AND r.expires_at >= ? "
                + "GROUP BY b.subscriber_id");
        holds.setTimestamp(2, Timestamp.from(java.time.Instant.now()));
        Map<String, Long> held = new java.util.TreeMap<>();
        inArrays(tx, List.copyOf(subscribers), names -> {
            for (PreparedStatement lock : List.of(people, buckets)) {
                lock.setArray(1, names);
                try (ResultSet rs = lock.executeQuery()) {
                    while (rs.next()) {
                        // locked as it is read
                    }
                }
            }
            holds.setArray(1, names);
            try (ResultSet rs = holds.executeQuery()) {
                while (rs.next()) {
                    held.put(rs.getString(1), rs.getLong(2)); // a subscriber is in one array only
                }
            }
        });
        if (!held.isEmpty()) {
            List<String> named = held.entrySet().stream().limit(10).map(e -> e.getKey() + " (" + e.getValue()
                    + " reserved)").toList();
            throw new HeldBySessions("open sessions hold buckets of " + String.join(", ", named)
                    + (held.size() > 10 ? ", ..." : "") + ": they cannot be " + what + " now; nothing was changed "
                    + "(top them up instead, or end their sessions first; the holds of a session whose node is "
                    + "gone are released by the other nodes after the node timeout, those of a silent one after "
                    + "its Tcc)");
        }
    }

    @Override
    public boolean delete(String subscriber) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            refuseHeld(tx, List.of(subscriber), "deleted");
            PreparedStatement d = tx.prepare("DELETE FROM subscriber WHERE id = ?");
            d.setString(1, subscriber);
            return d.executeUpdate() == 0 ? -1L : SqlRules.nextGeneration(tx);
        });
        if (generation < 0) {
            return false;
        }
        flushed.run();
        changed.accept(generation);
        return true;
    }
}
