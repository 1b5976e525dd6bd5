package org.gyocs.gy.jdiameter;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;

import org.jdiameter.common.api.concurrent.IConcurrentFactory;
import org.jdiameter.common.api.statistic.IStatistic;

/**
 * jDiameter's concurrent factory, remembering the threads made through it: a peer state machine
 * (OrderedFsmFactory) is given one, so that it knows its own queue threads.
 */
final class ThreadRecordingFactory implements IConcurrentFactory {
    private final IConcurrentFactory delegate;
    private final Set<Thread> made = ConcurrentHashMap.newKeySet();

    ThreadRecordingFactory(IConcurrentFactory delegate) {
        this.delegate = delegate;
    }

    /** True when the calling thread was made here (and has not ended). */
    boolean madeCurrentThread() {
        return made.contains(Thread.currentThread());
    }

    private Thread remembered(Thread t) {
        made.removeIf(old -> old.getState() == Thread.State.TERMINATED);
        made.add(t);
        return t;
    }

    @Override
    public Thread getThread(Runnable runnable) {
        return remembered(delegate.getThread(runnable));
    }

    @Override
    public Thread getThread(String namePrefix, Runnable runnable) {
        return remembered(delegate.getThread(namePrefix, runnable));
    }

    @Override
    public List<Thread> getThreads() {
        return delegate.getThreads();
    }

    @Override
    public ThreadGroup getThreadGroup() {
        return delegate.getThreadGroup();
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService(String name) {
        return delegate.getScheduledExecutorService(name);
    }

    @Override
    public Collection<ScheduledExecutorService> getScheduledExecutorServices() {
        return delegate.getScheduledExecutorServices();
    }

    @Override
    public void shutdownNow(ScheduledExecutorService service) {
        delegate.shutdownNow(service);
    }

    @Override
    public IStatistic getStatistic() {
        return delegate.getStatistic();
    }

    @Override
    public List<IStatistic> getStatistics() {
        return delegate.getStatistics();
    }

    @Override
    public void shutdownAllNow() {
        delegate.shutdownAllNow();
    }
}
