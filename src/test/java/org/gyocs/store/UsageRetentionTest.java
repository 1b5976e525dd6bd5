package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;

import org.gyocs.core.UsageNote;
import org.gyocs.testing.Stores;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** usage-retention-days: records that started longer ago are deleted, newer ones kept, open or not. */
class UsageRetentionTest {

    @ParameterizedTest
    @ValueSource(strings = {"h2", "embedded", "postgres"})
    void recordsThatStartedPastTheRetentionAreDeletedOthersKept(String kind) throws Exception {
        try (JdbcBalanceStore store = JdbcBalanceStore.open(Stores.fresh(kind), null, null, 2)) {
            store.usageRetention(Duration.ofDays(30));
            Instant now = Instant.parse("2026-12-02T12:00:00Z");
            UsageNote old = UsageNote.of(UsageNote.EVENT, "old", "491700000001", "e;1", "pcef", now.minus(Duration.ofDays(40)));
            UsageNote recent = UsageNote.of(UsageNote.EVENT, "recent", "491700000001", "e;2", "pcef", now.minus(Duration.ofDays(3)));
            UsageNote open = UsageNote.of(UsageNote.SESSION, "open", "491700000001", "s;1", "pcef", now.minus(Duration.ofDays(1)));
            store.recordUsage(old.end(now.minus(Duration.ofDays(39)), 2001L, null));
            store.recordUsage(recent.end(now.minus(Duration.ofDays(2)), 2001L, null));
            store.recordUsage(open.line(1L, org.gyocs.core.UnitType.OCTETS, 10, false, null)); // still open
            for (int i = 0; i < 100 && store.usage(null, Instant.EPOCH, now, 10).size() < 3; i++) {
                Thread.sleep(50); // the embedded store writes back within a second
            }
            assertEquals(3, store.usage(null, Instant.EPOCH, now, 10).size());
            assertEquals(1, store.purgeUsage(now));
            assertEquals(java.util.List.of("open", "recent"), store.usage(null, Instant.EPOCH, now, 10).stream()
                    .map(UsageRecords.UsageRecord::recordId).sorted().toList());
        }
    }
}
