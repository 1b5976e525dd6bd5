package org.gyocs.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.flywaydb.core.Flyway;
import org.gyocs.core.BalanceStore;
import org.gyocs.core.UnitType;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * A balance store on a SQL database, of one of three kinds chosen by {@link #open}: the node's
 * embedded store (EmbeddedBalanceStore: an H2 file under data/, balances charged in memory and
 * journalled), PostgreSQL shared by several nodes (PostgresBalanceStore: each change one call of
 * its functions, changes sharing commits), or portable SQL (SqlBalanceStore: ocs-admin on an H2
 * file, H2 in memory). One schema, migrated by Flyway at start. What every kind shares is here:
 * the connection pool, who is provisioned (ProvisionedIdentities), refunds, change keys already
 * recorded, and subscriber administration (SubscriberDirectory).
 */
public abstract class JdbcBalanceStore implements BalanceStore, SubscriberAdmin {
    private static final Logger log = LogManager.getLogger(JdbcBalanceStore.class);

    protected final HikariDataSource dataSource;
    private final String description;
    private final ProvisionedIdentities provisioned;
    private final SubscriberDirectory directory;
    private final ScheduledExecutorService storeWatch;
    /**
     * An H2 file: changes made outside the charging path (administration, refunds) are
     * checkpointed before they return, since H2 writes a commit without syncing it.
     */
    private final boolean h2File;
    /** The embedded database's files, to be marked closed cleanly at close (UncleanStopRecovery); else null. */
    private final Path markCleanAtClose;

    JdbcBalanceStore(HikariDataSource dataSource, String description, boolean h2File, Path markCleanAtClose) {
        this.dataSource = dataSource;
        this.description = description;
        this.h2File = h2File;
        this.markCleanAtClose = markCleanAtClose;
        this.provisioned = new ProvisionedIdentities(() -> inTransaction(SqlRules::generation));
        // an H2 file's holds live in the memory of the node that has it open (EmbeddedBalanceStore),
        // and none are left when ocs-admin opens it while no node does
        this.directory = new SubscriberDirectory(dataSource, this::current, this::flushed, this::changed, !h2File);
        this.storeWatch = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ocs-store-watch");
            t.setDaemon(true);
            return t;
        });
    }

    /** Every 250 ms, from when the store is ready: have the subscribers (or balances) changed elsewhere. */
    private void startWatching() {
        storeWatch.scheduleWithFixedDelay(this::watch, ProvisionedIdentities.CHECK_INTERVAL_NANOS,
                ProvisionedIdentities.CHECK_INTERVAL_NANOS, TimeUnit.NANOSECONDS);
    }

    private void watch() {
        try {
            if (System.nanoTime() - lastUsagePurge > ChangeKeys.PURGE_INTERVAL_NANOS) {
                lastUsagePurge = System.nanoTime();
                purgeUsage(Instant.now());
            }
            provisioned.check(() -> {
                reloadBalances();
                provisioningChanged();
            });
        } catch (RuntimeException e) {
            // the database is away: the requests that need it fail on their own and say so
            log.debug("Cannot watch the balance store: {}", e.toString());
        }
    }

    private volatile java.time.Duration usageRetention = java.time.Duration.ofDays(DEFAULT_USAGE_RETENTION_DAYS);
    private volatile long lastUsagePurge = System.nanoTime();
    public static final int DEFAULT_USAGE_RETENTION_DAYS = 90;

    /** How long usage records are kept after they start (usage-retention-days). */
    public void usageRetention(java.time.Duration d) {
        usageRetention = d;
    }

    /** Deletes the usage records that started longer than the retention before {@code now}. @return how many parts */
    int purgeUsage(Instant now) {
        int purged = inTransaction(tx -> UsageRecords.purge(tx, now.minus(usageRetention)));
        if (purged > 0) {
            log.info("Deleted {} parts of usage records that started more than {} days ago (usage-retention-days)",
                    purged, usageRetention.toDays());
        }
        return purged;
    }

    /**
     * The usage records of a subscriber (null: everyone's) that started in [since, until), oldest
     * first, at most {@code limit}. On the embedded store, as of the last write-back (a second).
     */
    @Override
    public List<UsageRecords.UsageRecord> usage(String subscriber, Instant since, Instant until, int limit) {
        return directory.usage(subscriber, since, until, limit);
    }

    /** Another process changed the subscribers: a store that holds balances in memory reads them again. */
    void reloadBalances() {
    }

    /** What a bucket read from the database holds now; the embedded node's memory is ahead of it. */
    Bucket current(Bucket inDatabase) {
        return inDatabase;
    }

    /**
     * Opens (and creates or migrates) the store at a JDBC URL, for a node that charges with it.
     * An embedded store's journal is replayed first, and locked: one node per embedded file.
     *
     * @throws StoreException with a readable message when the database cannot be reached or migrated
     */
    public static JdbcBalanceStore open(String jdbcUrl, String user, String password, int poolSize) {
        return open(jdbcUrl, user, password, poolSize, true);
    }

    /**
     * Opens the store for administration (ocs-admin), also while a node runs on it: an embedded
     * store's journal is the node's, left alone; every change is checkpointed before it returns.
     */
    public static JdbcBalanceStore openForAdministration(String jdbcUrl, String user, String password) {
        return open(jdbcUrl, user, password, 2, false);
    }

    private static JdbcBalanceStore open(String jdbcUrl, String user, String password, int poolSize, boolean node) {
        return open(jdbcUrl, user, password, poolSize, node, java.util.function.UnaryOperator.identity());
    }

    /**
     * The one factory of the three kinds: the node's embedded store (an H2 file it alone opens:
     * balances in memory, journalled), PostgreSQL (its functions, shared by several nodes), and
     * portable SQL (ocs-admin on an H2 file, H2 in memory for tests).
     * For tests of faults: {@code committerConnections} wraps the data source the group commit
     * takes its connections from (a connection that loses a COMMIT's reply, say).
     */
    static JdbcBalanceStore open(String jdbcUrl, String user, String password, int poolSize, boolean node,
                                 java.util.function.UnaryOperator<DataSource> committerConnections) {
        boolean postgres = jdbcUrl.startsWith("jdbc:postgresql:");
        // An embedded database commits one transaction at a time anyway; a server overlaps the
        // network round trips of several.
        int committers = jdbcUrl.startsWith("jdbc:h2:") ? 1 : 2;
        boolean h2File = isH2File(jdbcUrl);
        Path base = PrivateDirectory.h2Base(jdbcUrl).orElse(null);
        if (base != null) {
            PrivateDirectory.secure(base);
        }
        // the node locks its journal before it opens the database, and recovers a file left by a crash
        AmountJournal journal = h2File && node ? AmountJournal.lock(UncleanStopRecovery.journal(base)) : null;
        boolean closesCleanly = false;
        // whether it was marked clean (the mark is taken away below, for as long as it is open)
        boolean markedClean = base != null && Files.exists(UncleanStopRecovery.marker(base));
        try {
            if (base != null && node) {
                UncleanStopRecovery.beforeOpen(base, user, password); // a node's store marks itself at close
                closesCleanly = true;
            } else if (base != null) {
                closesCleanly = UncleanStopRecovery.beforeAdministration(base, user, password);
            }
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.close();
            }
            throw e;
        }
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(h2File ? embeddedUrl(jdbcUrl) : jdbcUrl);
        if (user != null) {
            c.setUsername(user);
        }
        if (password != null) {
            c.setPassword(password);
        }
        if (postgres) {
            boundWaits(c, jdbcUrl);
        }
        c.setMaximumPoolSize(Math.max(2, poolSize) + committers); // Flyway holds two while it migrates
        c.setPoolName("ocs-store");
        c.setAutoCommit(false);
        c.setInitializationFailTimeout(10_000);
        c.setConnectionTimeout(10_000);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(c);
        } catch (RuntimeException e) {
            // not opened (a wrong password, a file another process holds): the file is as it was,
            // and so is its mark, or the next start would read the whole file for nothing
            if (markedClean && closesCleanly) {
                UncleanStopRecovery.closedCleanly(base);
            }
            if (journal != null) {
                journal.close();
            }
            throw new StoreException("Cannot open the balance store " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
        boolean migrated;
        try {
            // shared schema, then what differs: functions on PostgreSQL, the journal's position on H2
            String[] locations = postgres ? new String[] {"classpath:db/migration", "classpath:db/postgresql"}
                    : new String[] {"classpath:db/migration", "classpath:db/h2"};
            migrated = !schemaCurrent(ds, postgres ? POSTGRES_SCHEMA : H2_SCHEMA);
            if (migrated) {
                Flyway.configure().dataSource(ds).locations(locations).load().migrate();
            }
        } catch (RuntimeException e) {
            ds.close();
            if (journal != null) {
                journal.close();
            }
            throw new StoreException("Cannot migrate the balance store " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
        if (journal != null) {
            try {
                long partsAtOpen = migrated ? 0 : inTransaction(ds, UsageRecords::newestPart);
                journal.recover(ds);
                // one node per embedded file: the records still open are of sessions that ended
                // with the node's last run (killed); each ends when its last line was kept
                int ended = inTransaction(ds, tx -> UsageRecords.endOpen(tx, UsageRecords.NODE_STOPPED, partsAtOpen));
                if (ended > 0) {
                    log.info("Ended {} usage records left open by the node's last run ({})", ended,
                            UsageRecords.NODE_STOPPED);
                }
            } catch (RuntimeException e) {
                ds.close();
                journal.close();
                throw new StoreException("Cannot open the balance store " + redact(jdbcUrl) + ": " + rootMessage(e), e);
            }
        }
        // again, now that the database and journal files exist (H2 makes its files with the umask)
        if (base != null) {
            PrivateDirectory.secure(base);
        }
        JdbcBalanceStore store = null;
        try {
            if (journal != null) {
                store = new EmbeddedBalanceStore(ds, redact(jdbcUrl), journal, closesCleanly ? base : null);
            } else if (postgres) {
                store = new PostgresBalanceStore(ds, committerConnections.apply(ds), redact(jdbcUrl), committers);
            } else {
                store = new SqlBalanceStore(ds, committerConnections.apply(ds), redact(jdbcUrl), committers, h2File,
                        closesCleanly ? base : null);
            }
            store.startWatching();
            return store;
        } catch (RuntimeException e) {
            if (store != null) {
                store.close(); // its threads too (the embedded store's journal and writer); closes pool and journal
            } else {
                if (journal != null) {
                    journal.close();
                }
                ds.close();
            }
            throw new StoreException("Cannot read the balances of " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
    }

    /**
     * An H2 file is opened by this process alone: AUTO_SERVER (a TCP port on every interface with
     * empty credentials, which let any local user read and set balances) is dropped from the URL,
     * and the node closes the database itself (DB_CLOSE_ON_EXIT=FALSE: H2's shutdown hook once
     * raced the node's close).
     *
     * <p>And H2 writes each commit's pages before the commit returns (WRITE_DELAY=0, whatever the
     * URL says; not synced: the journal makes debits durable, and the checkpoint syncs). Why:
     * with a delay, H2 2.5 prepares a chunk of its file on one thread and writes it on another,
     * and may prepare the next one before the first is written; a chunk names the chunks before
     * it only once they are written, so that next chunk leaves out its predecessor, though its
     * pages point into it. A kill -9 before the chunk after left a file that neither H2 nor its
     * recovery could read ("Chunk 2 not found", h2database#4383): 1 in 15-80 runs of the kill -9
     * test. Without a delay there is no such thread: a commit prepares and writes its chunk
     * itself, under the lock that orders them. It costs nothing measurable here: the node
     * commits once per write-back (a tenth of a second), and 100,000 subscribers under load ran
     * at 173-175k CCR/s and 6.8 us per CCR against 159-166k and 6.9-7.0 with the delay of 500 ms
     * (rawload, mock mode, bench/RESULTS.md). H2 applies a URL's settings to every connection it
     * opens, and the store's own connections never set it.
     */
    static String embeddedUrl(String url) {
        String u = url;
        if (u.matches("(?i).*;AUTO_SERVER=[^;]*.*")) {
            log.warn("The store URL asks for AUTO_SERVER: ignored (no database port; ocs-admin uses the node's admin socket)");
            u = u.replaceAll("(?i);AUTO_SERVER=[^;]*", "").replaceAll("(?i);AUTO_SERVER_PORT=[^;]*", "");
        }
        u = u.replaceAll("(?i);WRITE_DELAY=[^;]*", "") + ";WRITE_DELAY=0";
        if (!u.matches("(?i).*;DB_CLOSE_ON_EXIT=.*")) {
            u = u + ";DB_CLOSE_ON_EXIT=FALSE";
        }
        return u;
    }

    /** How long a statement on PostgreSQL waits for a row lock before it fails (see boundWaits). */
    static final int PG_LOCK_TIMEOUT_MILLIS = 5_000;

    /**
     * No request waits forever on PostgreSQL. A row lock held by someone else (a transaction left
     * open in psql) fails the statement after PG_LOCK_TIMEOUT_MILLIS: the batch is rolled back,
     * its other changes run alone and succeed, and that request gets 5012. A server or network
     * that stops answering fails the read after 60 s (pgjdbc waits forever by default); such a
     * change may still have committed, which the log says. A URL's own settings win.
     */
    private static void boundWaits(HikariConfig c, String jdbcUrl) {
        String url = jdbcUrl.toLowerCase(java.util.Locale.ROOT);
        if (!url.contains("options=")) {
            c.addDataSourceProperty("options", "-c lock_timeout=" + PG_LOCK_TIMEOUT_MILLIS);
        }
        if (!url.contains("sockettimeout=")) {
            c.addDataSourceProperty("socketTimeout", "60");
        }
        if (!url.contains("rewritebatchedinserts=")) {
            // a batch of INSERTs (a group commit's usage lines, an import's rows) sent as
            // multi-row INSERTs: one statement for PostgreSQL to run instead of one per row
            c.addDataSourceProperty("reWriteBatchedInserts", "true");
        }
    }

    /**
     * An H2 database in a file of this machine, which the journal sits beside; not one in memory
     * (tests), nor an H2 server (tcp:, ssl:), whose file is elsewhere and which commits as it is set.
     */
    private static boolean isH2File(String url) {
        return PrivateDirectory.ofH2Url(url).isPresent();
    }

    /** The directory of an embedded store's files (database, journal, admin socket); empty for a server. */
    public static Optional<java.nio.file.Path> embeddedDirectory(String jdbcUrl) {
        return PrivateDirectory.ofH2Url(jdbcUrl);
    }

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public String toString() {
        return description;
    }

    // ------------------------------------------------------------------ charging, shared

    @Override
    public Optional<String> findSubscriber(List<String> identities) {
        ProvisionedIdentities.Snapshot known = provisioned.snapshot();
        for (String id : identities) {
            Boolean p = known.provisioned(id);
            if (p == null) {
                return lookUp(identities, known);
            }
            if (p) {
                return Optional.of(id);
            }
        }
        return Optional.empty();
    }

    /** Read once per provisioning generation: a change of plan (or anything provisioned) is seen within 250 ms. */
    @Override
    public String planOf(String subscriber) {
        return provisioned.snapshot().plans(directory::plans).get(subscriber);
    }

    @Override
    public boolean isKnownUnprovisioned(List<String> identities) {
        ProvisionedIdentities.Snapshot known = provisioned.snapshot();
        for (String id : identities) {
            if (!Boolean.FALSE.equals(known.provisioned(id))) {
                return false;
            }
        }
        return true;
    }

    private Optional<String> lookUp(List<String> identities, ProvisionedIdentities.Snapshot known) {
        return inTransaction(tx -> {
            PreparedStatement s = tx.prepare("SELECT id FROM subscriber WHERE id = ?");
            for (String id : identities) {
                s.setString(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    boolean found = rs.next();
                    known.remember(id, found);
                    if (found) {
                        return Optional.of(id);
                    }
                }
            }
            return Optional.empty();
        });
    }

    @Override
    public void credit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                       org.gyocs.core.UsageNote note) {
        requireAmount("refund", amount);
        GroupCommit.Work<Long> refund = tx -> ChangeKeys.once(tx, changeKey, t -> {
            SqlRules.creditIn(t, subscriber, unit, ratingGroup, amount);
            SqlBalanceStore.keep(t, note, unit, amount);
            return new long[] {amount, SqlRules.nextGeneration(t)}; // a node charging in memory reads its balances again
        })[1];
        long generation;
        if (h2File) {
            // a refund may create a bucket, which the journal does not keep: checkpointed, and the
            // node reads its balances again
            generation = inTransaction(refund);
            flushed();
        } else {
            generation = commit(refund);
        }
        changed(generation);
    }

    /** Runs a change of balances as this kind commits them (the SQL kinds share commits). */
    <T> T commit(GroupCommit.Work<T> work) {
        return inTransaction(work);
    }

    /**
     * Every kind of store refuses a negative amount: a negative usage or debit would add to the
     * balance (the core refuses amounts that overflow; this is the store's own guard).
     */
    static void requireAmount(String what, long amount) {
        if (amount < 0) {
            throw new IllegalArgumentException("A " + what + " of " + amount + " is negative: refused");
        }
    }

    @Override
    public Optional<Long> recordedChange(String subscriber, String changeKey) {
        String k = ChangeKeys.hex(changeKey);
        long[] r = inTransaction(tx -> ChangeKeys.recorded(tx, k));
        return r == null ? Optional.empty() : Optional.of(r[0]);
    }

    // ------------------------------------------------------------------ administration

    @Override
    public List<String> subscribers() {
        return directory.subscribers();
    }

    @Override
    public List<Bucket> buckets(String subscriber) {
        return directory.buckets(subscriber);
    }

    @Override
    public void add(List<Bucket> buckets, java.util.Map<String, String> plans, boolean replaceSubscribers) {
        directory.add(buckets, plans, replaceSubscribers);
    }

    @Override
    public Optional<String> plan(String subscriber) {
        return directory.plan(subscriber);
    }

    @Override
    public boolean setPlan(String subscriber, String plan) {
        return directory.setPlan(subscriber, plan);
    }

    @Override
    public List<org.gyocs.core.rating.Tariff> tariffs() {
        return directory.tariffs();
    }

    @Override
    public void replaceTariffs(List<org.gyocs.core.rating.Tariff> tariffs) {
        directory.replaceTariffs(tariffs);
        provisioningChanged();
    }

    private volatile Runnable onProvisioningChange = () -> { };

    /**
     * Who is told when the tariffs may have changed: replaced here, or anything provisioned by
     * another process sharing the store (seen within 250 ms). The node then reads its tariffs
     * again; not at this process's own top-ups and refunds, which run on a request's path.
     */
    public void onProvisioningChange(Runnable listener) {
        onProvisioningChange = listener;
    }

    private void provisioningChanged() {
        try {
            onProvisioningChange.run();
        } catch (RuntimeException e) {
            log.error("Cannot take the new provisioning: {}", e.toString(), e);
        }
    }

    @Override
    public boolean delete(String subscriber) {
        return directory.delete(subscriber);
    }

    /** This process sees its own change of the database at once: balances in memory first, then identities. */
    private void changed(long generation) {
        reloadBalances();
        provisioned.changedTo(generation);
    }

    /**
     * After a change made directly in the database (administration), on an H2 file: written and
     * synced before it returns (CHECKPOINT SYNC), as the journal only keeps the node's debits.
     */
    private void flushed() {
        if (h2File) {
            inTransaction(AmountJournal::checkpoint);
        }
    }

    @Override
    public void close() {
        storeWatch.shutdownNow();
        closeCharging();
        dataSource.close();
        // marked only when nothing failed: after a journal or database failure (a full disk) the
        // next start must read the whole file (UncleanStopRecovery)
        if (markCleanAtClose != null && stoppedCleanly()) {
            UncleanStopRecovery.closedCleanly(markCleanAtClose);
        }
        afterClose();
    }

    /** Stops what this kind charges with (its committers, its journal and writer threads), before the pool closes. */
    abstract void closeCharging();

    /** Whether the store may be marked closed cleanly (nothing failed). */
    boolean stoppedCleanly() {
        return true;
    }

    /** After the database is closed and marked (the embedded node unlocks its journal last). */
    void afterClose() {
    }

    // ------------------------------------------------------------------ transactions

    /**
     * Sessions kept for the other nodes sharing this store, as this node ({@code node}, its
     * Origin-Host) saves them: none here (a store one node opens); PostgreSQL shares them.
     *
     * @param nodeTimeout how long another node's heartbeat may be silent before its sessions are released
     */
    public org.gyocs.core.SharedSessions sharedSessions(String node, java.time.Duration nodeTimeout) {
        return org.gyocs.core.SharedSessions.NONE;
    }

    /** Runs work in its own transaction. */
    <T> T inTransaction(GroupCommit.Work<T> work) {
        return inTransaction(dataSource, work);
    }

    /** Runs work in one transaction of its own; retried on a serialization failure or deadlock. */
    static <T> T inTransaction(DataSource dataSource, GroupCommit.Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection(); SqlTransaction.OneShot tx = new SqlTransaction.OneShot(c)) {
                try {
                    T result = work.run(tx);
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException e) {
                    c.rollback();
                    throw e;
                }
            } catch (SQLException e) {
                if (retryable(e) && attempt < 5) {
                    try {
                        Thread.sleep(attempt * 2L);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                    }
                    continue;
                }
                throw new StoreException("Balance store error: " + e.getMessage(), e);
            }
        }
    }

    /** 40001 serialization failure, 40P01 deadlock: the transaction did nothing; try again. */
    static boolean retryable(SQLException e) {
        return e.getSQLState() != null && e.getSQLState().startsWith("40");
    }

    /**
     * Tells {@code listener} once the store can change no balance any more (the embedded node's
     * journal cannot be written, or its database stays closed): the node should stop, so that it
     * is restarted and replays its journal, rather than answer 5012 to everything.
     */
    public void onFailure(java.util.function.Consumer<String> listener) {
    }

    /** Why the store can change no balance any more, or empty. */
    public Optional<String> failure() {
        return Optional.empty();
    }

    /**
     * Where a change is durable only at a later sync (the embedded store's journal): what lets a
     * transport decide without waiting for it and send the answer once it is done. Empty where a
     * change is durable when its call returns (the SQL stores' commits).
     */
    public Optional<org.gyocs.core.SyncPoints> syncPoints() {
        return Optional.empty();
    }

    /**
     * For a health check: {@link #failure()}, and on a shared database whether it answers now
     * (a pooled connection that passes a validity check within {@code timeoutSeconds}).
     */
    public Optional<String> probe(int timeoutSeconds) {
        Optional<String> failed = failure();
        if (failed.isPresent()) {
            return failed;
        }
        long before = System.nanoTime();
        try (Connection c = dataSource.getConnection()) {
            if (!c.isValid(timeoutSeconds)) {
                return Optional.of("the balance database does not answer");
            }
            return Optional.empty();
        } catch (SQLException e) {
            return Optional.of("the balance database is unreachable: " + e.getMessage()
                    + " (after " + (System.nanoTime() - before) / 1_000_000 + " ms)");
        }
    }

    /** PostgreSQL's lock_not_available: a row this change needs is locked elsewhere past lock_timeout. */
    static boolean lockNotAvailable(SQLException e) {
        return "55P03".equals(e.getSQLState());
    }

    /**
     * The longest a request waits for this store (configuration: answer-deadline); past it the
     * change fails with a StoreException and the transport answers 5012, below the client's Tx
     * timer. On the embedded node, the wait for the journal's sync.
     */
    public abstract void answerDeadline(java.time.Duration d);

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    /** "embedded H2 (file)" or the URL without password, for the banner. */
    public static String describe(String url) {
        if (url.startsWith("jdbc:h2:file:")) {
            String path = url.substring("jdbc:h2:file:".length()).split(";")[0];
            return "embedded (H2 file " + path + ".mv.db)";
        }
        return redact(url);
    }

    /** The newest migration of each kind: V<n>__ in db/migration with db/h2, or with db/postgresql (a test checks them). */
    static final String H2_SCHEMA = "15";
    static final String POSTGRES_SCHEMA = "17";

    /**
     * True when the schema history holds the newest migration of this kind, applied, and no
     * failed one: the usual start, which then skips Flyway (loading it and checking every
     * migration was a second of the node's start-up). A new database, a newer build or a failed
     * migration runs Flyway. What is skipped with it: its check of the applied migrations'
     * checksums (a migration edited after it ran is not noticed; migrations are never edited here).
     */
    static boolean schemaCurrent(DataSource ds, String latest) {
        try (Connection c = ds.getConnection()) {
            // a new database has no history: asked first, as a query of a missing table is an error
            // that H2 writes to a trace file beside the store, and PostgreSQL to its log
            java.sql.DatabaseMetaData meta = c.getMetaData();
            String escape = meta.getSearchStringEscape(); // the name's '_' is a pattern's wildcard
            try (ResultSet t = meta.getTables(null, c.getSchema(), "flyway_schema_history".replace("_", escape + "_"),
                    null)) {
                if (!t.next()) {
                    return false;
                }
            }
            return historyHas(c, latest);
        } catch (SQLException e) {
            return false; // no history yet: a new database
        }
    }

    private static boolean historyHas(Connection c, String latest) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT COUNT(CASE WHEN \"version\" = ? AND \"success\" THEN 1 END), "
                     + "COUNT(CASE WHEN NOT \"success\" THEN 1 END) FROM \"flyway_schema_history\"")) {
            s.setString(1, latest);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() && rs.getLong(1) == 1 && rs.getLong(2) == 0;
            }
        }
    }

    /** The URL without a password parameter, for logs and errors. */
    static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
    }
}
