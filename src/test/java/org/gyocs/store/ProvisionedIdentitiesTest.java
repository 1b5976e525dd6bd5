package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A node remembers which identities are provisioned; another process (ocs-admin, a second node)
 * changing subscribers must still be seen, within the check interval.
 */
class ProvisionedIdentitiesTest {
    private static final long SEEN_WITHIN_MS = ProvisionedIdentities.CHECK_INTERVAL_NANOS / 1_000_000 + 2_000;

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void changesByAnotherProcessAreSeenWithinTheInterval(String kind) throws Exception {
        String url = Stores.fresh(kind);
        String user = kind.equals("postgres") ? "postgres" : null;
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url, user, null, 4);
             JdbcBalanceStore admin = JdbcBalanceStore.open(url, user, null, 2)) {
            List<String> ids = List.of("262010000000001", "4917010");
            assertEquals(Optional.empty(), node.findSubscriber(ids), "nobody provisioned yet (now remembered)");

            admin.add(List.of(new Bucket(0, "4917010", UnitType.OCTETS, 500, 0, null, null)), false);
            assertEquals(Optional.of("4917010"), eventually(() -> node.findSubscriber(ids), Optional.of("4917010")));

            admin.delete("4917010");
            assertEquals(Optional.empty(), eventually(() -> node.findSubscriber(ids), Optional.empty()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void aLookupIsRememberedUntilTheGenerationMoves(String kind) throws Exception {
        String url = Stores.fresh(kind);
        String user = kind.equals("postgres") ? "postgres" : null;
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url, user, null, 4)) {
            assertEquals(Optional.empty(), node.findSubscriber(List.of("4917011")));
            // A row written behind the store's back, without moving the generation: not seen,
            // which shows the answer above is remembered rather than queried again.
            sql(node, "INSERT INTO subscriber (id) VALUES ('4917011')");
            Thread.sleep(ProvisionedIdentities.CHECK_INTERVAL_NANOS / 1_000_000 * 2);
            assertEquals(Optional.empty(), node.findSubscriber(List.of("4917011")));
            // What the README tells an operator who edits subscribers with SQL.
            sql(node, "UPDATE provisioning SET generation = generation + 1");
            assertEquals(Optional.of("4917011"),
                    eventually(() -> node.findSubscriber(List.of("4917011")), Optional.of("4917011")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void ownChangesAreSeenAtOnce(String kind) throws Exception {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(Stores.fresh(kind), null, null, 4)) {
            assertEquals(Optional.empty(), node.findSubscriber(List.of("4917012")));
            node.add(List.of(new Bucket(0, "4917012", UnitType.SECONDS, 60, 0, null, null)), false);
            assertEquals(Optional.of("4917012"), node.findSubscriber(List.of("4917012")));
            assertTrue(node.delete("4917012"));
            assertEquals(Optional.empty(), node.findSubscriber(List.of("4917012")));
        }
    }

    private static void sql(JdbcBalanceStore store, String statement) throws Exception {
        try (Connection c = store.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate(statement);
            c.commit();
        }
    }

    private static <T> T eventually(Supplier<T> probe, T expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + SEEN_WITHIN_MS;
        T got = probe.get();
        while (!got.equals(expected) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            got = probe.get();
        }
        return got;
    }
}
