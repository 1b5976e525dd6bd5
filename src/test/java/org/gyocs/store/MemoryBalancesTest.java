package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.gyocs.core.UnitType;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's balances in memory on the embedded store: acknowledged means journalled. */
class MemoryBalancesTest {
    private static final String SUB = "4917095";
    @TempDir
    Path dir;

    private String url() {
        return Stores.embeddedFile(dir);
    }

    private long journalled() throws Exception {
        long sum = 0;
        for (long[] r : AmountJournal.readAll(dir.resolve("ocs.journal"))) {
            sum += r[2];
        }
        return sum;
    }

    @Test
    void aDebitIsOnDiskInTheJournalWhenItReturns() throws Exception {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4)) {
            node.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1_000_000, 0, null, null)), false);
            long debited = 0;
            for (int i = 1; i <= 20; i++) {
                debited += node.debit(SUB, UnitType.UNITS, null, i);
                assertEquals(-debited, journalled(), "every acknowledged debit, at once");
            }
        }
    }

    /**
     * A request answered 5012 and sent again after a tariff import that made it priced: its
     * change key finds the unpriced reservation made the first time, which stands (its units
     * held, no money), instead of failing on a result of another shape at every retry.
     */
    @Test
    void aChangeSentAgainAsPricedAnswersTheUnpricedReservationItMadeFirst() throws Exception {
        try (JdbcBalanceStore node = JdbcBalanceStore.open(url(), null, null, 4)) {
            node.add(List.of(new Bucket(0, SUB, UnitType.OCTETS, 1000, 0, null, null),
                    new Bucket(0, SUB, UnitType.MONEY, 500, 0, null, null)), false);
            java.time.Instant later = java.time.Instant.now().plusSeconds(60);
            assertEquals(300, node.reserve(SUB, UnitType.OCTETS, null, 300, "s;1|rg", later, "s;1|0").reserved());
            org.gyocs.core.BalanceStore.RatedReservation again = node.reserveRated(SUB, UnitType.OCTETS, null, 300,
                    "s;1|rg", later, "s;1|0", units -> units, 0, null);
            assertEquals(new org.gyocs.core.BalanceStore.RatedReservation(300, 700, 0, 0), again);
            assertEquals(700, node.available(SUB, UnitType.OCTETS, null), "held once");
            assertEquals(500, node.available(SUB, UnitType.MONEY, null), "no money held");
        }
    }

    @Test
    void aJournalThatCannotBeWrittenRefusesChangesAndLosesNoAcknowledgedOne() throws Exception {
        try (JdbcBalanceStore admin = JdbcBalanceStore.openForAdministration(url(), null, null)) {
            admin.add(List.of(new Bucket(0, SUB, UnitType.UNITS, 1000, 0, null, null)), false);
            AmountJournal journal = AmountJournal.openAndRecover(admin.dataSource());
            MemoryBalances memory = new MemoryBalances(admin.dataSource(), journal);
            java.util.concurrent.CompletableFuture<String> told = new java.util.concurrent.CompletableFuture<>();
            memory.onFailure(told::complete);
            try {
                assertEquals(10, memory.debit(SUB, UnitType.UNITS, null, 10, null, null));
                journal.close(); // as a disk that fails: the next write throws
                StoreException e = assertThrows(StoreException.class, () -> memory.debit(SUB, UnitType.UNITS, null, 20, null, null));
                assertTrue(e.getMessage().contains("journal failed"), e.getMessage());
                // the application is told, and stops the node (issue 13, item 14): not 5012 forever
                assertTrue(told.get(5, java.util.concurrent.TimeUnit.SECONDS).contains("journal failed"));
                assertThrows(StoreException.class, () -> memory.debit(SUB, UnitType.UNITS, null, 30, null, null),
                        "and every change after it, until the node restarts");
                assertThrows(StoreException.class, () -> memory.reserve(SUB, UnitType.UNITS, null, 5, "k|1",
                        java.time.Instant.now().plusSeconds(60), null), "no grant either: it could not be settled");
            } finally {
                memory.close();
            }
        }
        try (JdbcBalanceStore restarted = JdbcBalanceStore.open(url(), null, null, 4)) {
            assertEquals(990, restarted.available(SUB, UnitType.UNITS, null), "the acknowledged debit only");
        }
    }
}
