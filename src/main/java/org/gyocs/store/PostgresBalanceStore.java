package org.gyocs.store;

import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The balance store on PostgreSQL, shared by several nodes: the changes of a group commit are
 * read, worked out and written in two statements (PostgresChangeBatch), not a round trip or a
 * function call per change, which were most of the store's cost (a committer spent twice as long
 * in the kernel as in Java; PostgreSQL, most of its time starting ocs_apply's statements).
 * Reads, refunds, expiry and administration are the portable SQL of its base.
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
     * A change on PostgreSQL: always through PostgresChangeBatch, alone or with the others of its
     * group commit, which makes it at most once per change key.
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
     * A balance change as PostgresChangeBatch takes it, to run with the others of its batch;
     * its usage note (or null) is kept with what the change made, in the same transaction; what
     * it assumes of its session (or null) is checked before it is made.
     */
    private record PgChange(int kind, String subscriber, UnitType unit, Long ratingGroup, long amount, long used,
                            String key, Instant expires, String changeKey, UsageNote note,
                            PostgresSharedSessions.Expected session) {
        static final int RESERVE = PostgresChangeBatch.RESERVE;
        static final int SETTLE = PostgresChangeBatch.SETTLE;
        static final int RELEASE = PostgresChangeBatch.RELEASE;
        static final int DEBIT = PostgresChangeBatch.DEBIT;
        static final int SETTLE_AND_RESERVE = PostgresChangeBatch.SETTLE_AND_RESERVE;
    }

    /** A usage record's note without a balance change (its end), as the batch runner takes it. */
    private record RecordEnd(UsageNote note) {
    }

    /**
     * A session's state read or written in the group commit (PostgresSharedSessions), so that a
     * batch's sessions are one statement each way, beside the two of its balance changes.
     */
    <T> T onPostgres(GroupCommit.Work<T> alone, Object description) {
        return changes.run(alone, description);
    }

    /**
     * The batch runner on PostgreSQL: every balance change of a group commit in the two
     * statements of PostgresChangeBatch, the second with every usage line and record end and
     * every session state written (in statements of their own when there is no change), every
     * session state read in one SELECT.
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
        if (!changes.isEmpty()) { // the usage parts and sessions' states are written with the changes
            List<List<PostgresSharedSessions.Write>> rounds = PostgresSharedSessions.rounds(writes);
            place(results, changeAt, applyChanges(tx, changes, lines, rounds.isEmpty() ? List.of() : rounds.get(0)));
            for (int k = 1; k < rounds.size(); k++) { // another instance of a Session-Id: rare
                PostgresSharedSessions.writeAll(tx, rounds.get(k));
            }
        } else {
            UsageRecords.applyAll(tx, lines);
            PostgresSharedSessions.writeAll(tx, writes);
        }
        if (!writes.isEmpty()) {
            place(results, writeAt, PostgresSharedSessions.written(writes));
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
     * Balance changes in two statements (PostgresChangeBatch), the second with the sessions'
     * states and the usage parts of {@code lines} (the record ends of the batch) and of the
     * changes made now (not those of a change key already recorded: their lines were kept then).
     */
    private static Object[] applyChanges(SqlTransaction tx, List<?> descriptions, List<UsageRecords.Kept> lines,
                                         List<PostgresSharedSessions.Write> sessions) throws SQLException {
        int n = descriptions.size();
        List<PostgresChangeBatch.Change> batch = new java.util.ArrayList<>(n);
        for (Object d : descriptions) {
            PgChange c = (PgChange) d;
            PostgresSharedSessions.Expected session = c.session();
            batch.add(new PostgresChangeBatch.Change(c.kind(), c.subscriber(),
                    c.unit() == null ? null : Bucket.unitName(c.unit()), c.ratingGroup(), c.amount(), c.used(), c.key(),
                    c.expires() == null ? null : Timestamp.from(c.expires()),
                    c.changeKey() == null ? null : ChangeKeys.hex(c.changeKey()),
                    session == null ? null : session.sessionId, session == null ? null : session.instance,
                    session == null ? null : session.lastNumber, session == null ? null : session.node));
        }
        PostgresChangeBatch worked = PostgresChangeBatch.make(tx, batch, Timestamp.from(Instant.now()));
        PostgresChangeBatch.Result[] made = worked.results();
        Object[] results = new Object[n];
        for (int i = 0; i < n; i++) {
            PostgresChangeBatch.Result r = made[i];
            if (r.moved()) {
                results[i] = MOVED;
                continue;
            }
            PgChange change = (PgChange) descriptions.get(i);
            results[i] = switch (change.kind()) {
                case PgChange.RESERVE, PgChange.SETTLE_AND_RESERVE -> new Reservation(r.a(), r.b());
                case PgChange.RELEASE -> null;
                default -> r.a();
            };
            if (r.fresh()) {
                UsageRecords.collect(lines, change.note(), change.unit(), r.c());
            }
        }
        worked.write(tx, UsageRecords.parts(lines), sessions);
        return results;
    }

}
