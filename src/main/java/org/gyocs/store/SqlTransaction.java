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

    /**
     * Notes that this transaction changes a bucket's amount by delta, for the embedded store's
     * journal (AmountJournal), which keeps such changes durable. Only a group commit's session
     * keeps them; elsewhere there is no journal and nothing to note.
     */
    default void amountChanged(long bucketId, long delta) {
    }

    /** The statements of one transaction on a borrowed connection, closed with it. */
    final class OneShot implements SqlTransaction, AutoCloseable {
        private final Connection connection;
        private final List<PreparedStatement> prepared = new ArrayList<>();

        OneShot(Connection connection) {
            this.connection = connection;
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
        /** (bucket id, delta) pairs of the open transaction. */
        private long[] amountChanges = new long[64];
        private int amountChangeCount;

        Kept(Connection connection) {
            this.connection = connection;
        }

        @Override
        public void amountChanged(long bucketId, long delta) {
            if (amountChangeCount + 2 > amountChanges.length) {
                amountChanges = java.util.Arrays.copyOf(amountChanges, amountChanges.length * 2);
            }
            amountChanges[amountChangeCount++] = bucketId;
            amountChanges[amountChangeCount++] = delta;
        }

        /** The amount changes of the transaction just committed, which the next one starts without. */
        long[] takeAmountChanges() {
            long[] taken = java.util.Arrays.copyOf(amountChanges, amountChangeCount);
            amountChangeCount = 0;
            return taken;
        }

        /** After a rollback: those changes never happened. */
        void forgetAmountChanges() {
            amountChangeCount = 0;
        }

        Connection connection() {
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
