package org.gyocs.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.function.UnaryOperator;

import javax.sql.DataSource;

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

    /**
     * @param current what a bucket read from the database holds now (the embedded node's
     *                balances are ahead of its database); identity elsewhere
     * @param flushed run after each change (an H2 file checkpoints it)
     * @param changed told the new provisioning generation after each change
     */
    SubscriberDirectory(DataSource dataSource, UnaryOperator<Bucket> current, Runnable flushed, LongConsumer changed) {
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

    @Override
    public void add(List<Bucket> buckets, boolean replaceSubscribers) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
            if (replaceSubscribers) {
                PreparedStatement d = tx.prepare("DELETE FROM subscriber WHERE id = ?");
                for (String s : new LinkedHashSet<>(buckets.stream().map(Bucket::subscriber).toList())) {
                    d.setString(1, s);
                    d.addBatch();
                }
                d.executeBatch();
            }
            for (Bucket b : buckets) {
                SqlRules.ensureSubscriber(tx, b.subscriber());
                SqlRules.insertBucket(tx, b.subscriber(), b.unit(), b.ratingGroup(), b.amount(), b.expires());
            }
            return SqlRules.nextGeneration(tx);
        });
        flushed.run();
        changed.accept(generation);
    }

    @Override
    public boolean delete(String subscriber) {
        long generation = JdbcBalanceStore.inTransaction(dataSource, tx -> {
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
