package org.gyocs.store;

import static org.gyocs.store.ChangeKeys.pair;
import static org.gyocs.store.ChangeKeys.reservation;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The balance store as portable SQL (SqlRules): ocs-admin on an embedded file, H2 in memory for
 * tests, and the base of the PostgreSQL store. Changes share commits (GroupCommit) and lock the
 * buckets they read in one order, so concurrent reservations never grant more than a bucket holds.
 */
class SqlBalanceStore extends JdbcBalanceStore {
    private static final Logger log = LogManager.getLogger(JdbcBalanceStore.class); // the store's logger, whatever its kind

    /** Reservations, debits, credits and releases: many share one commit, durable on return. */
    final GroupCommit changes;
    private volatile long lastKeyPurge = System.nanoTime();

    SqlBalanceStore(HikariDataSource dataSource, DataSource committerConnections, String description, int committers,
                    boolean h2File, Path markCleanAtClose) {
        this(dataSource, committerConnections, description, committers, h2File, markCleanAtClose, null);
    }

    /** @param batches runs a whole group commit at once (PostgreSQL's ocs_apply), or null for one change at a time */
    SqlBalanceStore(HikariDataSource dataSource, DataSource committerConnections, String description, int committers,
                    boolean h2File, Path markCleanAtClose, GroupCommit.BatchRunner batches) {
        super(dataSource, description, h2File, markCleanAtClose);
        this.changes = new GroupCommit(committerConnections, committers, "ocs-store", batches);
    }

    /**
     * A transaction of its own (a read of what is available, a refund): this thread's change
     * that gave its result before its commit (GroupCommit#runEarly) is committed first. Its batch
     * waits for this thread, holding its rows' locks, which this transaction could wait for.
     */
    @Override
    <T> T inTransaction(GroupCommit.Work<T> work) {
        if (changes != null) { // null while the base's constructor reads the store
            changes.committedFirst();
        }
        return super.inTransaction(work);
    }

    @Override
    public Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key,
                               Instant expires, String changeKey) {
        requireAmount("reservation", amount);
        return reservation(changes.run(tx -> ChangeKeys.once(tx, changeKey,
                t -> pair(SqlRules.reserveIn(t, subscriber, unit, ratingGroup, amount, key, expires)))));
    }

    @Override
    public long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey,
                       UsageNote note) {
        requireAmount("usage", used);
        return changes.run(tx -> ChangeKeys.once(tx, changeKey, t -> {
            long debited = SqlRules.settleIn(t, subscriber, unit, ratingGroup, key, used);
            keep(t, note, unit, debited);
            return new long[] {debited, 0};
        }))[0];
    }

    /** A change's usage note, in its transaction. */
    static void keep(SqlTransaction tx, UsageNote note, UnitType unit, long changed) throws java.sql.SQLException {
        List<UsageRecords.Kept> line = new ArrayList<>(1);
        UsageRecords.collect(line, note, unit, changed);
        UsageRecords.applyAll(tx, line);
    }

    /**
     * One change instead of two: the settlement and the next reservation in one transaction, so
     * the caller waits for one commit.
     */
    @Override
    public Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                       long amount, Instant expires, String changeKey, UsageNote note) {
        requireAmount("usage", used);
        requireAmount("reservation", amount);
        return reservation(changes.run(tx -> ChangeKeys.once(tx, changeKey, t -> {
            keep(t, note, unit, SqlRules.settleIn(t, subscriber, unit, ratingGroup, key, used));
            return pair(SqlRules.reserveIn(t, subscriber, unit, ratingGroup, amount, key, expires));
        })));
    }

    @Override
    public void release(String key) {
        changes.run(tx -> {
            SqlRules.releaseKey(tx, key);
            return null;
        });
    }

    @Override
    public long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                      UsageNote note) {
        requireAmount("debit", amount);
        return changes.run(tx -> ChangeKeys.once(tx, changeKey, t -> {
            long debited = SqlRules.debitFree(t, subscriber, unit, ratingGroup, amount);
            keep(t, note, unit, debited);
            return new long[] {debited, 0};
        }))[0];
    }

    /** A transaction's commit is what makes anything durable here: the same as {@link #recordUsage}. */
    @Override
    public java.util.concurrent.CompletionStage<Void> recordUsageSoon(UsageNote note) {
        recordUsage(note);
        return KEPT;
    }

    @Override
    public void recordUsage(UsageNote note) {
        changes.run(tx -> {
            keep(tx, note, null, 0);
            return null;
        });
    }

    @Override
    public long available(String subscriber, UnitType unit, Long ratingGroup) {
        return inTransaction(tx -> SqlRules.available(tx, subscriber, unit, ratingGroup));
    }

    @Override
    public int releaseExpired(Instant now) {
        if (System.nanoTime() - lastKeyPurge > ChangeKeys.PURGE_INTERVAL_NANOS) {
            lastKeyPurge = System.nanoTime();
            int forgotten = inTransaction(tx -> ChangeKeys.purge(tx, now));
            log.debug("Forgot {} change keys past their retention", forgotten);
        }
        return inTransaction(tx -> SqlRules.releaseExpired(tx, now));
    }

    @Override
    <T> T commit(GroupCommit.Work<T> work) {
        return changes.run(work);
    }

    @Override
    void closeCharging() {
        changes.close();
    }

    @Override
    public void answerDeadline(java.time.Duration d) {
        changes.deadline(d);
    }
}
