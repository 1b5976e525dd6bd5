package org.gyocs.store;

import static org.gyocs.store.ChangeKeys.pair;
import static org.gyocs.store.ChangeKeys.reservation;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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
 * The balance store on a SQL database: H2 in a file under data/ (embedded, the default) or
 * PostgreSQL (shared by several nodes). One schema, migrated by Flyway at start, plus what
 * differs: on PostgreSQL each change is a function call, changes share commits (GroupCommit) and
 * lock the buckets they read (in one order), so concurrent reservations from any number of nodes
 * never grant more than a bucket holds; the node's embedded store charges in memory
 * (MemoryBalances) and journals its debits (AmountJournal). Other H2 stores (ocs-admin, tests in
 * memory) run the same rules as portable SQL.
 */
public final class JdbcBalanceStore implements BalanceStore, SubscriberAdmin {
    private static final Logger log = LogManager.getLogger(JdbcBalanceStore.class);
    // Rows are always locked in id order, whichever query: concurrent transactions then wait for
    // each other instead of deadlocking. The preference order is applied afterwards in Java.
    private static final String BUCKETS_FOR_RATING_GROUP = "SELECT id, amount, reserved, rating_group, expires_at "
            + "FROM bucket WHERE subscriber_id = ? AND unit = ? AND (rating_group = ? OR rating_group IS NULL) "
            + "AND (expires_at IS NULL OR expires_at > ?) ORDER BY id FOR UPDATE";
    private static final String BUCKETS_ANY = "SELECT id, amount, reserved, rating_group, expires_at "
            + "FROM bucket WHERE subscriber_id = ? AND unit = ? AND (expires_at IS NULL OR expires_at > ?) "
            + "ORDER BY id FOR UPDATE";

    private final HikariDataSource dataSource;
    private final String description;
    private final ProvisionedIdentities provisioned;
    /** Reservations, debits, credits and releases: many share one commit, durable on return (null on the embedded node). */
    private final GroupCommit changes;
    private final ScheduledExecutorService storeWatch;
    /**
     * PostgreSQL runs each change as one call of a function (db/postgresql): one network round
     * trip instead of three or four, which were most of the store's cost there (a committer
     * spent twice as long in the kernel as in Java). The embedded store runs the same rules as
     * portable statements, in-process.
     */
    private final boolean postgres;

    /**
     * An H2 file: changes made outside the group commit (administration) are checkpointed
     * before they return, since the database itself writes in the background (AmountJournal).
     */
    private final boolean h2File;
    /** How often change keys past their retention are deleted (ChangeKeys.RETENTION). */
    private static final long KEY_PURGE_NANOS = 60_000_000_000L;
    private volatile long lastKeyPurge = System.nanoTime();
    /** The embedded database's files, to be marked closed cleanly at close (UncleanStopRecovery); else null. */
    private final Path markCleanAtClose;
    /** The embedded store's journal, when this store is the node's; else null. */
    private final AmountJournal journal;
    /** The node's balances on an embedded store, charged in memory and journalled; else null. */
    private final MemoryBalances memory;

    private JdbcBalanceStore(HikariDataSource dataSource, DataSource committerConnections, String description,
                             int committers, boolean postgres,
                             boolean h2File, AmountJournal journal, Path markCleanAtClose) {
        this.markCleanAtClose = markCleanAtClose;
        this.dataSource = dataSource;
        this.postgres = postgres;
        this.description = description;
        this.h2File = h2File;
        this.journal = journal;
        this.memory = journal == null ? null : new MemoryBalances(dataSource, journal);
        this.provisioned = new ProvisionedIdentities(() -> inTransaction(JdbcBalanceStore::generation));
        // the node's embedded store changes balances in memory: no committer to keep waiting
        this.changes = memory != null ? null : new GroupCommit(committerConnections, committers, "ocs-store",
                postgres ? JdbcBalanceStore::applyOnPostgres : null);
        this.storeWatch = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ocs-store-watch");
            t.setDaemon(true);
            return t;
        });
        storeWatch.scheduleWithFixedDelay(this::watch, ProvisionedIdentities.CHECK_INTERVAL_NANOS,
                ProvisionedIdentities.CHECK_INTERVAL_NANOS, TimeUnit.NANOSECONDS);
    }

    /** Every 250 ms: have the subscribers (or, for the embedded node, the balances) changed elsewhere. */
    private void watch() {
        try {
            provisioned.check(memory == null ? () -> { } : memory::reloadNow);
        } catch (RuntimeException e) {
            // the database is away: the requests that need it fail on their own and say so
            log.debug("Cannot watch the balance store: {}", e.toString());
        }
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
        try {
            if (base != null && node) {
                UncleanStopRecovery.beforeOpen(base); // a node's store marks itself at close
                closesCleanly = true;
            } else if (base != null) {
                closesCleanly = UncleanStopRecovery.beforeAdministration(base);
            }
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.close();
            }
            throw e;
        }
        HikariConfig c = new HikariConfig();
        // H2 applies a URL's settings to every connection it opens: the node's embedded store sets
        // its own WRITE_DELAY (writeInTheBackground), which a URL's would undo
        c.setJdbcUrl(h2File ? embeddedUrl(jdbcUrl, node) : jdbcUrl);
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
            if (journal != null) {
                journal.close();
            }
            throw new StoreException("Cannot open the balance store " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
        try {
            // shared schema, then what differs: functions on PostgreSQL, the journal's position on H2
            String[] locations = postgres ? new String[] {"classpath:db/migration", "classpath:db/postgresql"}
                    : new String[] {"classpath:db/migration", "classpath:db/h2"};
            Flyway.configure().dataSource(ds).locations(locations).load().migrate();
        } catch (RuntimeException e) {
            ds.close();
            if (journal != null) {
                journal.close();
            }
            throw new StoreException("Cannot migrate the balance store " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
        if (journal != null) {
            try {
                writeInTheBackground(ds);
                journal.recover(ds);
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
        try {
            return new JdbcBalanceStore(ds, committerConnections.apply(ds), redact(jdbcUrl), committers, postgres,
                    h2File, journal, closesCleanly ? base : null);
        } catch (RuntimeException e) {
            if (journal != null) {
                journal.close();
            }
            ds.close();
            throw new StoreException("Cannot read the balances of " + redact(jdbcUrl) + ": " + rootMessage(e), e);
        }
    }

    /**
     * An H2 file is opened by this process alone: AUTO_SERVER (a TCP port on every interface with
     * empty credentials, which let any local user read and set balances) is dropped from the URL,
     * and the node closes the database itself (DB_CLOSE_ON_EXIT=FALSE: H2's shutdown hook once
     * raced the node's close).
     */
    static String embeddedUrl(String url, boolean node) {
        String u = url;
        if (u.matches("(?i).*;AUTO_SERVER=[^;]*.*")) {
            log.warn("The store URL asks for AUTO_SERVER: ignored (no database port; ocs-admin uses the node's admin socket)");
            u = u.replaceAll("(?i);AUTO_SERVER=[^;]*", "").replaceAll("(?i);AUTO_SERVER_PORT=[^;]*", "");
        }
        if (node) {
            u = u.replaceAll("(?i);WRITE_DELAY=[^;]*", "");
        }
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

    /**
     * The node's embedded store is made durable by its journal, so H2 writes its pages in the
     * background (H2's default WRITE_DELAY of 500 ms, whatever the URL says): a write per
     * commit was most of the store's cost (see AmountJournal).
     */
    private static void writeInTheBackground(DataSource ds) {
        inTransaction(ds, tx -> tx.prepare("SET WRITE_DELAY 500").executeUpdate());
    }

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public String toString() {
        return description;
    }

    // ------------------------------------------------------------------ charging

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
    public Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key,
                               Instant expires, String changeKey) {
        requireAmount("reservation", amount);
        if (memory != null) {
            return memory.reserve(subscriber, unit, ratingGroup, amount, key, expires, changeKey);
        }
        if (postgres) {
            return onPostgres(new PgChange(PgChange.RESERVE, subscriber, unit, ratingGroup, amount, 0, key, expires,
                    changeKey));
        }
        return reservation(changes.run(tx -> ChangeKeys.once(tx, changeKey,
                t -> pair(reserveIn(t, subscriber, unit, ratingGroup, amount, key, expires)))));
    }

    @Override
    public long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey) {
        requireAmount("usage", used);
        if (memory != null) {
            return memory.settle(subscriber, unit, ratingGroup, key, used, changeKey);
        }
        if (postgres) {
            return onPostgres(new PgChange(PgChange.SETTLE, subscriber, unit, ratingGroup, 0, used, key, null, changeKey));
        }
        return changes.run(tx -> ChangeKeys.once(tx, changeKey,
                t -> new long[] {settleIn(t, subscriber, unit, ratingGroup, key, used), 0}))[0];
    }

    /**
     * One change instead of two: the settlement and the next reservation in one transaction, so
     * the caller waits for one commit (on the embedded node, one journal sync).
     */
    @Override
    public Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                       long amount, Instant expires, String changeKey) {
        requireAmount("usage", used);
        requireAmount("reservation", amount);
        if (memory != null) {
            return memory.settleAndReserve(subscriber, unit, ratingGroup, key, used, amount, expires, changeKey);
        }
        if (postgres) {
            return onPostgres(new PgChange(PgChange.SETTLE_AND_RESERVE, subscriber, unit, ratingGroup, amount, used, key,
                    expires, changeKey));
        }
        return reservation(changes.run(tx -> ChangeKeys.once(tx, changeKey, t -> {
            settleIn(t, subscriber, unit, ratingGroup, key, used);
            return pair(reserveIn(t, subscriber, unit, ratingGroup, amount, key, expires));
        })));
    }

    /**
     * A change on PostgreSQL: always through ocs_apply (db/postgresql/V8), alone or with the
     * others of its group commit, which makes it at most once per change key.
     */
    @SuppressWarnings("unchecked")
    private <T> T onPostgres(PgChange change) {
        // alone (in a batch with a change that has no description: a refund) it is one call of its own
        return changes.run(tx -> (T) applyOnPostgres(tx, List.of(change))[0], change);
    }

    @Override
    public Optional<Long> recordedChange(String subscriber, String changeKey) {
        if (memory != null) {
            Long unwritten = memory.recordedChange(subscriber, changeKey);
            if (unwritten != null) {
                return Optional.of(unwritten);
            }
        }
        String k = ChangeKeys.hex(changeKey);
        long[] r = inTransaction(tx -> ChangeKeys.recorded(tx, k));
        return r == null ? Optional.empty() : Optional.of(r[0]);
    }

    private static Reservation reserveIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup,
                                         long amount, String key, Instant expires) throws SQLException {
        List<long[]> buckets = lockBuckets(tx, subscriber, unit, ratingGroup);
        long need = amount;
        long available = 0;
        PreparedStatement hold = tx.prepare("UPDATE bucket SET reserved = reserved + ? WHERE id = ?");
        PreparedStatement record = tx.prepare(
                "INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at) VALUES (?, ?, ?, ?)");
        for (long[] b : buckets) {
            long free = b[1] - b[2];
            long take = Math.min(free, need);
            if (take > 0) {
                hold.setLong(1, take);
                hold.setLong(2, b[0]);
                hold.addBatch();
                record.setString(1, key);
                record.setLong(2, b[0]);
                record.setLong(3, take);
                record.setTimestamp(4, Timestamp.from(expires));
                record.addBatch();
                need -= take;
            }
            available += free - Math.max(0, take);
        }
        hold.executeBatch();
        record.executeBatch();
        return new Reservation(amount - need, available);
    }

    private static long settleIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, String key,
                                 long used) throws SQLException {
        long left = used;
        long debited = 0;
        // 1. against the reservation
        PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount - ?, reserved = reserved - ? WHERE id = ?");
        for (long[] h : lockReservation(tx, key)) {
            long d = Math.min(left, h[1]);
            u.setLong(1, d);
            u.setLong(2, h[1]);
            u.setLong(3, h[0]);
            u.addBatch();
            left -= d;
            debited += d;
        }
        u.executeBatch();
        deleteReservation(tx, key);
        // 2. usage beyond the reservation, from what is still free, never below zero
        if (left > 0) {
            debited += debitFree(tx, subscriber, unit, ratingGroup, left);
        }
        return debited;
    }

    @Override
    public void release(String key) {
        if (memory != null) {
            memory.release(key);
            return;
        }
        if (postgres) {
            onPostgres(new PgChange(PgChange.RELEASE, null, null, null, 0, 0, key, null, null));
            return;
        }
        changes.run(tx -> {
            releaseKey(tx, key);
            return null;
        });
    }

    @Override
    public long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey) {
        requireAmount("debit", amount);
        if (memory != null) {
            return memory.debit(subscriber, unit, ratingGroup, amount, changeKey);
        }
        if (postgres) {
            return onPostgres(new PgChange(PgChange.DEBIT, subscriber, unit, ratingGroup, amount, 0, null, null, changeKey));
        }
        return changes.run(tx -> ChangeKeys.once(tx, changeKey,
                t -> new long[] {debitFree(t, subscriber, unit, ratingGroup, amount), 0}))[0];
    }

    @Override
    public void credit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey) {
        requireAmount("refund", amount);
        GroupCommit.Work<Long> refund = tx -> ChangeKeys.once(tx, changeKey, t -> {
            creditIn(t, subscriber, unit, ratingGroup, amount);
            return new long[] {amount, nextGeneration(t)}; // a node charging in memory reads its balances again
        })[1];
        long generation;
        if (h2File) {
            // a refund may create a bucket, which the journal does not keep: checkpointed, and the
            // node reads its balances again
            generation = inTransaction(refund);
            flushed();
        } else {
            generation = changes.run(refund);
        }
        changed(generation);
    }

    /**
     * Every kind of store refuses a negative amount: a negative usage or debit would add to the
     * balance (the core refuses amounts that overflow; this is the store's own guard).
     */
    private static void requireAmount(String what, long amount) {
        if (amount < 0) {
            throw new IllegalArgumentException("A " + what + " of " + amount + " is negative: refused");
        }
    }

    @Override
    public long available(String subscriber, UnitType unit, Long ratingGroup) {
        if (memory != null) {
            return memory.available(subscriber, unit, ratingGroup);
        }
        return inTransaction(tx -> {
            long free = 0;
            for (long[] b : lockBuckets(tx, subscriber, unit, ratingGroup)) {
                free += b[1] - b[2];
            }
            return free;
        });
    }

    @Override
    public int releaseExpired(Instant now) {
        if (memory != null) {
            return memory.releaseExpired(now); // its journal thread forgets old change keys
        }
        if (System.nanoTime() - lastKeyPurge > KEY_PURGE_NANOS) {
            lastKeyPurge = System.nanoTime();
            int forgotten = inTransaction(tx -> ChangeKeys.purge(tx, now));
            log.debug("Forgot {} change keys past their retention", forgotten);
        }
        return inTransaction(tx -> {
            Set<String> keys = new LinkedHashSet<>();
            PreparedStatement s = tx.prepare("SELECT DISTINCT reservation_key FROM reservation WHERE expires_at < ?");
            s.setTimestamp(1, Timestamp.from(now));
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    keys.add(rs.getString(1));
                }
            }
            for (String k : keys) {
                releaseKey(tx, k);
            }
            return keys.size();
        });
    }

    // ------------------------------------------------------------------ administration

    @Override
    public List<String> subscribers() {
        return inTransaction(tx -> {
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
        return inTransaction(tx -> {
            List<Bucket> out = new ArrayList<>();
            PreparedStatement s = tx.prepare("SELECT id, unit, amount, reserved, rating_group, expires_at "
                    + "FROM bucket WHERE subscriber_id = ? ORDER BY id");
            s.setString(1, subscriber);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    long rg = rs.getLong(5);
                    Long ratingGroup = rs.wasNull() ? null : rg;
                    Timestamp t = rs.getTimestamp(6);
                    Bucket b = new Bucket(rs.getLong(1), subscriber, Bucket.unitOf(rs.getString(2)), rs.getLong(3),
                            rs.getLong(4), ratingGroup, t == null ? null : t.toInstant());
                    out.add(memory == null ? b : memory.current(b));
                }
            }
            return out;
        });
    }

    @Override
    public void add(List<Bucket> buckets, boolean replaceSubscribers) {
        long generation = inTransaction(tx -> {
            if (replaceSubscribers) {
                PreparedStatement d = tx.prepare("DELETE FROM subscriber WHERE id = ?");
                for (String s : new LinkedHashSet<>(buckets.stream().map(Bucket::subscriber).toList())) {
                    d.setString(1, s);
                    d.addBatch();
                }
                d.executeBatch();
            }
            for (Bucket b : buckets) {
                ensureSubscriber(tx, b.subscriber());
                insertBucket(tx, b.subscriber(), b.unit(), b.ratingGroup(), b.amount(), b.expires());
            }
            return nextGeneration(tx);
        });
        flushed();
        changed(generation);
    }

    @Override
    public boolean delete(String subscriber) {
        long generation = inTransaction(tx -> {
            PreparedStatement d = tx.prepare("DELETE FROM subscriber WHERE id = ?");
            d.setString(1, subscriber);
            return d.executeUpdate() == 0 ? -1L : nextGeneration(tx);
        });
        if (generation < 0) {
            return false;
        }
        flushed();
        changed(generation);
        return true;
    }

    /** This process sees its own change of the database at once: balances in memory first, then identities. */
    private void changed(long generation) {
        if (memory != null) {
            memory.reloadNow();
        }
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
        if (changes != null) {
            changes.close();
        }
        if (memory != null) {
            memory.close();
        }
        dataSource.close();
        // marked only when nothing failed: after a journal or database failure (a full disk) the
        // next start must read the whole file (UncleanStopRecovery)
        if (markCleanAtClose != null && (memory == null || memory.stoppedCleanly())) {
            UncleanStopRecovery.closedCleanly(markCleanAtClose);
        }
        if (journal != null) {
            journal.close(); // last: nobody may open the database until it is marked
        }
    }

    // ------------------------------------------------------------------ statements

    /**
     * Locks the buckets a request may use and returns them as {id, amount, reserved} in the order
     * they are used: for a rating group, its own buckets before the generic ones; without one
     * (Open5GS), generic ones first; then the soonest expiry, then the oldest.
     */
    private static List<long[]> lockBuckets(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup)
            throws SQLException {
        List<Object[]> rows = new ArrayList<>();
        PreparedStatement s = tx.prepare(ratingGroup == null ? BUCKETS_ANY : BUCKETS_FOR_RATING_GROUP);
        int i = 1;
        s.setString(i++, subscriber);
        s.setString(i++, Bucket.unitName(unit));
        if (ratingGroup != null) {
            s.setLong(i++, ratingGroup);
        }
        s.setTimestamp(i, Timestamp.from(Instant.now()));
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                rs.getLong(4);
                boolean generic = rs.wasNull();
                Timestamp expires = rs.getTimestamp(5);
                rows.add(new Object[] {new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)},
                        (ratingGroup == null) == generic ? 0 : 1, expires == null ? Long.MAX_VALUE : expires.getTime()});
            }
        }
        rows.sort(java.util.Comparator.<Object[]>comparingInt(r -> (Integer) r[1])
                .thenComparingLong(r -> (Long) r[2]).thenComparingLong(r -> ((long[]) r[0])[0]));
        List<long[]> out = new ArrayList<>(rows.size());
        for (Object[] r : rows) {
            out.add((long[]) r[0]);
        }
        return out;
    }

    /** A balance change as ocs_apply takes it (db/postgresql/V8), to run with others in one call. */
    private record PgChange(int kind, String subscriber, UnitType unit, Long ratingGroup, long amount, long used,
                            String key, Instant expires, String changeKey) {
        static final int RESERVE = 1;
        static final int SETTLE = 2;
        static final int RELEASE = 3;
        static final int DEBIT = 4;
        static final int SETTLE_AND_RESERVE = 5;
    }

    /** The batch runner on PostgreSQL: every change of a group commit in one call of ocs_apply. */
    private static Object[] applyOnPostgres(SqlTransaction tx, List<?> descriptions) throws SQLException {
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
        }
        Connection c = tx.connection();
        PreparedStatement s = tx.prepare("SELECT n, a, b FROM ocs_apply(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
        Object[] results = new Object[n];
        int rows = 0;
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                int i = rs.getInt(1) - 1;
                long a = rs.getLong(2);
                results[i] = switch (kind[i]) {
                    case PgChange.RESERVE, PgChange.SETTLE_AND_RESERVE -> new Reservation(a, rs.getLong(3));
                    case PgChange.RELEASE -> null;
                    default -> a;
                };
                rows++;
            }
        }
        if (rows != n) {
            throw new SQLException("ocs_apply answered " + rows + " of " + n + " changes");
        }
        return results;
    }

    /** Subscriber, unit and rating group (or NULL) as the first three parameters of a statement. */
    private static void bucketArguments(PreparedStatement s, String subscriber, UnitType unit, Long ratingGroup)
            throws SQLException {
        s.setString(1, subscriber);
        s.setString(2, Bucket.unitName(unit));
        if (ratingGroup == null) {
            s.setNull(3, Types.BIGINT);
        } else {
            s.setLong(3, ratingGroup);
        }
    }

    private static long single(PreparedStatement s) throws SQLException {
        try (ResultSet rs = s.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Locks the reservation rows of a key: {bucket id, amount held}, in id order. On PostgreSQL
     * also their buckets, first, in the order every change locks buckets. The embedded store
     * runs every change on its one committer and locks the buckets as it updates them: joining
     * them here is not needed (that query was 18 % of the committer's samples; without the join
     * the difference is within the noise of this machine).
     */
    private static List<long[]> lockReservation(SqlTransaction tx, String key) throws SQLException {
        List<long[]> held = new ArrayList<>();
        PreparedStatement s = tx.prepare("SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id "
                + "WHERE r.reservation_key = ? ORDER BY r.bucket_id FOR UPDATE");
        s.setString(1, key);
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                held.add(new long[] {rs.getLong(1), rs.getLong(2)});
            }
        }
        return held;
    }

    private static long debitFree(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount)
            throws SQLException {
        long left = amount;
        List<long[]> buckets = lockBuckets(tx, subscriber, unit, ratingGroup);
        PreparedStatement u = tx.prepare("UPDATE bucket SET amount = amount - ? WHERE id = ?");
        for (long[] b : buckets) {
            long d = Math.min(left, b[1] - b[2]);
            if (d > 0) {
                u.setLong(1, d);
                u.setLong(2, b[0]);
                u.addBatch();
                left -= d;
            }
        }
        u.executeBatch();
        return amount - left;
    }

    private static void releaseKey(SqlTransaction tx, String key) throws SQLException {
        List<long[]> held = lockReservation(tx, key);
        PreparedStatement u = tx.prepare("UPDATE bucket SET reserved = reserved - ? WHERE id = ?");
        for (long[] h : held) {
            u.setLong(1, h[1]);
            u.setLong(2, h[0]);
            u.addBatch();
        }
        u.executeBatch();
        deleteReservation(tx, key);
    }

    private static void deleteReservation(SqlTransaction tx, String key) throws SQLException {
        PreparedStatement d = tx.prepare("DELETE FROM reservation WHERE reservation_key = ?");
        d.setString(1, key);
        d.executeUpdate();
    }

    private static void creditIn(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount)
            throws SQLException {
        ensureSubscriber(tx, subscriber); // the caller moves the generation
        String sql = "UPDATE bucket SET amount = amount + ? WHERE id = (SELECT MIN(id) FROM bucket WHERE subscriber_id = ? "
                + "AND unit = ? AND " + (ratingGroup == null ? "rating_group IS NULL" : "rating_group = ?")
                + " AND (expires_at IS NULL OR expires_at > ?))";
        PreparedStatement u = tx.prepare(sql);
        int i = 1;
        u.setLong(i++, amount);
        u.setString(i++, subscriber);
        u.setString(i++, Bucket.unitName(unit));
        if (ratingGroup != null) {
            u.setLong(i++, ratingGroup);
        }
        u.setTimestamp(i, Timestamp.from(Instant.now()));
        if (u.executeUpdate() == 0) {
            insertBucket(tx, subscriber, unit, ratingGroup, amount, null);
        }
    }

    /** Creates the subscriber if it is missing (the caller moves the generation). */
    private static void ensureSubscriber(SqlTransaction tx, String subscriber) throws SQLException {
        PreparedStatement s = tx.prepare("SELECT 1 FROM subscriber WHERE id = ?");
        s.setString(1, subscriber);
        try (ResultSet rs = s.executeQuery()) {
            if (rs.next()) {
                return;
            }
        }
        PreparedStatement i = tx.prepare("INSERT INTO subscriber (id) VALUES (?)");
        i.setString(1, subscriber);
        i.executeUpdate();
    }

    /**
     * Counts a change of the subscriber table, in the transaction that makes it: nodes forget
     * which identities they know to be provisioned when this number moves (ProvisionedIdentities).
     * The row lock also orders concurrent provisioning transactions.
     */
    private static long nextGeneration(SqlTransaction tx) throws SQLException {
        tx.prepare("UPDATE provisioning SET generation = generation + 1 WHERE id = 1").executeUpdate();
        return generation(tx);
    }

    private static long generation(SqlTransaction tx) throws SQLException {
        try (ResultSet rs = tx.prepare("SELECT generation FROM provisioning WHERE id = 1").executeQuery()) {
            if (!rs.next()) {
                throw new SQLException("the provisioning row is missing: restore it with "
                        + "INSERT INTO provisioning (id, generation) VALUES (1, 0)");
            }
            return rs.getLong(1);
        }
    }

    private static void insertBucket(SqlTransaction tx, String subscriber, UnitType unit, Long ratingGroup, long amount,
                                     Instant expires) throws SQLException {
        PreparedStatement i = tx.prepare(
                "INSERT INTO bucket (subscriber_id, unit, rating_group, amount, reserved, expires_at) VALUES (?, ?, ?, ?, 0, ?)");
        bucketArguments(i, subscriber, unit, ratingGroup);
        i.setLong(4, amount);
        if (expires == null) {
            i.setNull(5, Types.TIMESTAMP);
        } else {
            i.setTimestamp(5, Timestamp.from(expires));
        }
        i.executeUpdate();
    }

    // ------------------------------------------------------------------ transactions

    /** Runs work in its own transaction. */
    private <T> T inTransaction(GroupCommit.Work<T> work) {
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
        if (memory != null) {
            memory.onFailure(listener);
        }
    }

    /** Why the store can change no balance any more, or empty. */
    public Optional<String> failure() {
        return memory == null ? Optional.empty() : Optional.ofNullable(memory.failure());
    }

    /**
     * For a health check: {@link #failure()}, and on a shared database whether it answers now
     * (a pooled connection that passes a validity check within {@code timeoutSeconds}).
     */
    public Optional<String> probe(int timeoutSeconds) {
        Optional<String> failed = failure();
        if (failed.isPresent() || memory != null) {
            return failed; // the embedded store answers from memory; its failures are recorded
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
    public void answerDeadline(java.time.Duration d) {
        if (changes != null) {
            changes.deadline(d);
        }
        if (memory != null) {
            memory.deadline(d);
        }
    }

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

    /** The URL without a password parameter, for logs and errors. */
    static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
    }
}
