package org.gyocs.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The balance store on PostgreSQL, shared by several nodes: each change is one call of a
 * function (db/postgresql), and the changes of a group commit go in one call of ocs_apply: one
 * network round trip instead of three or four, which were most of the store's cost there (a
 * committer spent twice as long in the kernel as in Java). Reads, refunds, expiry and
 * administration are the portable SQL of its base.
 */
final class PostgresBalanceStore extends SqlBalanceStore {

    PostgresBalanceStore(HikariDataSource dataSource, DataSource committerConnections, String description,
                         int committers) {
        super(dataSource, committerConnections, description, committers, false, null,
                PostgresBalanceStore::applyOnPostgres);
    }

    /** Sessions in the store (db/postgresql/V13): any node of the store answers any session. */
    @Override
    public org.gyocs.core.SharedSessions sharedSessions(String node, java.time.Duration nodeTimeout) {
        return new PostgresSharedSessions(this, node, nodeTimeout);
    }

    @Override
    public Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key,
                               Instant expires, String changeKey) {
        requireAmount("reservation", amount);
        return onPostgres(new PgChange(PgChange.RESERVE, subscriber, unit, ratingGroup, amount, 0, key, expires,
                changeKey, null, PostgresSharedSessions.expectedByThisChange()));
    }

    @Override
    public long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey,
                       UsageNote note) {
        requireAmount("usage", used);
        return onPostgres(new PgChange(PgChange.SETTLE, subscriber, unit, ratingGroup, 0, used, key, null, changeKey,
                note, PostgresSharedSessions.expectedByThisChange()));
    }

    @Override
    public Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                       long amount, Instant expires, String changeKey, UsageNote note) {
        requireAmount("usage", used);
        requireAmount("reservation", amount);
        return onPostgres(new PgChange(PgChange.SETTLE_AND_RESERVE, subscriber, unit, ratingGroup, amount, used, key,
                expires, changeKey, note, PostgresSharedSessions.expectedByThisChange()));
    }

    @Override
    public void release(String key) {
        onPostgres(new PgChange(PgChange.RELEASE, null, null, null, 0, 0, key, null, null, null,
                PostgresSharedSessions.expectedByThisChange()));
    }

    @Override
    public long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                      UsageNote note) {
        requireAmount("debit", amount);
        return onPostgres(new PgChange(PgChange.DEBIT, subscriber, unit, ratingGroup, amount, 0, null, null, changeKey,
                note, PostgresSharedSessions.expectedByThisChange()));
    }

    /** A record's end (a CCR-T's, an event's): with the lines of its group commit, in their one statement. */
    @Override
    public void recordUsage(UsageNote note) {
        RecordEnd end = new RecordEnd(note);
        changes.run(alone(end), end);
    }

    /**
     * Not waited for: the end rides with the next group commit (its lines are kept already,
     * with their debits), so that a CCR-T waits for its settlement's commit alone. A node
     * stopping commits it first; one killed before that commit leaves the record open, as when
     * the store fails here.
     */
    @Override
    public java.util.concurrent.CompletionStage<Void> recordUsageSoon(UsageNote note) {
        RecordEnd end = new RecordEnd(note);
        return changes.submit(alone(end), end).thenApply(result -> null);
    }

    /**
     * A change on PostgreSQL: always through ocs_apply (db/postgresql/V14; V15 plans it), alone or with the
     * others of its group commit, which makes it at most once per change key.
     */
    @SuppressWarnings("unchecked")
    private <T> T onPostgres(PgChange change) {
        // alone (in a batch with a change that has no description: a refund) it is one call of its own
        Object result = changes.run(alone(change), change);
        if (result == MOVED) {
            throw new org.gyocs.core.SharedSessions.SessionMoved(change.session().sessionId);
        }
        return (T) result;
    }

    /** What the batch runner does with a description when it runs alone. */
    private static GroupCommit.Work<Object> alone(Object description) {
        return tx -> applyOnPostgres(tx, List.of(description))[0];
    }

    /** The result of a change not made: its session was saved by another node since (V14). */
    private static final Object MOVED = new Object();

    /**
     * A balance change as ocs_apply takes it (db/postgresql/V14), to run with others in one call;
     * its usage note (or null) is kept with what the change made, in the same transaction; what
     * it assumes of its session (or null) is checked before it is made.
     */
    private record PgChange(int kind, String subscriber, UnitType unit, Long ratingGroup, long amount, long used,
                            String key, Instant expires, String changeKey, UsageNote note,
                            PostgresSharedSessions.Expected session) {
        static final int RESERVE = 1;
        static final int SETTLE = 2;
        static final int RELEASE = 3;
        static final int DEBIT = 4;
        static final int SETTLE_AND_RESERVE = 5;
    }

    /** A usage record's note without a balance change (its end), as the batch runner takes it. */
    private record RecordEnd(UsageNote note) {
    }

    /**
     * A session's state read or written in the group commit (PostgresSharedSessions), so that a
     * batch's sessions are one statement each way, beside its one call of ocs_apply.
     */
    <T> T onPostgres(GroupCommit.Work<T> alone, Object description) {
        return changes.run(alone, description);
    }

    /**
     * The batch runner on PostgreSQL: every balance change of a group commit in one call of
     * ocs_apply, every usage line and record end in one batched INSERT, every session state read
     * in one SELECT, every one written in one INSERT.
     */
    private static Object[] applyOnPostgres(SqlTransaction tx, List<?> descriptions) throws SQLException {
        List<Object> changes = new java.util.ArrayList<>(descriptions.size());
        List<Integer> changeAt = new java.util.ArrayList<>(descriptions.size());
        List<PostgresSharedSessions.Write> writes = new java.util.ArrayList<>();
        List<Integer> writeAt = new java.util.ArrayList<>();
        List<PostgresSharedSessions.Read> reads = new java.util.ArrayList<>();
        List<Integer> readAt = new java.util.ArrayList<>();
        List<UsageRecords.Kept> lines = new java.util.ArrayList<>();
        for (int i = 0; i < descriptions.size(); i++) {
            Object d = descriptions.get(i);
            if (d instanceof PostgresSharedSessions.Write w) {
                writes.add(w);
                writeAt.add(i);
            } else if (d instanceof PostgresSharedSessions.Read r) {
                reads.add(r);
                readAt.add(i);
            } else if (d instanceof RecordEnd e) {
                UsageRecords.collect(lines, e.note(), null, 0);
            } else {
                changes.add(d);
                changeAt.add(i);
            }
        }
        Object[] results = new Object[descriptions.size()];
        if (!changes.isEmpty()) {
            place(results, changeAt, applyChanges(tx, changes, lines));
        }
        UsageRecords.applyAll(tx, lines);
        if (!writes.isEmpty()) {
            place(results, writeAt, PostgresSharedSessions.writeAll(tx, writes));
        }
        if (!reads.isEmpty()) {
            place(results, readAt, PostgresSharedSessions.readAll(tx, reads));
        }
        return results;
    }

    private static void place(Object[] results, List<Integer> at, Object[] part) {
        for (int k = 0; k < part.length; k++) {
            results[at.get(k)] = part[k];
        }
    }

    /**
     * Balance changes in one call of ocs_apply; the usage notes of those it made now (not those
     * of a change key already recorded: their lines were kept then) added to {@code lines}.
     */
    private static Object[] applyChanges(SqlTransaction tx, List<?> descriptions, List<UsageRecords.Kept> lines)
            throws SQLException {
        int n = descriptions.size();
        Integer[] kind = new Integer[n];
        String[] subscriber = new String[n];
        String[] unit = new String[n];
        Long[] ratingGroup = new Long[n];
        Long[] amount = new Long[n];
        Long[] used = new Long[n];
        String[] key = new String[n];
        Timestamp[] expires = new Timestamp[n];
        String[] changeKey = new String[n];
        String[] session = new String[n];
        String[] instance = new String[n];
        Long[] known = new Long[n];
        String[] node = new String[n];
        for (int i = 0; i < n; i++) {
            PgChange c = (PgChange) descriptions.get(i);
            kind[i] = c.kind();
            subscriber[i] = c.subscriber();
            unit[i] = c.unit() == null ? null : Bucket.unitName(c.unit());
            ratingGroup[i] = c.ratingGroup();
            amount[i] = c.amount();
            used[i] = c.used();
            key[i] = c.key();
            expires[i] = c.expires() == null ? null : Timestamp.from(c.expires());
            changeKey[i] = c.changeKey() == null ? null : ChangeKeys.hex(c.changeKey());
            if (c.session() != null) {
                session[i] = c.session().sessionId;
                instance[i] = c.session().instance;
                known[i] = c.session().lastNumber;
                node[i] = c.session().node;
            }
        }
        Connection c = tx.connection();
        PreparedStatement s = tx.prepare("SELECT n, a, b, c, fresh FROM ocs_apply(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.setArray(1, c.createArrayOf("integer", kind));
        s.setArray(2, c.createArrayOf("varchar", subscriber));
        s.setArray(3, c.createArrayOf("varchar", unit));
        s.setArray(4, c.createArrayOf("bigint", ratingGroup));
        s.setArray(5, c.createArrayOf("bigint", amount));
        s.setArray(6, c.createArrayOf("bigint", used));
        s.setArray(7, c.createArrayOf("varchar", key));
        s.setArray(8, c.createArrayOf("timestamp", expires));
        s.setArray(9, c.createArrayOf("varchar", changeKey));
        s.setTimestamp(10, Timestamp.from(Instant.now()));
        s.setArray(11, c.createArrayOf("varchar", session));
        s.setArray(12, c.createArrayOf("varchar", instance));
        s.setArray(13, c.createArrayOf("bigint", known));
        s.setArray(14, c.createArrayOf("varchar", node));
        Object[] results = new Object[n];
        int rows = 0;
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                int i = rs.getInt(1) - 1;
                long a = rs.getLong(2);
                boolean fresh = rs.getBoolean(5);
                if (rs.wasNull()) {
                    results[i] = MOVED;
                    rows++;
                    continue;
                }
                results[i] = switch (kind[i]) {
                    case PgChange.RESERVE, PgChange.SETTLE_AND_RESERVE -> new Reservation(a, rs.getLong(3));
                    case PgChange.RELEASE -> null;
                    default -> a;
                };
                PgChange change = (PgChange) descriptions.get(i);
                if (fresh) {
                    UsageRecords.collect(lines, change.note(), change.unit(), rs.getLong(4));
                }
                rows++;
            }
        }
        if (rows != n) {
            throw new SQLException("ocs_apply answered " + rows + " of " + n + " changes");
        }
        return results;
    }

}
