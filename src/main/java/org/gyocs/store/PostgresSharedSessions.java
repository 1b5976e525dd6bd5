package org.gyocs.store;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.gyocs.core.SessionState;
import org.gyocs.core.SharedSessions;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;

/**
 * Sessions on the shared PostgreSQL store (db/postgresql/V13): one row per session, its state as
 * JSON, saved after each answered request; the nodes' heartbeats; and the claim of abandoned
 * sessions, a DELETE ... RETURNING, which one node alone gets a row from. Times are the
 * database's, so that the nodes' clocks need not agree. Every statement runs through the store's
 * group commit, under the answer deadline: a PostgreSQL that is gone costs a request its
 * deadline (5012), not the connection pool's 30 s wait for a connection.
 */
final class PostgresSharedSessions implements SharedSessions {
    private static final ObjectMapper JSON = new ObjectMapper()
            // Instants as ISO-8601 text, as the HTTP interface writes them (without the java.time module)
            .registerModule(new SimpleModule("instants").addSerializer(Instant.class,
                    com.fasterxml.jackson.databind.ser.std.ToStringSerializer.instance)
                    .addDeserializer(Instant.class, new JsonDeserializer<>() {
                @Override
                public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                    return Instant.parse(p.getValueAsString());
                }
            }))
            // derived read-only properties (isEmpty()...) are written, and not taken back
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            // what is not set is not written: half the row, which PostgreSQL writes at every request
            .setDefaultPropertyInclusion(com.fasterxml.jackson.annotation.JsonInclude.Value
                    .construct(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL,
                            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL));

    /**
     * How long a closed session is kept, to answer its CCR-T's retransmission on any node: a
     * PCEF's Tx timer is seconds. Kept for its Tcc (hours), closed rows outnumbered open ones
     * by thousands under load.
     */
    static final long CLOSED_KEPT_SECONDS = 60;

    /** Its group commit: a session's state may share a commit with balance changes, and waits no longer than they may. */
    private final PostgresBalanceStore store;
    private final String node;
    private final Duration nodeTimeout;

    PostgresSharedSessions(PostgresBalanceStore store, String node, Duration nodeTimeout) {
        this.store = store;
        this.node = node;
        this.nodeTimeout = nodeTimeout;
    }

    @Override
    public boolean shared() {
        return true;
    }

    /** What this thread's balance changes assume of their session (#assume), or none. */
    private static final ThreadLocal<Expected> EXPECTED = new ThreadLocal<>();

    /**
     * A session as its node last knew it, which each balance change asked for in its scope
     * checks in the read of its batch (PostgresChangeBatch).
     */
    static final class Expected implements Assumption {
        final String sessionId;
        final String instance;
        final long lastNumber;
        final String node;
        private boolean checked;

        Expected(String sessionId, String instance, long lastNumber, String node) {
            this.sessionId = sessionId;
            this.instance = instance;
            this.lastNumber = lastNumber;
            this.node = node;
        }

        @Override
        public boolean checked() {
            return checked;
        }

        @Override
        public void close() {
            EXPECTED.remove();
        }
    }

    @Override
    public Assumption assume(String sessionId, String instance, long lastRequestNumber) {
        Expected e = new Expected(sessionId, instance, lastRequestNumber, node);
        EXPECTED.set(e);
        return e;
    }

    /** What a change asked for on this thread now is to check (marked as checked), or null. */
    static Expected expectedByThisChange() {
        Expected e = EXPECTED.get();
        if (e != null) {
            e.checked = true;
        }
        return e;
    }

    /** A session state to read, as the batch runner takes it. */
    record Read(String sessionId) {
    }

    /** A session state to write, as the batch runner takes it. */
    record Write(String sessionId, String node, long lastNumber, boolean closed, long keepSeconds, String instance,
                 String json) {
    }

    @Override
    public Optional<Loaded> load(String sessionId) {
        Read read = new Read(sessionId);
        String[] row = store.onPostgres(tx -> (String[]) readAll(tx, List.of(read))[0], read);
        return row == null ? Optional.empty() : Optional.of(new Loaded(read(row[0]), node.equals(row[1])));
    }

    @Override
    public void save(SessionState state) {
        String json;
        try {
            json = JSON.writeValueAsString(state);
        } catch (IOException e) {
            throw new StoreException("Cannot write session " + state.sessionId() + ": " + e.getMessage(), e);
        }
        // open: its Tcc, and the half Tcc a node may go without saving it (OnlineCharging#save)
        Write write = new Write(state.sessionId(), node, state.lastRequestNumber(), state.closed(),
                state.closed() ? Math.min(CLOSED_KEPT_SECONDS, state.tccSeconds()) : state.tccSeconds() * 3 / 2,
                state.instance(), json);
        // with the request's change when one is open (#together): one commit for both
        store.withOpenChange(tx -> writeAll(tx, List.of(write))[0], write);
    }

    @Override
    public Together together() {
        return store.together();
    }

    /** The states of these sessions and their nodes (null for one the store does not have), in one SELECT. */
    static Object[] readAll(SqlTransaction tx, List<Read> reads) throws SQLException {
        String[] ids = reads.stream().map(Read::sessionId).toArray(String[]::new);
        PreparedStatement s = tx.prepare("SELECT session_id, state, node FROM charging_session WHERE session_id = ANY(?)");
        s.setArray(1, tx.connection().createArrayOf("varchar", ids));
        Map<String, String[]> found = new HashMap<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                found.put(rs.getString(1), new String[] {rs.getString(2), rs.getString(3)});
            }
        }
        Object[] out = new Object[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = found.get(ids[i]);
        }
        return out;
    }

    /**
     * These states in one INSERT ... ON CONFLICT, the newest of each session once (a statement
     * may not change a row twice), in Session-Id order (two nodes' batches lock rows in one
     * order). An older state never replaces a newer one, nor one of the same request saved by
     * another node (two nodes answering a retransmission and its original: the first keeps the
     * session); a closed session is replaced by a new one of the same Session-Id. A Session-Id
     * used again within the batch (a CCR-T, then a CCR-I that starts again at request number 0,
     * saved by two threads at once): each instance's newest state in a statement of its own, the
     * closed ones first, whatever order the batch has them in.
     */
    static Object[] writeAll(SqlTransaction tx, List<Write> writes) throws SQLException {
        for (List<Write> round : rounds(writes)) {
            upsert(tx, round);
        }
        return written(writes);
    }

    /** What writeAll answers each write. */
    static Object[] written(List<Write> writes) {
        Object[] out = new Object[writes.size()];
        java.util.Arrays.fill(out, 1);
        return out;
    }

    /**
     * The states to save, in rounds of one per Session-Id: round k has the k-th instance of each
     * (almost always there is one), the newest state of each, closed ones first.
     */
    static List<List<Write>> rounds(List<Write> writes) {
        Map<String, List<Write>> bySession = new java.util.TreeMap<>();
        for (Write w : writes) {
            newestOfItsInstance(bySession.computeIfAbsent(w.sessionId(), id -> new java.util.ArrayList<>(1)), w);
        }
        int rounds = writes.isEmpty() ? 0 : 1;
        for (List<Write> of : bySession.values()) {
            if (of.size() > 1) {
                of.sort(java.util.Comparator.comparing(w -> !w.closed())); // closed ones first
                rounds = Math.max(rounds, of.size());
            }
        }
        List<List<Write>> out = new ArrayList<>(rounds);
        for (int k = 0; k < rounds; k++) { // round k: the k-th instance of each Session-Id
            List<Write> round = new java.util.ArrayList<>(bySession.size());
            for (List<Write> of : bySession.values()) {
                if (k < of.size()) {
                    round.add(of.get(k));
                }
            }
            out.add(round);
        }
        return out;
    }

    /** Adds a state to its Session-Id's instances, or replaces its instance's older state. */
    private static void newestOfItsInstance(List<Write> instances, Write w) {
        for (int i = 0; i < instances.size(); i++) {
            Write known = instances.get(i);
            if (java.util.Objects.equals(known.instance(), w.instance())) {
                if (w.lastNumber() >= known.lastNumber()) {
                    instances.set(i, w);
                }
                return;
            }
        }
        instances.add(w);
    }

    /**
     * Saves states, at most one per Session-Id, from the seven arrays {@link #setUpsert} gives: a
     * state replaces the saved one of its instance if it is newer (or the same request, saved by
     * the same node or closing it), or the saved one of another instance that is closed.
     */
    static final String UPSERT = "INSERT INTO charging_session "
            + "(session_id, node, last_number, closed, expires_at, instance, state) "
            + "SELECT u.id, u.node, u.number, u.closed, now() + make_interval(secs => u.keep), u.instance, u.json "
            + "FROM unnest(?::varchar[], ?::varchar[], ?::bigint[], ?::boolean[], ?::bigint[], ?::varchar[], "
            + "?::text[]) AS u(id, node, number, closed, keep, instance, json) "
            + "ON CONFLICT (session_id) DO UPDATE SET node = EXCLUDED.node, last_number = EXCLUDED.last_number, "
            + "closed = EXCLUDED.closed, expires_at = EXCLUDED.expires_at, instance = EXCLUDED.instance, "
            + "state = EXCLUDED.state WHERE (charging_session.instance = EXCLUDED.instance "
            + "AND (charging_session.last_number < EXCLUDED.last_number OR (charging_session.last_number "
            + "= EXCLUDED.last_number AND (charging_session.node = EXCLUDED.node OR EXCLUDED.closed)))) "
            + "OR (charging_session.instance <> EXCLUDED.instance AND charging_session.closed)";

    private static void upsert(SqlTransaction tx, java.util.Collection<Write> newest) throws SQLException {
        PreparedStatement s = tx.prepare(UPSERT);
        setUpsert(s, tx.connection(), 1, newest);
        s.executeUpdate();
    }

    /** Sets the seven arrays of {@link #UPSERT} from parameter {@code p} on; @return the next parameter. */
    static int setUpsert(PreparedStatement s, Connection c, int p, java.util.Collection<Write> newest)
            throws SQLException {
        int n = newest.size();
        String[] id = new String[n];
        String[] node = new String[n];
        Long[] number = new Long[n];
        Boolean[] closed = new Boolean[n];
        Long[] keep = new Long[n];
        String[] instance = new String[n];
        String[] json = new String[n];
        int i = 0;
        for (Write w : newest) {
            id[i] = w.sessionId();
            node[i] = w.node();
            number[i] = w.lastNumber();
            closed[i] = w.closed();
            keep[i] = w.keepSeconds();
            instance[i] = w.instance();
            json[i] = w.json();
            i++;
        }
        s.setArray(p++, c.createArrayOf("varchar", id));
        s.setArray(p++, c.createArrayOf("varchar", node));
        s.setArray(p++, c.createArrayOf("bigint", number));
        s.setArray(p++, c.createArrayOf("boolean", closed));
        s.setArray(p++, c.createArrayOf("bigint", keep));
        s.setArray(p++, c.createArrayOf("varchar", instance));
        s.setArray(p++, c.createArrayOf("text", json));
        return p;
    }

    /** System.nanoTime() since when this node's heartbeats have all been written; 0: the last one failed. */
    private volatile long beatingSince;
    /** System.nanoTime() when the last beat written began (its seen_at is no older); 0: none yet. */
    private volatile long lastBeatBegan;

    /** In a transaction of its own: no request's commit waits for it, nor it for theirs. */
    @Override
    public boolean heartbeat() {
        long began = System.nanoTime();
        try {
            store.inTransaction(tx -> {
                // the clock's time, not the transaction's start: a beat that hung is not a fresh one
                PreparedStatement s = tx.prepare("INSERT INTO ocs_node (name, seen_at) VALUES (?, clock_timestamp()) "
                        + "ON CONFLICT (name) DO UPDATE SET seen_at = clock_timestamp()");
                s.setString(1, node);
                return s.executeUpdate();
            });
        } catch (RuntimeException e) {
            beatingSince = 0;
            throw e;
        }
        if (beatingSince == 0) {
            beatingSince = System.nanoTime();
        }
        long before = lastBeatBegan;
        lastBeatBegan = began;
        // the other nodes take a node's sessions once its seen_at is older than the node timeout:
        // it was at most this old just before this beat wrote it anew
        return before != 0 && System.nanoTime() - before >= nodeTimeout.toNanos();
    }

    /** How many abandoned sessions one call takes: a node's thousands are released over several seconds. */
    static final int CLAIM_BATCH = 200;

    /**
     * Open sessions past their Tcc (and the half Tcc a save may be skipped), and, once this
     * node's heartbeats have been written for the node timeout, open sessions of another node
     * whose heartbeat is older than that: at most {@value #CLAIM_BATCH}, deleted and returned
     * (rows another node is claiming are skipped, not waited for); closed sessions past their
     * keeping time deleted. In a transaction of its own.
     */
    @Override
    public List<Abandoned> claimAbandoned() {
        long since = beatingSince;
        boolean othersToo = since != 0 && System.nanoTime() - since >= nodeTimeout.toNanos();
        List<String[]> rows = store.inTransaction(tx -> {
            List<String[]> out = new ArrayList<>();
            // past their Tcc: by the index on the expiry, in its order
            PreparedStatement s = tx.prepare("DELETE FROM charging_session WHERE session_id IN ("
                    + "SELECT session_id FROM charging_session WHERE NOT closed AND expires_at < now() "
                    + "ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING state, true");
            s.setInt(1, CLAIM_BATCH);
            claimed(s, out);
            List<String> silent = othersToo && out.size() < CLAIM_BATCH ? silentNodes(tx) : List.of();
            if (!silent.isEmpty()) {
                // of the silent nodes, by the index on the open sessions' node: asked only when
                // there are some, since one statement for both read that index whole at each
                // call (its entries of rows since updated included), 60 ms under load
                s = tx.prepare("DELETE FROM charging_session WHERE session_id IN ("
                        + "SELECT session_id FROM charging_session WHERE NOT closed AND node = ANY (?) "
                        // and only while this node's own heartbeat is fresh: a store that stalled
                        // (a lost synchronous standby) fails no beat, it only delays them all
                        + "AND EXISTS (SELECT 1 FROM ocs_node WHERE name = ? AND seen_at > now() - interval '3 seconds') "
                        + "LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING state, expires_at < now()");
                s.setArray(1, tx.connection().createArrayOf("varchar", silent.toArray(new String[0])));
                s.setString(2, node);
                s.setInt(3, CLAIM_BATCH - out.size());
                claimed(s, out);
            }
            // in expiry order, so by the index on it: without an order PostgreSQL read the whole
            // table at every call (its estimate counts closed sessions still kept), 80 ms a call
            // under load, a tenth of its CPU
            tx.prepare("DELETE FROM charging_session WHERE session_id IN (SELECT session_id FROM charging_session "
                    + "WHERE closed AND expires_at < now() ORDER BY expires_at LIMIT 5000 FOR UPDATE SKIP LOCKED)")
                    .executeUpdate();
            return out;
        });
        List<Abandoned> out = new ArrayList<>(rows.size());
        for (String[] row : rows) {
            out.add(new Abandoned(read(row[0]), Boolean.parseBoolean(row[1])));
        }
        return out;
    }

    /** Adds the states and whether each was past its Tcc, as a claim's DELETE returns them. */
    private static void claimed(PreparedStatement s, List<String[]> out) throws SQLException {
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                out.add(new String[] {rs.getString(1), String.valueOf(rs.getBoolean(2))});
            }
        }
    }

    /** The other nodes whose heartbeat is older than the node timeout. */
    private List<String> silentNodes(SqlTransaction tx) throws SQLException {
        PreparedStatement s = tx.prepare("SELECT name FROM ocs_node WHERE name <> ? "
                + "AND seen_at < now() - make_interval(secs => ?)");
        s.setString(1, node);
        s.setLong(2, nodeTimeout.toSeconds());
        List<String> out = new ArrayList<>();
        try (ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static SessionState read(String json) {
        try {
            return JSON.readValue(json, SessionState.class);
        } catch (IOException e) {
            throw new StoreException("Cannot read a session's state: " + e.getMessage(), e);
        }
    }
}
