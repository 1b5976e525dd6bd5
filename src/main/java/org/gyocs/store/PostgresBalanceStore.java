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
        // with the request's change when it has one open (GroupCommit#together): a CCR-T's end
        // of record in the commit of its settlement
        java.util.concurrent.CompletableFuture<Object> withIt = changes.withOpen(alone(end), end);
        return (withIt != null ? withIt : changes.submit(alone(end), end)).thenApply(result -> null);
    }

    /**
     * A change on PostgreSQL: always through PostgresChangeBatch, alone or with the others of its
     * group commit, which makes it at most once per change key.
     */
    @SuppressWarnings("unchecked")
    private <T> T onPostgres(PgChange change) {
        // alone (in a batch with a change that has no description: a refund) it is one call of its
        // own; in a request's scope (GroupCommit#together) its result comes before its commit
        Object result = changes.runEarly(alone(change), change);
        if (result == MOVED) {
            throw new org.gyocs.core.SharedSessions.SessionMoved(change.session().sessionId);
        }
        return (T) result;
    }

    /**
     * A refund, in the group commit: it runs first in its batch (GroupCommit#runBatch), before
     * the batch's statements set their short lock wait, so it sets it itself; under the pool's
     * 5 s it held its whole batch past the callers' deadlines behind a row locked elsewhere.
     */
    @Override
    <T> T commit(GroupCommit.Work<T> work) {
        return changes.run(tx -> {
            tx.prepare("SELECT set_config('lock_timeout', '" + PostgresChangeBatch.LOCK_WAIT + "', true)").execute();
            return work.run(tx);
        });
    }

    /** What the batch runner does with a description when it runs alone. */
    private static GroupCommit.Work<Object> alone(Object description) {
        return tx -> applyOnPostgres(tx, List.of(description), GroupCommit.Between.NOTHING)[0];
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
     * A session's state written with this thread's open change (GroupCommit#together), or, when
     * it has none, as {@link #onPostgres}: committed before it returns either way, here or at the
     * scope's Together#committed.
     */
    void withOpenChange(GroupCommit.Work<?> alone, Object description) {
        if (changes.withOpen(alone, description) == null) {
            changes.run(alone, description);
        }
    }

    /** A scope in which this thread's changes and what goes with them share a commit (GroupCommit#together). */
    GroupCommit.Together together() {
        return changes.together();
    }

    /**
     * The batch runner on PostgreSQL: every balance change of a group commit in the two
     * statements of PostgresChangeBatch, the second with every usage line and record end and
     * every session state written (in statements of their own when there is no change), every
     * session state read in one SELECT.
     */
    private static Object[] applyOnPostgres(SqlTransaction tx, List<?> descriptions, GroupCommit.Between between)
            throws SQLException {
        List<Object> changes = new java.util.ArrayList<>(descriptions.size());
        List<Integer> changeAt = new java.util.ArrayList<>(descriptions.size());
        List<PostgresSharedSessions.Write> writes = new java.util.ArrayList<>();
        List<Integer> writeAt = new java.util.ArrayList<>();
        List<PostgresSharedSessions.Read> reads = new java.util.ArrayList<>();
        List<Integer> readAt = new java.util.ArrayList<>();
        List<UsageRecords.Kept> lines = new java.util.ArrayList<>();
        for (int i = 0; i < descriptions.size(); i++) {
            Object d = descriptions.get(i);
            if (d instanceof PostgresSharedSessions.Read r) {
                reads.add(r);
                readAt.add(i);
            } else if (d instanceof PostgresSharedSessions.Write) {
                writeAt.add(i);
                written(d, writes, lines);
            } else if (!written(d, writes, lines)) {
                changes.add(d);
                changeAt.add(i);
            }
        }
        Object[] results = new Object[descriptions.size()];
        if (!changes.isEmpty()) { // the usage parts and sessions' states are written with the changes
            PostgresChangeBatch worked = worked(tx, changes);
            place(results, changeAt, results(worked, changes, lines));
            // what the early changes' callers add: their sessions' states, their records' ends
            int own = writes.size();
            for (Object d : between.more(results)) {
                if (!written(d, writes, lines)) {
                    throw new IllegalArgumentException("not something to write with a change: " + d);
                }
            }
            List<List<PostgresSharedSessions.Write>> rounds = PostgresSharedSessions.rounds(writes);
            worked.write(tx, UsageRecords.parts(lines), rounds.isEmpty() ? List.of() : rounds.get(0));
            for (int k = 1; k < rounds.size(); k++) { // another instance of a Session-Id: rare
                PostgresSharedSessions.writeAll(tx, rounds.get(k));
            }
            if (own > 0) {
                place(results, writeAt, PostgresSharedSessions.written(writes.subList(0, own)));
            }
        } else {
            int own = writes.size();
            for (Object d : between.more(results)) { // no change: none early, nothing more
                if (!written(d, writes, lines)) {
                    throw new IllegalArgumentException("not something to write with a change: " + d);
                }
            }
            UsageRecords.applyAll(tx, lines);
            PostgresSharedSessions.writeAll(tx, writes);
            if (own > 0) {
                place(results, writeAt, PostgresSharedSessions.written(writes.subList(0, own)));
            }
        }
        if (!reads.isEmpty()) {
            place(results, readAt, PostgresSharedSessions.readAll(tx, reads));
        }
        return results;
    }

    /** Adds a session's state or a record's end to what the batch writes; @return false for anything else */
    private static boolean written(Object d, List<PostgresSharedSessions.Write> writes, List<UsageRecords.Kept> lines) {
        if (d instanceof PostgresSharedSessions.Write w) {
            writes.add(w);
            return true;
        }
        if (d instanceof RecordEnd e) {
            UsageRecords.collect(lines, e.note(), null, 0);
            return true;
        }
        return false;
    }

    private static void place(Object[] results, List<Integer> at, Object[] part) {
        for (int k = 0; k < part.length; k++) {
            results[at.get(k)] = part[k];
        }
    }

    /** The batch's balance changes locked, read and worked out (PostgresChangeBatch), not yet written. */
    private static PostgresChangeBatch worked(SqlTransaction tx, List<?> descriptions) throws SQLException {
        List<PostgresChangeBatch.Change> batch = new java.util.ArrayList<>(descriptions.size());
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
        return PostgresChangeBatch.make(tx, batch, Timestamp.from(Instant.now()));
    }

    /**
     * What each change made, as its caller takes it; the usage parts of the changes made now go
     * to {@code lines} (not those of a change key already recorded: their lines were kept then),
     * written with the batch's changes and the sessions' states in its second statement.
     */
    private static Object[] results(PostgresChangeBatch worked, List<?> descriptions, List<UsageRecords.Kept> lines) {
        PostgresChangeBatch.Result[] made = worked.results();
        Object[] results = new Object[descriptions.size()];
        for (int i = 0; i < results.length; i++) {
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
        return results;
    }

}
