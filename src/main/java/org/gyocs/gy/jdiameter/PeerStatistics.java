package org.gyocs.gy.jdiameter;

import java.util.List;
import java.util.Set;

import org.jdiameter.common.api.statistic.IStatistic;
import org.jdiameter.common.api.statistic.IStatistic.Groups;
import org.jdiameter.common.api.statistic.IStatisticManager;
import org.jdiameter.common.api.statistic.IStatisticRecord;
import org.jdiameter.common.api.statistic.IStatisticRecord.Counters;
import org.jdiameter.common.api.statistic.IStatisticRecord.ValueHolder;

/**
 * jDiameter's statistics, as a peer's state machine uses them, with one repair: a peer's event
 * thread registers a statistic named after the peer, and an earlier state machine of the same
 * peer (a PCEF that reconnected at once) may still hold that name. jDiameter then threw
 * "Statistic already defined" out of the new connection's event handling, lost the event and
 * left the peer without an event thread: seen once in CI, a freeDiameter client whose 100
 * requests all timed out. The stale statistic is dropped instead (they are counters for JMX,
 * which this node does not export).
 */
final class PeerStatistics implements IStatisticManager {
    private final IStatisticManager delegate;

    PeerStatistics(IStatisticManager delegate) {
        this.delegate = delegate;
    }

    @Override
    public IStatistic newStatistic(String name, Groups group, IStatisticRecord... records) {
        try {
            return delegate.newStatistic(name, group, records);
        } catch (IllegalArgumentException alreadyDefined) {
            for (IStatistic s : delegate.getStatistic()) {
                if (name.equals(s.getName())) {
                    delegate.removeStatistic(s);
                }
            }
            return delegate.newStatistic(name, group, records);
        }
    }

    @Override
    public IStatisticRecord newCounterRecord(Counters counter) {
        return delegate.newCounterRecord(counter);
    }

    @Override
    public IStatisticRecord newCounterRecord(Counters counter, ValueHolder holder) {
        return delegate.newCounterRecord(counter, holder);
    }

    @Override
    public IStatisticRecord newCounterRecord(Counters counter, ValueHolder holder, IStatisticRecord... records) {
        return delegate.newCounterRecord(counter, holder, records);
    }

    @Override
    public IStatisticRecord newCounterRecord(String name, String description) {
        return delegate.newCounterRecord(name, description);
    }

    @Override
    public IStatisticRecord newCounterRecord(String name, String description, ValueHolder holder) {
        return delegate.newCounterRecord(name, description, holder);
    }

    @Override
    public IStatisticRecord newPerSecondCounterRecord(String name, Counters counter, IStatisticRecord record) {
        return delegate.newPerSecondCounterRecord(name, counter, record);
    }

    @Override
    public void removePerSecondCounterRecord(IStatisticRecord record) {
        delegate.removePerSecondCounterRecord(record);
    }

    @Override
    public void removeStatistic(IStatistic statistic) {
        delegate.removeStatistic(statistic);
    }

    @Override
    public boolean isOn() {
        return delegate.isOn();
    }

    @Override
    public long getPause() {
        return delegate.getPause();
    }

    @Override
    public long getDelay() {
        return delegate.getDelay();
    }

    @Override
    public Set<String> getEnabled() {
        return delegate.getEnabled();
    }

    @Override
    public List<IStatisticRecord> getPSStatisticRecord() {
        return delegate.getPSStatisticRecord();
    }

    @Override
    public List<IStatistic> getStatistic() {
        return delegate.getStatistic();
    }
}
