package org.gyocs.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Group commit: the balance changes that callers ask for at about the same time run in one
 * transaction and share its commit, and each caller returns only once that commit is done, so
 * every acknowledged debit is still durable. A commit is the expensive part of a change
 * (PostgreSQL flushes its WAL at each one): measured with 100,000 provisioned subscribers, a
 * commit per change held the node to about 3,500 CCR/s. (The node's embedded store charges in
 * memory instead: MemoryBalances.)
 *
 * <p>Each piece of work must be a function of the database state and its arguments alone, since
 * it may run twice: when a batch fails, it is rolled back and every piece runs again in its own
 * transaction, so that one bad piece fails alone. A deadlock or serialization failure (SQLState
 * 40xxx, possible when several nodes share PostgreSQL) retries the whole batch first. Not an
 * early piece whose caller already has its result (#runEarly): it cannot run again, and fails
 * with its batch when the batch fails in its write or commit (rare: every row was locked and
 * read before; a session's state refused, a connection lost).
 *
 * <p>No caller waits past its deadline: it then gets a StoreException (the transport answers
 * 5012), and its piece is dropped if it has not started. A piece that finds a row locked
 * elsewhere (PostgreSQL's lock_timeout of ocs_apply is short, SQLState 55P03: a transaction left
 * open in psql, another node) does not hold up the others of its batch: it is tried again alone,
 * later, until its deadline. An audit saw a lock on one subscriber delay 18 of 20 debits of
 * another by 5 to 11 s.
 */
final class GroupCommit implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(GroupCommit.class);
    /** Pieces of work per transaction at most: bounds the time its row locks are held. */
    static final int MAX_BATCH = 128;
    private static final int BATCH_ATTEMPTS = 3;

    @FunctionalInterface
    interface Work<T> {
        T run(SqlTransaction tx) throws SQLException;
    }

    /**
     * Runs a whole batch in one statement, when every piece of it has a description that
     * statement takes (PostgreSQL: one round trip for the batch instead of one per piece).
     */
    @FunctionalInterface
    interface BatchRunner {
        /**
         * @param between called once the pieces' results are worked out and before anything is
         *                written: what it returns is written with them
         * @return the result of each piece, in order
         */
        Object[] run(SqlTransaction.Kept tx, List<Object> descriptions, Between between) throws SQLException;
    }

    /** What a batch runner calls between working its pieces out and writing them. */
    @FunctionalInterface
    interface Between {
        /**
         * @param results the described pieces' results, in order
         * @return more descriptions to write in the same statement (sessions' states, records' ends)
         */
        List<Object> more(Object[] results);

        Between NOTHING = results -> List.of();
    }

    private record Pending<T>(Work<T> work, Object description, CompletableFuture<T> done, long deadline,
                              Early early) {
        void complete(Object result) {
            @SuppressWarnings("unchecked")
            T t = (T) result;
            done.complete(t);
        }

        /** An early piece whose caller has its result: it cannot run again, whatever fails now. */
        boolean delivered() {
            return early != null && early.made.isDone();
        }
    }

    /**
     * A piece whose caller gets its result before the commit (#runEarly): what it then wants
     * written in the same transaction comes back in {@code withIt}, completed by the caller, or
     * empty by a committer that waited for it long enough (#withItWaitNanos).
     */
    private static final class Early {
        final CompletableFuture<Object> made = new CompletableFuture<>();
        final CompletableFuture<List<WithIt>> withIt = new CompletableFuture<>();
    }

    /** Something to write with an early piece, and its commit. */
    private record WithIt(Work<?> work, Object description, CompletableFuture<Object> done) {
    }

    /**
     * How long a batch waits for its early pieces' callers to say what goes with them, holding
     * its rows' locks: under the 100 ms another batch waits for a locked row (PostgresChangeBatch)
     * before its changes run alone, and never past the earliest deadline of the batch's pieces
     * (less {@link #WRITE_MARGIN_NANOS}), whose caller would then be answered 5012 and the batch
     * rolled back, with every early piece. Between its result and that, a caller works out its
     * answer and makes no other store call (any hands over first): it waits for nothing but a
     * processor, a fraction of a millisecond (its first session's state took Jackson 90 ms). A
     * caller later than that has its additions committed after its piece, in a transaction of
     * their own, before it answers. Tests that need the one commit whatever the machine's load
     * set {@code -Dgyocs.store.additionsWaitMillis}.
     */
    private volatile long withItWaitNanos = TimeUnit.MILLISECONDS.toNanos(
            Long.getLong("gyocs.store.additionsWaitMillis", 50));
    /** What a batch keeps of its earliest deadline for its write and commit. */
    static final long WRITE_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** A piece that found a row locked: tried again alone at {@code at} (System.nanoTime). */
    private record Retry(Pending<?> pending, long at, int attempt) implements java.util.concurrent.Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(at - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(java.util.concurrent.Delayed o) {
            return Long.compare(at, ((Retry) o).at);
        }
    }

    /** How long a caller waits for its change at most, unless told otherwise. */
    static final long DEFAULT_DEADLINE_MILLIS = 3_000;
    private volatile long deadlineNanos = TimeUnit.MILLISECONDS.toNanos(DEFAULT_DEADLINE_MILLIS);
    private final java.util.concurrent.DelayQueue<Retry> retries = new java.util.concurrent.DelayQueue<>();

    private final DataSource dataSource;
    private final BatchRunner batchRunner;
    private final BlockingQueue<Pending<?>> queue = new LinkedBlockingQueue<>();
    private final List<Thread> committers = new ArrayList<>();
    /** Committers still in their loop: the last one out fails what is left (another may queue a retry still). */
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    /**
     * @param committers transactions in flight at once: 1 for an embedded database, whose commits
     *                   are serial anyway; more for a server, to overlap the round trips
     */
    GroupCommit(DataSource dataSource, int committers, String name) {
        this(dataSource, committers, name, null);
    }

    /** @param batchRunner runs a batch of described pieces in one statement, or null */
    GroupCommit(DataSource dataSource, int committers, String name, BatchRunner batchRunner) {
        this.dataSource = dataSource;
        this.batchRunner = batchRunner;
        running.set(committers);
        for (int i = 0; i < committers; i++) {
            Thread t = new Thread(this::commitLoop, name + "-commit-" + i);
            t.setDaemon(true);
            this.committers.add(t);
            t.start();
        }
    }

    /** Runs work in a shared transaction and returns once it is committed. */
    <T> T run(Work<T> work) {
        return run(work, null);
    }

    /**
     * The same, with a description of the work that the batch runner takes: a batch whose
     * pieces all have one runs as one statement; alone, or after a failure, the work runs.
     */
    <T> T run(Work<T> work, Object description) {
        committedFirst();
        if (closed) {
            throw new StoreException("Balance store is closed");
        }
        long wait = deadlineNanos;
        Pending<T> p = new Pending<>(work, description, new CompletableFuture<>(), System.nanoTime() + wait, null);
        enqueue(p);
        return await(p, p.done, wait);
    }

    /**
     * Waits for a piece's result (its commit, or an early piece's working out), no longer than
     * {@code wait}; then its caller gets a StoreException, and the piece is dropped if it has not
     * started, or rolled back if it has not committed.
     */
    private <T, R> R await(Pending<T> p, CompletableFuture<R> result, long wait) {
        try {
            return result.get(wait, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            StoreException late = tooLate();
            p.done.completeExceptionally(late); // a committer that has not started it drops it
            queue.remove(p);
            if (p.early != null) {
                p.early.withIt.complete(List.of()); // its batch waits for no additions
            }
            if (result != p.done) {
                throw late; // an early piece: its result may be there, but not its commit
            }
            try {
                return result.getNow(null); // it finished meanwhile after all
            } catch (java.util.concurrent.CompletionException done) {
                throw late;
            }
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // the caller is gone (its node stops): the change is dropped if it has not started
            StoreException gone = new StoreException("Interrupted while waiting for the balance store", e);
            p.done.completeExceptionally(gone);
            queue.remove(p);
            if (p.early != null) {
                p.early.withIt.complete(List.of());
            }
            throw gone;
        }
    }

    /** What a caller past its deadline is told. */
    private StoreException tooLate() {
        return new StoreException("The balance store did not answer within "
                + TimeUnit.NANOSECONDS.toMillis(deadlineNanos) + " ms");
    }

    /** A failure as its caller gets it: a StoreException as it is, anything else in one. */
    private static StoreException storeFailure(Throwable t) {
        return t instanceof StoreException se ? se : new StoreException("Balance store error: " + t.getMessage(), t);
    }

    /** What a wait that ended in a failure throws: an unchecked one as it was, else a StoreException. */
    private static RuntimeException rethrown(Throwable cause) {
        return cause instanceof RuntimeException re ? re : storeFailure(cause);
    }

    /** This thread's scope of changes committed with what goes with them (#together), or null. */
    private final ThreadLocal<Together> together = new ThreadLocal<>();

    /**
     * Opens, for this thread, a scope in which a described change returns its result before its
     * commit (#runEarly), and what the caller then adds (#withOpen) is written in the same
     * transaction: a request's balance change and its session's state, one commit instead of two
     * in a row. The caller learns of that commit from Together#committed.
     */
    Together together() {
        Together t = new Together();
        together.set(t);
        return t;
    }

    /** The scope of {@link #together}: at most one early piece open at a time (the core's SharedSessions#together). */
    final class Together implements org.gyocs.core.SharedSessions.Together {
        private Pending<?> open;
        private final List<WithIt> withIt = new ArrayList<>();

        /**
         * Hands the open piece what goes with it and waits for their commit.
         *
         * @throws StoreException when it did not commit: the results the caller had from it
         *                        were never kept
         */
        @Override
        public void committed() {
            Pending<?> p = open;
            HandedOver h = handOver();
            if (h == null) {
                return;
            }
            List<WithIt> more = h.more();
            boolean handed = h.taken();
            try {
                await(p, p.done, Math.max(0, p.deadline() - System.nanoTime()));
            } catch (RuntimeException e) {
                more.forEach(w -> w.done().completeExceptionally(e));
                throw e;
            }
            if (!handed && !more.isEmpty()) {
                // its batch did not wait for them: committed after it, within its deadline; a
                // failure fails the request as the piece's would (its change stands, under its key)
                List<CompletableFuture<Object>> submitted = new ArrayList<>();
                more.forEach(w -> submitted.add(submitAfter(w)));
                CompletableFuture<?>[] all = more.stream().map(WithIt::done).toArray(CompletableFuture[]::new);
                try {
                    CompletableFuture.allOf(all).get(Math.max(0, p.deadline() - System.nanoTime()),
                            TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    StoreException late = tooLate();
                    // not kept after this answer: dropped if not started, rolled back if not committed
                    submitted.forEach(f -> f.completeExceptionally(late));
                    throw late;
                } catch (ExecutionException e) {
                    throw rethrown(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StoreException("Interrupted while waiting for the balance store", e);
                }
            }
        }

        /** Ends the scope; an open piece is handed what goes with it, and commits without being waited for. */
        @Override
        public void close() {
            together.remove();
            Pending<?> p = open;
            HandedOver h = handOver();
            if (h != null && !h.taken()) { // after its piece, and only if it committed
                List<WithIt> more = h.more();
                p.done.whenComplete((r, e) -> {
                    for (WithIt w : more) {
                        if (e != null) {
                            w.done().completeExceptionally(e);
                        } else {
                            submitAfter(w);
                        }
                    }
                });
            }
        }

        /** What went with the open piece, and whether its batch took it (else it committed without). */
        private record HandedOver(List<WithIt> more, boolean taken) {
        }

        /** Hands the open piece what goes with it and closes it; null when none was open. */
        private HandedOver handOver() {
            Pending<?> p = open;
            if (p == null) {
                return null;
            }
            open = null;
            List<WithIt> more = List.copyOf(withIt);
            withIt.clear();
            return new HandedOver(more, p.early.withIt.complete(more));
        }

        /** @return the submitted piece's own future (w's completes with it) */
        @SuppressWarnings("unchecked")
        private CompletableFuture<Object> submitAfter(WithIt w) {
            try {
                CompletableFuture<Object> f = submit((Work<Object>) w.work(), w.description());
                f.whenComplete((r, e) -> {
                    if (e != null) {
                        w.done().completeExceptionally(e);
                    } else {
                        w.done().complete(r);
                    }
                });
                return f;
            } catch (RuntimeException e) {
                w.done().completeExceptionally(e);
                return CompletableFuture.failedFuture(e);
            }
        }
    }

    /**
     * This thread's early piece, committed (its additions with it) before anything else of the
     * store is done on this thread: its batch waits for it.
     */
    void committedFirst() {
        Together t = together.get();
        if (t != null) {
            t.committed();
        }
    }

    /**
     * A described change whose result returns once worked out, before its commit, when this
     * thread has a scope open (#together): what it then adds (#withOpen) shares the commit, which
     * it waits for at Together#committed, or at its next change. Without a scope, {@link #run}.
     */
    <T> T runEarly(Work<T> work, Object description) {
        Together t = together.get();
        if (t == null || batchRunner == null || description == null) {
            return run(work, description);
        }
        t.committed(); // the change before it: committed first
        if (closed) {
            throw new StoreException("Balance store is closed");
        }
        long wait = deadlineNanos;
        Pending<T> p = new Pending<>(work, description, new CompletableFuture<>(), System.nanoTime() + wait,
                new Early());
        // a piece that fails before its result (a lost connection, a lock never had) fails its
        // caller at once, not at its deadline
        p.done.whenComplete((r, e) -> {
            if (e != null) {
                p.early.made.completeExceptionally(e);
            }
        });
        enqueue(p);
        Object made = await(p, p.early.made, wait);
        t.open = p;
        @SuppressWarnings("unchecked")
        T result = (T) made;
        return result;
    }

    /**
     * Writes a description with this thread's open early piece, in its transaction.
     *
     * @return completed once committed; null when there is no open piece (the caller runs it as usual)
     */
    CompletableFuture<Object> withOpen(Work<?> work, Object description) {
        Together t = together.get();
        if (t == null || t.open == null) {
            return null;
        }
        WithIt w = new WithIt(work, description, new CompletableFuture<>());
        t.withIt.add(w);
        return w.done();
    }

    /**
     * Queues work that no caller waits for: it shares the next commit (or is run alone after a
     * failure, as any piece). For what may be kept a moment after its caller goes on (a usage
     * record's end), so that the caller waits for one commit, not two.
     *
     * @return completed once committed, or exceptionally with why it was not: for the submitter
     *         to log and count, since nobody else hears of it
     */
    <T> CompletableFuture<T> submit(Work<T> work, Object description) {
        committedFirst();
        if (closed) {
            throw new StoreException("Balance store is closed");
        }
        CompletableFuture<T> done = new CompletableFuture<>();
        enqueue(new Pending<>(work, description, done, System.nanoTime() + deadlineNanos, null));
        return done;
    }

    private void enqueue(Pending<?> p) {
        queue.add(p);
        if (closed && queue.remove(p)) {
            // closed between the caller's check and the add, maybe after the committers' last
            // look at the queue: nobody would ever run it
            throw new StoreException("Balance store is closed");
        }
    }

    /** How long a batch waits for its early pieces' additions (tests: longer, or shorter, than a caller takes). */
    void withItWait(java.time.Duration d) {
        withItWaitNanos = d.toNanos();
    }

    /** The longest a caller waits for its change (configuration: answer-deadline). */
    void deadline(java.time.Duration d) {
        deadlineNanos = d.toNanos();
    }

    private void commitLoop() {
        List<Pending<?>> batch = new ArrayList<>(MAX_BATCH);
        SqlTransaction.Kept session = null;
        // a stop finishes what is queued, and what waits to be tried again for a locked row
        // until its deadline: a record's end that nobody waits for would otherwise be lost
        while (!closed || !queue.isEmpty() || !retries.isEmpty()) {
            try {
                for (Retry r; (r = retries.poll()) != null; ) {
                    tryAgainAlone(r);
                }
                Pending<?> first = queue.poll(20, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                batch.removeIf(p -> p.done().isDone()); // its caller gave up before it started
                if (batch.isEmpty()) {
                    continue;
                }
                if (session == null) {
                    session = new SqlTransaction.Kept(dataSource.getConnection());
                }
                if (commit(session, batch) != null) {
                    session.close();
                    session = null;
                    runAlone(batch);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (SQLException | RuntimeException | Error e) {
                // never leave a caller waiting: whatever went wrong is its answer
                log.error("Group commit failed: {}", e.toString(), e);
                StoreException failed = storeFailure(e);
                batch.forEach(p -> p.done.completeExceptionally(failed));
            } finally {
                batch.clear();
            }
        }
        if (session != null) {
            session.close();
        }
        if (running.decrementAndGet() > 0) {
            return; // another committer is still at work: it may have just queued a retry
        }
        StoreException gone = new StoreException("Balance store is closed");
        for (Pending<?> p; (p = queue.poll()) != null; ) {
            p.done.completeExceptionally(gone);
        }
        for (Object r : retries.toArray()) {
            ((Retry) r).pending().done.completeExceptionally(gone);
        }
        retries.clear();
    }

    /** A piece whose row was locked, alone again; again later (backing off) until its deadline. */
    private void tryAgainAlone(Retry r) {
        Pending<?> p = r.pending();
        if (p.done().isDone()) {
            return;
        }
        Exception failure;
        try (SqlTransaction.Kept alone = new SqlTransaction.Kept(dataSource.getConnection())) {
            failure = commit(alone, new ArrayList<>(List.of(p)));
        } catch (SQLException e) {
            failure = e;
        }
        if (failure != null) {
            failed(p, failure, r.attempt() + 1);
        }
    }

    /** A piece that failed alone: tried again later when a row was locked and time is left, else its answer. */
    private void failed(Pending<?> p, Exception failure, int attempt) {
        long backoff = TimeUnit.MILLISECONDS.toNanos(Math.min(400, 25L << Math.min(attempt, 4)));
        if (failure instanceof SQLException e && JdbcBalanceStore.lockNotAvailable(e)
                && System.nanoTime() + backoff < p.deadline()) {
            retries.add(new Retry(p, System.nanoTime() + backoff, attempt));
            return;
        }
        p.done.completeExceptionally(storeFailure(failure));
    }

    /** @return null when committed, else why the batch failed (rolled back: run it piece by piece) */
    private Exception commit(SqlTransaction.Kept session, List<Pending<?>> batch) {
        Connection c = session.connection();
        Exception failure = null;
        for (int attempt = 1; attempt <= BATCH_ATTEMPTS; attempt++) {
            Object[] results;
            List<WithIt> attached = new ArrayList<>();
            try {
                results = runBatch(session, batch, attached);
                if (batch.stream().anyMatch(p -> p.done().isDone())) {
                    // a caller was answered 5012 at its deadline meanwhile: its change must not
                    // stand; the others run again as a batch, without it
                    if (!rolledBack(c)) {
                        return failedAfterResults(batch, attached,
                                new StoreException("cannot roll back a batch with a change past its deadline"));
                    }
                    failedAfterResults(batch, attached, new StoreException(
                            "The balance store rolled back a change whose caller had its result"));
                    batch.removeIf(p -> p.done().isDone());
                    if (batch.isEmpty()) {
                        return null;
                    }
                    attempt--;
                    continue;
                }
                c.commit();
            } catch (SQLException e) {
                boolean rolledBack = rolledBack(c);
                failure = failedAfterResults(batch, attached, e);
                if (!rolledBack || !JdbcBalanceStore.retryable(e)) {
                    return e;
                }
                batch.removeIf(p -> p.done().isDone());
                if (batch.isEmpty()) {
                    return null;
                }
                pause(attempt);
                continue;
            } catch (RuntimeException e) {
                rolledBack(c);
                return failedAfterResults(batch, attached, e);
            }
            attached.forEach(w -> w.done().complete(null)); // before their callers go on
            complete(batch, results);
            return null;
        }
        return failure;
    }

    /**
     * A batch that did not commit: its early pieces whose callers had their results fail with it
     * (they cannot run again: a second working out may differ from what was answered), and what
     * was to be written with them.
     *
     * @return the failure
     */
    private static <E extends Exception> E failedAfterResults(List<Pending<?>> batch, List<WithIt> attached,
                                                              E failure) {
        StoreException failed = storeFailure(failure);
        for (Pending<?> p : batch) {
            if (p.delivered()) {
                p.done().completeExceptionally(failed);
            }
        }
        attached.forEach(w -> w.done().completeExceptionally(failed));
        attached.clear();
        return failure;
    }

    /**
     * @param attached filled with what the early pieces' callers add, which the batch runner
     *                 writes with them
     */
    private Object[] runBatch(SqlTransaction.Kept session, List<Pending<?>> batch, List<WithIt> attached)
            throws SQLException {
        // a single described piece goes through the batch runner too: on PostgreSQL ocs_apply is
        // where a change is made at most once per change key
        Object[] results = new Object[batch.size()];
        if (batchRunner != null) {
            // the described pieces in one statement, the others (a session's state, a refund)
            // each on its own, all in the one transaction: one piece without a description once
            // sent every change of its batch through a call of its own
            List<Object> descriptions = new ArrayList<>(batch.size());
            List<Integer> described = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                if (batch.get(i).description() != null) {
                    descriptions.add(batch.get(i).description());
                    described.add(i);
                }
            }
            // the others first: once the early pieces have their results, a failure fails them all
            for (int i = 0; i < batch.size(); i++) {
                if (batch.get(i).description() == null) {
                    results[i] = batch.get(i).work().run(session);
                }
            }
            if (!descriptions.isEmpty()) {
                Object[] r = batchRunner.run(session, descriptions, made -> withEarlyResults(batch, described, made,
                        attached));
                for (int k = 0; k < r.length; k++) {
                    results[described.get(k)] = r[k];
                }
            }
            return results;
        }
        for (int i = 0; i < batch.size(); i++) {
            results[i] = batch.get(i).work().run(session);
        }
        return results;
    }

    /**
     * Gives the batch's early pieces their results and waits, a bounded time, for what their
     * callers write with them. @return the descriptions of that
     */
    private List<Object> withEarlyResults(List<Pending<?>> batch, List<Integer> described, Object[] made,
                                                 List<WithIt> attached) {
        List<Pending<?>> early = new ArrayList<>();
        for (int k = 0; k < made.length; k++) {
            Pending<?> p = batch.get(described.get(k));
            if (p.early() != null && !p.done().isDone()) {
                p.early().made.complete(made[k]);
                early.add(p);
            }
        }
        if (early.isEmpty()) {
            return List.of();
        }
        long earliest = Long.MAX_VALUE;
        for (Pending<?> p : batch) {
            earliest = Math.min(earliest, p.deadline());
        }
        long until = Math.min(System.nanoTime() + withItWaitNanos, earliest - WRITE_MARGIN_NANOS);
        List<Object> more = new ArrayList<>();
        for (Pending<?> p : early) {
            Early e = p.early();
            try {
                attached.addAll(e.withIt.get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (java.util.concurrent.TimeoutException | ExecutionException late) {
                if (!e.withIt.complete(List.of())) {
                    attached.addAll(e.withIt.getNow(List.of())); // it came just now
                }
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
                if (!e.withIt.complete(List.of())) {
                    attached.addAll(e.withIt.getNow(List.of()));
                }
            }
        }
        attached.forEach(w -> more.add(w.description()));
        return more;
    }

    private static boolean rolledBack(Connection c) {
        try {
            c.rollback();
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    /**
     * After a failed batch: each piece in a transaction of its own (with that transaction's
     * retries), so that a failure is the answer of that piece only.
     */
    private void runAlone(List<Pending<?>> batch) {
        for (Pending<?> p : batch) {
            if (p.done().isDone()) {
                continue; // past its deadline: its caller has its answer
            }
            List<Pending<?>> one = new ArrayList<>(List.of(p));
            Exception failure;
            try (SqlTransaction.Kept alone = new SqlTransaction.Kept(dataSource.getConnection())) {
                failure = commit(alone, one);
            } catch (SQLException e) {
                failure = e;
            }
            if (failure != null) {
                failed(p, failure, 0);
            }
        }
    }

    private static void complete(List<Pending<?>> pieces, Object[] results) {
        for (int i = 0; i < pieces.size(); i++) {
            pieces.get(i).complete(results[i]);
        }
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(attempt * 2L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Finishes what is queued, and what waits for a locked row until its deadline (the
     * answer-deadline, 3 s by default), then stops the committers: 10 s at most in all, after
     * which the committers still at work fail what they hold when the pool closes under them.
     */
    @Override
    public void close() {
        closed = true;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Thread t : committers) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
