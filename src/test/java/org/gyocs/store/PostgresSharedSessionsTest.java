package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Session states as PostgreSQL keeps them for every node (issue 15), at the level of one batch. */
class PostgresSharedSessionsTest {

    /**
     * A Session-Id used again right after its CCR-T, both states in one group commit, in either
     * order: the new session is what is kept (its request number 0 is lower than the closed
     * one's 2, and a merge by request number alone kept the closed one, so no other node could
     * continue the new one).
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSessionIdUsedAgainInTheSameBatchKeepsTheNewSession(boolean newFirst) throws Exception {
        try (JdbcBalanceStore store = JdbcBalanceStoreTest.open("postgres")) {
            JdbcBalanceStore.inTransaction(store.dataSource(),
                    tx -> PostgresSharedSessions.writeAll(tx, List.of(write("again;1", 0, false, "one"),
                            write("other;1", 0, false, "x"))));
            List<PostgresSharedSessions.Write> closedThenNew = List.of(write("again;1", 2, true, "one"),
                    write("again;1", 0, false, "two"), write("other;1", 1, false, "x"), write("again;1", 1, false, "two"),
                    write("again;1", 0, false, "two"));
            List<PostgresSharedSessions.Write> batch = closedThenNew;
            if (newFirst) {
                batch = new java.util.ArrayList<>(closedThenNew);
                java.util.Collections.reverse(batch);
            }
            List<PostgresSharedSessions.Write> written = batch;
            JdbcBalanceStore.inTransaction(store.dataSource(), tx -> PostgresSharedSessions.writeAll(tx, written));
            assertEquals("two 1 false", row(store, "again;1"), "the new session, at its highest request number");
            assertEquals("x 1 false", row(store, "other;1"), "the other session of the batch");
        }
    }

    private static PostgresSharedSessions.Write write(String id, long number, boolean closed, String instance) {
        return new PostgresSharedSessions.Write(id, "ocs-a", number, closed, 60, instance, "{}");
    }

    private static String row(JdbcBalanceStore store, String id) {
        return JdbcBalanceStore.inTransaction(store.dataSource(), tx -> {
            PreparedStatement s = tx.prepare(
                    "SELECT instance, last_number, closed FROM charging_session WHERE session_id = ?");
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getString(1) + " " + rs.getLong(2) + " " + rs.getBoolean(3);
            }
        });
    }
}
