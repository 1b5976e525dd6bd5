package org.gyocs.gy.jdiameter;

import java.util.concurrent.TimeUnit;

import org.jdiameter.api.Configuration;
import org.jdiameter.api.InternalException;
import org.jdiameter.api.Message;
import org.jdiameter.api.OverloadException;
import org.jdiameter.api.validation.AvpNotAllowedException;
import org.jdiameter.api.validation.ValidatorLevel;
import org.jdiameter.api.app.StateEvent;
import org.jdiameter.client.api.fsm.EventTypes;
import org.jdiameter.client.api.io.TransportException;
import org.jdiameter.client.api.fsm.FsmEvent;
import org.jdiameter.client.impl.fsm.FsmState;
import org.jdiameter.client.api.fsm.IContext;
import org.jdiameter.server.api.IStateMachine;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;
import org.jdiameter.common.api.statistic.IStatisticManager;
import org.jdiameter.server.impl.fsm.FsmFactoryImpl;
import org.jdiameter.server.impl.fsm.PeerFSMImpl;

/**
 * jDiameter's peer state machine factory, with repairs (configured in jdiameter-config.xml,
 * Extensions/PeerFsmFactory). PeerFSMImpl starts its queue thread in its constructor but that
 * thread counts itself only once it runs; the CER event that follows at once sees no thread,
 * starts a second set and so two threads consume one peer's events. One of them then handles a
 * request sent right after the CEA while the other has not yet marked the peer OKAY, and the
 * request is dropped in state DOWN without an answer (seen: 18 of 20,000 CCRs of a load run that
 * started sending on receipt of the CEA). Waiting in the constructor until the first thread has
 * counted itself keeps one consumer, so events stay in order. The same start happens again in
 * handleEvent when a peer's thread has ended (the peer went DOWN and comes back): there starts
 * are made one at a time and wait the same way. And a stale statistic of the peer's earlier
 * state machine no longer stops the new one (PeerStatistics). A thread waiting for room in a
 * full queue gives up once the peer is down, whose queue nobody reads any more, instead of
 * waiting the whole watchdog time.
 */
public final class OrderedFsmFactory extends FsmFactoryImpl {
    private static final org.apache.logging.log4j.Logger log =
            org.apache.logging.log4j.LogManager.getLogger(OrderedFsmFactory.class);

    public OrderedFsmFactory(IStatisticManager statisticFactory) {
        super(statisticFactory);
    }

    @Override
    public IStateMachine createInstanceFsm(IContext context, IConcurrentFactory concurrentFactory, Configuration config)
            throws InternalException {
        return new OrderedPeerFsm(context, new ThreadRecordingFactory(concurrentFactory), config,
                new PeerStatistics(statisticFactory));
    }

    /** PeerFSMImpl that never has two queue threads: each start returns once its thread runs. */
    static final class OrderedPeerFsm extends PeerFSMImpl {
        /** Static: the superclass constructor's thread may call handleEvent before our fields exist; starts are rare. */
        private static final Object STARTING = new Object();

        /** How often a thread waiting for room in the queue looks whether the queue thread was told to stop. */
        private static final long ROOM_POLL_MILLIS = 100;

        /** Makes this machine's queue threads; null while the superclass constructor runs. */
        private final ThreadRecordingFactory threads;

        OrderedPeerFsm(IContext context, ThreadRecordingFactory concurrentFactory, Configuration config,
                       IStatisticManager statisticFactory) {
            super(context, concurrentFactory, config, statisticFactory);
            this.threads = concurrentFactory;
            awaitQueueThread();
        }

        @Override
        public boolean handleEvent(StateEvent event) throws InternalError, OverloadException {
            if (handledInline(event)) {
                return true;
            }
            if (eventQueue.remainingCapacity() == 0 && threads != null && threads.madeCurrentThread()) {
                // this machine's own queue thread (an error answer to a request it handles, once
                // the connection failed) adding to its full queue: jDiameter waits up to the
                // watchdog time (30 s) for room only this thread could make. Refused at once, as
                // jDiameter refuses after that wait; every other thread still waits, while the
                // queue thread runs.
                throw new OverloadException("FSM overloaded: the queue of " + context.getPeerDescription() + " is full");
            }
            if (numberOfThreadsRunning.get() > 0 && mustRun) { // a running thread takes it: the usual case
                if (!validated(event)) {
                    return false;
                }
                if (queued(event)) {
                    return true;
                }
                if (!opensAConnection(event)) {
                    throw new OverloadException("The queue of " + context.getPeerDescription()
                            + " is full and no longer read: the peer is down");
                }
                // the peer went down while its new connection's first event waited: that event
                // starts a new queue thread, as it would have a moment later
            }
            awaitStoppedThreads();
            synchronized (STARTING) { // one start at a time, each returning once its thread counts
                if (numberOfThreadsRunning.get() > 0 && !mustRun) {
                    // a queue thread told to stop has not ended (its last event still runs):
                    // jDiameter would queue behind it, where nobody reads any more
                    throw new OverloadException("The queue thread of " + context.getPeerDescription()
                            + " is still stopping");
                }
                boolean queued = super.handleEvent(event);
                awaitQueueThread();
                return queued;
            }
        }

        /**
         * A request received or an answer sent on an open connection, with nothing queued before it,
         * is handled on the calling thread (the connection's reader; the thread that sends the
         * answers a journal sync releases, whose bytes the transport holds for one write) as the
         * queue thread would handle it in state OKAY: the inactivity timer restarted and the
         * message passed on, or the message encoded. Each message went through the queue thread
         * before, two thread hand-offs per CCR: on two cores the wake-ups cost more than the work.
         * Everything else (other threads' sends, the watchdog, CER/DPR, any other state, a
         * validating dictionary) goes through the queue in order.
         */
        private boolean handledInline(StateEvent event) {
            if (state != FsmState.OKAY || !mustRun || !eventQueue.isEmpty() || !(event instanceof FsmEvent message)
                    || dictionary.isEnabled()) {
                return false;
            }
            if (message.getType() == EventTypes.RECEIVE_MSG_EVENT) {
                setInActiveTimer();
                try {
                    context.receiveMessage(message.getMessage());
                } catch (RuntimeException e) {
                    // as the queue thread does: the message is dropped, the connection goes on
                    log.warn("Cannot process a message from {}: {}", context.getPeerDescription(), e.toString());
                }
                return true;
            }
            if (message.getType() == EventTypes.SEND_MSG_EVENT && LimitedTransport.batching()) {
                // only where the transport holds the bytes for the batch's one write: nothing
                // blocks on the socket here, and the bytes leave after the session's state moved
                try {
                    return context.sendMessage(message.getMessage()); // false: not sent, queued below
                } catch (TransportException | OverloadException | RuntimeException e) {
                    // marked sent already: the queue would drop it; the connection is closing
                    log.debug("Cannot send to {}: {}", context.getPeerDescription(), e.toString());
                    return true;
                }
            }
            return false;
        }

        /** A received message checked against the dictionary when it validates, as jDiameter's handleEvent does. */
        private boolean validated(StateEvent event) {
            if (event.getType() != EventTypes.RECEIVE_MSG_EVENT || !(event.getData() instanceof Message message)
                    || !dictionary.isEnabled() || dictionary.getReceiveLevel() == ValidatorLevel.OFF) {
                return true;
            }
            try {
                dictionary.validate(message, true);
                return true;
            } catch (AvpNotAllowedException e) {
                log.error("Failed to validate incoming message.", e);
                return false;
            }
        }

        /**
         * Queues an event as jDiameter does, waiting for room up to the watchdog time (30 s), but
         * only until the queue thread is told to stop; false then. When the peer goes down its
         * thread ends and leaves the queue as it was: a thread waiting for room in a full queue
         * then waited the whole 30 s for nothing. That thread is the connection's reader, which
         * holds the connection's lock meanwhile, so a node stopping just after it closed a peer
         * that read nothing waited too (seen once in CI: 32.8 s).
         */
        private boolean queued(StateEvent event) throws OverloadException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IAC_TIMEOUT);
            try {
                while (!eventQueue.offer(event, Math.max(1, Math.min(ROOM_POLL_MILLIS,
                        TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))), TimeUnit.MILLISECONDS)) {
                    // mustRun is a plain field: the count, decremented after it is cleared, is
                    // read too, so that its end is seen for certain
                    if (!mustRun || numberOfThreadsRunning.get() == 0) {
                        return false;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new OverloadException("FSM overloaded");
                    }
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InternalError("Cannot queue " + event + ": interrupted");
            }
        }

        /** The first event of a new connection, which must find a queue thread. */
        private static boolean opensAConnection(StateEvent event) {
            return event.getType() == EventTypes.START_EVENT || event.getType() == EventTypes.CER_EVENT
                    || event.getType() == EventTypes.CONNECT_EVENT;
        }

        /**
         * Waits (up to 2 s) for queue threads told to stop to end: jDiameter starts a new one, with
         * an emptied queue, only once none counts itself. Until then an event would be queued
         * behind a full queue nobody reads.
         */
        private void awaitStoppedThreads() {
            awaitAtMostTwoSeconds(() -> mustRun || numberOfThreadsRunning.get() == 0);
        }

        private void awaitQueueThread() {
            awaitAtMostTwoSeconds(() -> numberOfThreadsRunning.get() > 0);
        }

        /**
         * Waits up to 2 s for {@code done}: spinning for the first millisecond (a thread starts
         * in microseconds), then sleeping a millisecond at a time (a stopping thread may still
         * finish its last event).
         */
        private static void awaitAtMostTwoSeconds(java.util.function.BooleanSupplier done) {
            long start = System.nanoTime();
            while (!done.getAsBoolean() && System.nanoTime() - start < 2_000_000_000L) {
                if (System.nanoTime() - start < 1_000_000L) {
                    Thread.onSpinWait();
                    Thread.yield();
                    continue;
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
