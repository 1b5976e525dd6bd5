package org.gyocs.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the store's statements are prepared, within one transaction. Statements belong to it,
 * not to the caller, who never closes them: a group committer keeps its connection and its
 * prepared statements from one transaction to the next, because H2 parses a SELECT ... FOR UPDATE
 * again on every prepare (it never caches one), and that parsing was a third of the store's CPU.
 */
interface SqlTransaction {

    PreparedStatement prepare(String sql) throws SQLException;

    /** The connection of the transaction (to make SQL arrays, for instance). */
    Connection connection();

    /** The statements of one transaction on a borrowed connection, closed with it. */
    final class OneShot implements SqlTransaction, AutoCloseable {
        private final Connection connection;
        private final List<PreparedStatement> prepared = new ArrayList<>();

        OneShot(Connection connection) {
            this.connection = connection;
        }

        @Override
        public Connection connection() {
            return connection;
        }

        @Override
        public PreparedStatement prepare(String sql) throws SQLException {
            PreparedStatement s = connection.prepareStatement(sql);
            prepared.add(s);
            return s;
        }

        @Override
        public void close() throws SQLException {
            for (PreparedStatement s : prepared) {
                s.close();
            }
        }
    }

    /**
     * A connection held for many transactions with each statement prepared once. Dropped whole
     * after any error, so a broken connection or a statement in a bad state never lives on.
     */
    final class Kept implements SqlTransaction, AutoCloseable {
        private final Connection connection;
        private final Map<String, PreparedStatement> prepared = new HashMap<>();

        Kept(Connection connection) {
            this.connection = connection;
        }

        @Override
        public Connection connection() {
            return connection;
        }

        @Override
        public PreparedStatement prepare(String sql) throws SQLException {
            PreparedStatement s = prepared.get(sql);
            if (s == null) {
                s = connection.prepareStatement(sql);
                prepared.put(sql, s);
            }
            return s;
        }

        @Override
        public void close() {
            for (PreparedStatement s : prepared.values()) {
                try {
                    s.close();
                } catch (SQLException e) {
                    // the connection is being dropped anyway
                }
            }
            try {
                connection.close();
            } catch (SQLException e) {
                // returned to the pool broken: the pool tests and replaces it
            }
        }
    }
}
