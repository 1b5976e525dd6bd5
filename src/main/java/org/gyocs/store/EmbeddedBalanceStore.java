package org.gyocs.store;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

import org.gyocs.core.UnitType;
import org.gyocs.core.UsageNote;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The node's embedded store: an H2 file under data/ that this process alone opens, with the
 * balances charged in memory (MemoryBalances) and every acknowledged change in a journal synced
 * to disk before its answer (AmountJournal), written back to the database in the background.
 * The journal is locked for as long as the store is open: one node per embedded file.
 */
final class EmbeddedBalanceStore extends JdbcBalanceStore {
    private final AmountJournal journal;
    private final MemoryBalances memory;

    EmbeddedBalanceStore(HikariDataSource dataSource, String description, AmountJournal journal,
                         Path markCleanAtClose) {
        super(dataSource, description, true, markCleanAtClose);
        this.journal = journal;
        this.memory = new MemoryBalances(dataSource, journal);
    }

    @Override
    public Reservation reserve(String subscriber, UnitType unit, Long ratingGroup, long amount, String key,
                               Instant expires, String changeKey) {
        requireAmount("reservation", amount);
        return memory.reserve(subscriber, unit, ratingGroup, amount, key, expires, changeKey);
    }

    @Override
    public long settle(String subscriber, UnitType unit, Long ratingGroup, String key, long used, String changeKey,
                       UsageNote note) {
        requireAmount("usage", used);
        return memory.settle(subscriber, unit, ratingGroup, key, used, changeKey, note);
    }

    /** One change instead of two: one journal sync for the settlement and the next reservation. */
    @Override
    public Reservation settleAndReserve(String subscriber, UnitType unit, Long ratingGroup, String key, long used,
                                       long amount, Instant expires, String changeKey, UsageNote note) {
        requireAmount("usage", used);
        requireAmount("reservation", amount);
        return memory.settleAndReserve(subscriber, unit, ratingGroup, key, used, amount, expires, changeKey, note);
    }

    /** One change instead of two: a money CCR-U costs what a unit CCR-U does. */
    @Override
    public RatedReservation reserveRated(String subscriber, UnitType unit, Long ratingGroup, long amount, String key,
                                         Instant expires, String changeKey,
                                         java.util.function.LongUnaryOperator costOf, long settle, UsageNote note) {
        requireAmount("reservation", amount);
        requireAmount("usage", settle);
        return memory.reserveRated(subscriber, unit, ratingGroup, amount, key, expires, changeKey, costOf, settle,
                note);
    }

    @Override
    public void release(String key) {
        memory.release(key);
    }

    @Override
    public long debit(String subscriber, UnitType unit, Long ratingGroup, long amount, String changeKey,
                      UsageNote note) {
        requireAmount("debit", amount);
        return memory.debit(subscriber, unit, ratingGroup, amount, changeKey, note);
    }

    @Override
    public void recordUsage(UsageNote note) {
        memory.recordUsage(note, true);
    }

    @Override
    public java.util.concurrent.CompletionStage<Void> recordUsageSoon(UsageNote note) {
        memory.recordUsage(note, false);
        return KEPT;
    }

    /** A change key the memory holds and the database has not been written yet, else the database's. */
    @Override
    public Optional<Long> recordedChange(String subscriber, String changeKey) {
        Long unwritten = memory.recordedChange(subscriber, changeKey);
        return unwritten != null ? Optional.of(unwritten) : super.recordedChange(subscriber, changeKey);
    }

    @Override
    public long available(String subscriber, UnitType unit, Long ratingGroup) {
        return memory.available(subscriber, unit, ratingGroup);
    }

    @Override
    public int releaseExpired(Instant now) {
        return memory.releaseExpired(now); // its writer thread forgets old change keys
    }

    @Override
    void reloadBalances() {
        memory.reloadNow();
    }

    @Override
    Bucket current(Bucket inDatabase) {
        return memory.current(inDatabase);
    }

    @Override
    void closeCharging() {
        memory.close();
    }

    @Override
    boolean stoppedCleanly() {
        return memory.stoppedCleanly();
    }

    @Override
    void afterClose() {
        journal.close(); // last: nobody may open the database until it is marked
    }

    @Override
    public void onFailure(java.util.function.Consumer<String> listener) {
        memory.onFailure(listener);
    }

    @Override
    public Optional<String> failure() {
        return Optional.ofNullable(memory.failure());
    }

    @Override
    public Optional<org.gyocs.core.SyncPoints> syncPoints() {
        return Optional.of(memory.syncPoints());
    }

    /** The embedded store answers from memory; its failures are recorded, not probed. */
    @Override
    public Optional<String> probe(int timeoutSeconds) {
        return failure();
    }

    @Override
    public void answerDeadline(java.time.Duration d) {
        memory.deadline(d);
    }
}
