package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Session states as PostgreSQL keeps them for every node (issue 15), at the level of one batch. */
class PostgresSharedSessionsTest {

    /**
     * A Session-Id used again right after its CCR-T, both states in one group commit: the new
     * session is what is kept (its request number 0 is lower than the closed one's 2, and a merge
     * by request number alone kept the closed one, so no other node could continue the new one).
     */
    @Test
    void aSessionIdUsedAgainInTheSameBatchKeepsTheNewSession() throws Exception {
        try (JdbcBalanceStore store = JdbcBalanceStoreTest.open("postgres")) {
            PostgresSharedSessions.Write first = new PostgresSharedSessions.Write("again;1", "ocs-a", 0, false, 60,
                    "one", "{}");
            JdbcBalanceStore.inTransaction(store.dataSource(),
                    tx -> PostgresSharedSessions.writeAll(tx, List.of(first)));
            PostgresSharedSessions.Write closed = new PostgresSharedSessions.Write("again;1", "ocs-a", 2, true, 60,
                    "one", "{}");
            PostgresSharedSessions.Write reopened = new PostgresSharedSessions.Write("again;1", "ocs-a", 0, false,
                    60, "two", "{}");
            PostgresSharedSessions.Write updated = new PostgresSharedSessions.Write("again;1", "ocs-a", 1, false,
                    60, "two", "{}");
            PostgresSharedSessions.Write stale = new PostgresSharedSessions.Write("again;1", "ocs-a", 0, false,
                    60, "two", "{}");
            JdbcBalanceStore.inTransaction(store.dataSource(),
                    tx -> PostgresSharedSessions.writeAll(tx, List.of(closed, reopened, updated, stale)));
            String row = JdbcBalanceStore.inTransaction(store.dataSource(), tx -> {
                PreparedStatement s = tx.prepare(
                        "SELECT instance, last_number, closed FROM charging_session WHERE session_id = 'again;1'");
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    return rs.getString(1) + " " + rs.getLong(2) + " " + rs.getBoolean(3);
                }
            });
            assertEquals("two 1 false", row, "the new session, at its highest request number");
        }
    }
}
