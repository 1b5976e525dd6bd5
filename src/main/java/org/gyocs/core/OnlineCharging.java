package org.gyocs.core;

import static org.gyocs.core.BalanceStore.MONEY_HOLD;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.rating.Price;
import org.gyocs.core.rating.TariffBook;

/**
 * The Online Charging System: decides every answer from subscriber balances (RFC 4006 sections
 * 5 and 6, 3GPP TS 32.299). It reserves on CCR-I/U, debits reported usage on CCR-U/T, releases
 * on CCR-T or when a session stays silent past Tcc, debits or refunds events at once, and
 * answers a retransmitted request with its first answer, never debiting twice.
 *
 * <p>Rules for usage: a Used-Service-Unit is debited against the service's reservation; usage
 * beyond the reservation is debited too, from what is still available, but a balance never goes
 * below zero (what cannot be debited is lost to the operator, as an OCS cannot bill it). Then
 * the rest of the reservation is released, and a new one made if units are requested.
 */
public final class OnlineCharging implements CreditControl, AutoCloseable {
    private static final Logger log = LogManager.getLogger(OnlineCharging.class);
    /** Requested-Action values (RFC 4006 section 8.41). */
    static final int DIRECT_DEBITING = 0;
    static final int REFUND_ACCOUNT = 1;
    static final int CHECK_BALANCE = 2;
    static final int PRICE_ENQUIRY = 3;
    /** Check-Balance-Result values (RFC 4006 section 8.6). */
    static final int ENOUGH_CREDIT = 0;
    static final int NO_CREDIT = 1;
    private static final String IMPLICIT_SERVICE = "-";
    /** Event answers kept for retransmissions (events keep no session). */
    private static final int EVENT_CACHE_SIZE = 10_000;
    private static final int CLOSED_CACHE_SIZE = 10_000;

    private record ClosedSession(long lastRequestNumber, CreditControlAnswer lastAnswer, String peer) {
    }

    private final ChargingPolicy policy;
    private final BalanceStore store;
    private final CreditControlCore validator;
    private final Map<String, ChargingSession> sessions = new ConcurrentHashMap<>();
    private final Map<EventKey, CreditControlAnswer> recentEvents = boundedMap(EVENT_CACHE_SIZE);
    private final NodeStatistics statistics;
    /**
     * Sessions ended by CCR-T, kept only to answer a retransmitted CCR-T (or a late CCR-U: 5002)
     * the same way: their last request number and answer, at most {@value #CLOSED_CACHE_SIZE}.
     * Keeping whole sessions until Tcc instead held 550 bytes per session for two hours.
     */
    private final Map<String, ClosedSession> recentlyClosed = boundedMap(CLOSED_CACHE_SIZE);
    private final ScheduledExecutorService supervision;
    /** The heartbeat of a node sharing its sessions (SharedSessions#heartbeat); idle otherwise. */
    private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ocs-heartbeat");
        t.setDaemon(true);
        return t;
    });
    /** The tariffs in force, replaced whole by an import (TariffBook is immutable). */
    private volatile TariffBook tariffs = TariffBook.EMPTY;
    /** Where sessions are kept for the other nodes of the OCS (a shared store), or NONE. */
    private volatile SharedSessions shared = SharedSessions.NONE;

    public OnlineCharging(ChargingPolicy policy, BalanceStore store, NodeStatistics statistics) {
        this.policy = policy;
        this.store = store;
        this.statistics = statistics;
        this.validator = new CreditControlCore(policy.grants());
        this.supervision = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ocs-session-supervision");
            t.setDaemon(true);
            return t;
        });
        // Reservations of a node that died are released once their Tcc has passed.
        supervision.scheduleWithFixedDelay(this::superviseSessions, 1, 1, TimeUnit.SECONDS);
    }

    public ChargingPolicy policy() {
        return policy;
    }

    public TariffBook tariffs() {
        return tariffs;
    }

    /** Takes new tariffs: requests decided from now on are priced by them (open grants keep their price). */
    public void tariffs(TariffBook book) {
        this.tariffs = java.util.Objects.requireNonNull(book);
    }

    /**
     * Keeps sessions where the other nodes sharing the store find them: any node then answers
     * any request of any session, and the sessions of a node that is gone are released by
     * another (see SharedSessions).
     */
    public void shareSessions(SharedSessions sessions) {
        if (!sessions.shared()) {
            this.shared = sessions;
            return;
        }
        beat(sessions); // before its first session: a node that dies at once is then known to be gone
        this.shared = java.util.Objects.requireNonNull(sessions);
        // on a thread of its own: claiming a dead node's sessions, or a slow store, must not
        // silence this node's heartbeat, or the others would take its sessions in turn
        heartbeats.scheduleWithFixedDelay(() -> beat(sessions), 1, 1, TimeUnit.SECONDS);
    }

    private void beat(SharedSessions shared) {
        try {
            if (shared.heartbeat()) {
                readSessionsAgain();
            }
        } catch (RuntimeException e) {
            log.warn("Heartbeat not written ({}): written again in a second", e.toString());
        }
    }

    /**
     * After a heartbeat silence longer than the node timeout, the other nodes may have taken this
     * node's sessions: released their holds and ended their records. Its copies are forgotten, so
     * that each session's next request reads the store: one still there continues as before, one
     * taken is unknown (5002, as on every node). Without this, a taken session continued here,
     * its usage debited from the free balance and kept on the record already ended.
     */
    private void readSessionsAgain() {
        int n = sessions.size();
        sessions.clear();
        log.warn("This node's heartbeat was not written for longer than the node timeout: the other nodes may "
                + "have released its sessions; its {} open session(s) are read from the store at their next request",
                n);
    }

    /** Whether this node's sessions are shared with the other nodes of its store. */
    public boolean sharesSessions() {
        return shared.shared();
    }

    /** Open sessions, for statistics and the memory benchmark. */
    public int openSessions() {
        return sessions.size();
    }

    /**
     * The open sessions, of one subscriber or all ({@code subscriber} null), at most {@code limit},
     * for the operator (GET /sessions). Each is read under its own lock: a consistent view of it.
     */
    public java.util.List<SessionView> sessions(String subscriber, int limit) {
        java.util.List<SessionView> out = new java.util.ArrayList<>();
        for (ChargingSession s : sessions.values()) {
            if (out.size() >= limit) {
                break;
            }
            if (subscriber == null || subscriber.equals(s.subscriber)) {
                SessionView v = view(s);
                if (v != null) {
                    out.add(v);
                }
            }
        }
        out.sort(java.util.Comparator.comparing(SessionView::sessionId));
        return out;
    }

    /**
     * The open sessions of whoever {@code who} names: the provisioned subscriber charged, or a
     * Subscription-Id of the session's CCR-I (a subscriber granted by policy has no other name),
     * at most {@code limit}, for the operator (GET /sessions?subscriber=).
     */
    public java.util.List<SessionView> sessionsNamed(String who, int limit) {
        java.util.List<SessionView> out = new java.util.ArrayList<>();
        for (ChargingSession s : sessions.values()) {
            if (out.size() >= limit) {
                break;
            }
            if (who.equals(s.subscriber) || s.subscriptionIds.stream().anyMatch(id -> who.equals(id.data()))) {
                SessionView v = view(s);
                if (v != null) {
                    out.add(v);
                }
            }
        }
        out.sort(java.util.Comparator.comparing(SessionView::sessionId));
        return out;
    }

    /** How many sessions of this subscriber are open (no lock taken: a count for a refusal). */
    public int openSessionsOf(String subscriber) {
        int n = 0;
        for (ChargingSession s : sessions.values()) {
            if (subscriber.equals(s.subscriber) && !s.closed) {
                n++;
            }
        }
        return n;
    }

    /** Every subscriber with an open session. */
    public java.util.Set<String> subscribersInSession() {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (ChargingSession s : sessions.values()) {
            if (!s.closed) {
                out.add(s.subscriber);
            }
        }
        return out;
    }

    /** One open session, or empty. */
    public java.util.Optional<SessionView> session(String sessionId) {
        ChargingSession s = sessions.get(sessionId);
        return s == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(view(s));
    }

    private static SessionView view(ChargingSession s) {
        synchronized (s) {
            if (s.closed) {
                return null;
            }
            // to the millisecond: derived from the monotonic clock, finer digits would move between reads
            Instant at = Instant.now().minusNanos(System.nanoTime() - s.lastSeenNanos)
                    .truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            java.util.List<SessionView.Grant> grants = new java.util.ArrayList<>();
            CreditControlAnswer a = s.lastAnswer;
            if (a != null) {
                if (a.granted() != null) {
                    grants.add(new SessionView.Grant(null, null, a.granted().type().name().toLowerCase(java.util.Locale.ROOT),
                            a.granted().amount(), a.validityTime() == null ? null : at.plusSeconds(a.validityTime()),
                            a.resultCode()));
                }
                for (ServiceCreditAnswer m : a.services()) {
                    UnitAmount g = m.granted();
                    grants.add(new SessionView.Grant(m.ratingGroup(), m.serviceIdentifier(),
                            g == null ? null : g.type().name().toLowerCase(java.util.Locale.ROOT), g == null ? 0 : g.amount(),
                            m.validityTime() == null ? null : at.plusSeconds(m.validityTime()), m.resultCode()));
                }
            }
            return new SessionView(s.sessionId, s.subscriber, s.subscriptionIds.stream().map(SubscriptionId::data).toList(),
                    s.peer, s.lastRequestNumber, at, grants);
        }
    }

    @Override
    public boolean holdsOpenSessionFor(String sessionId, String sender) {
        ChargingSession s = sessions.get(sessionId);
        return s != null && java.util.Objects.equals(s.peer, sender) && open(s);
    }

    @Override
    public boolean holdsOpenSession(String sessionId) {
        ChargingSession s = sessions.get(sessionId);
        return s != null && open(s);
    }

    private static boolean open(ChargingSession s) {
        synchronized (s) {
            return !s.closed;
        }
    }

    /**
     * Requests of unprovisioned subscribers change no balance: an event or CCR-I whose identities
     * the store knows to be unprovisioned, an update or termination of a session without a
     * subscriber. A CCR-U/T of a session this node does not hold is not among them: it may be
     * one whose CCR-I is still being decided, and must queue behind it.
     */
    @Override
    public boolean waitsBeyondTheSync(CreditControlRequest r) {
        return r.requestType() == RequestType.EVENT && r.requestedAction() != null
                && r.requestedAction() == REFUND_ACCOUNT;
    }

    @Override
    public boolean answersAtOnce(CreditControlRequest r) {
        RequestType type = r.requestType();
        if (type == null) {
            return true; // answered with a validation error (answer() validates; this needs only the type)
        }
        if (type != RequestType.EVENT && shared.shared()) {
            return false; // a session request reads and writes its shared state in the store
        }
        return switch (type) {
            case INITIAL, EVENT -> store.isKnownUnprovisioned(identities(r));
            case UPDATE, TERMINATION -> {
                ChargingSession s = sessions.get(r.sessionId());
                yield s != null && s.subscriber == null;
            }
        };
    }

    @Override
    public Optional<CreditControlAnswer> validate(CreditControlRequest request) {
        return validator.validate(request);
    }

    @Override
    public CreditControlAnswer answer(CreditControlRequest r) {
        Optional<CreditControlAnswer> error = validate(r);
        if (error.isPresent()) {
            return error.get();
        }
        return switch (r.requestType()) {
            case INITIAL -> initial(r);
            case UPDATE, TERMINATION -> updateOrTerminate(r);
            case EVENT -> event(r);
        };
    }

    // ------------------------------------------------------------------ sessions

    private CreditControlAnswer initial(CreditControlRequest r) {
        if (shared.shared() && sessions.get(r.sessionId()) == null) {
            CreditControlAnswer a = withoutReading(() -> opened(r, true));
            if (a != null) {
                return a;
            }
        }
        ChargingSession existing = adopted(r.sessionId(), sessions.get(r.sessionId()));
        if (existing != null) {
            CreditControlAnswer a = initialOnOpenSession(existing, r);
            if (a != null) {
                return a;
            }
        }
        return opened(r, false);
    }

    /**
     * Opens a session.
     *
     * @param unread the shared store was not read for its Session-Id (the usual CCR-I: a new
     *               one): its changes check that the store has no session of that Session-Id,
     *               and it throws SessionMoved, having kept nothing, when it has one
     */
    private CreditControlAnswer opened(CreditControlRequest r, boolean unread) {
        Optional<String> subscriber = store.findSubscriber(identities(r));
        if (subscriber.isEmpty() && policy.rejectUnknown()) {
            return refusal(r, ResultCode.USER_UNKNOWN);
        }
        if (sessions.size() >= policy.maxOpenSessions()) {
            statistics.error();
            log.warn("CCR-I of session {} refused: {} sessions are open, the most max-sessions allows", r.sessionId(),
                    sessions.size());
            return CreditControlAnswer.error(r, ResultCode.UNABLE_TO_COMPLY, null,
                    "Too many open sessions (max-sessions " + policy.maxOpenSessions() + ")");
        }
        TariffBook book = tariffs;
        // the plan is read once per session; a node without tariffs does not look it up
        String plan = subscriber.isEmpty() || book.isEmpty() ? null : store.planOf(subscriber.get());
        ChargingSession session = new ChargingSession(r.sessionId(), subscriber.orElse(null), r.subscriptionIds(),
                r.sender(), plan, subscriber.isEmpty() ? null : book.currency(plan));
        synchronized (session) {
            // registered before it reserves: a CCR-U racing in waits on this lock, and a second
            // CCR-I of the same Session-Id finds it
            ChargingSession other = sessions.putIfAbsent(r.sessionId(), session);
            if (other != null) {
                CreditControlAnswer a = initialOnOpenSession(other, r);
                if (a != null) {
                    return a;
                }
                sessions.put(r.sessionId(), session); // the other one closed meanwhile
            }
            // its reservation and its session's state in one commit (SharedSessions#together)
            try (SharedSessions.Together together = shared.together()) {
                CreditControlAnswer a = unread ? decidedUnread(r, session) : decide(r, session);
                a = advised(a);
                if (!ResultCode.isSuccess(a.resultCode())) {
                    releaseAll(session);
                    session.closed = true;
                    sessions.remove(r.sessionId(), session);
                }
                remember(session, r, a);
                save(session);
                together.committed();
                return a;
            } catch (RuntimeException e) {
                // 5012 (or SessionMoved), or a commit that failed after the answer was worked
                // out: the Session-Id stays free (it once stayed "open" with no answer, and the
                // retransmitted CCR-I got 5004). What it may have reserved stays held: the CCR-I
                // sent again finds it under the same change keys; if none comes, Tcc releases it.
                forget(session);
                throw e;
            }
        }
    }

    /**
     * A CCR-I for a Session-Id that names an open session: a retransmission (same
     * CC-Request-Number and Subscription-Ids) gets its first answer again; anything else is
     * refused 5004 and changes nothing. Replacing the open session instead released the new
     * reservation with the old one (both are held under the session's key), and the usage of the
     * new session was then billed from what was free.
     *
     * @return the answer, or null when that session has closed and the CCR-I may open a new one
     */
    private static CreditControlAnswer initialOnOpenSession(ChargingSession open, CreditControlRequest r) {
        synchronized (open) {
            if (open.lastRequestNumber == r.requestNumber() && open.lastAnswer != null
                    && open.subscriptionIds.equals(r.subscriptionIds()) && open.openedBy(r)) {
                return open.lastAnswer; // retransmitted CCR-I
            }
            if (open.closed) {
                return null;
            }
            return CreditControlAnswer.error(r, ResultCode.INVALID_AVP_VALUE,
                    new FailedAvp(AvpCode.SESSION_ID, r.sessionId().getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    "CCR-I for a session that is already open");
        }
    }

    private CreditControlAnswer updateOrTerminate(CreditControlRequest r) {
        ChargingSession cached = sessions.get(r.sessionId());
        if (cached != null && shared.shared()) {
            CreditControlAnswer a = withoutReading(() -> continuedUnread(r, cached));
            if (a != null) {
                return a;
            }
        }
        ChargingSession session = adopted(r.sessionId(), sessions.get(r.sessionId()));
        if (session == null) {
            ClosedSession closed = recentlyClosed.get(r.sessionId());
            if (closed != null && closed.lastRequestNumber() == r.requestNumber()
                    && Objects.equals(closed.peer(), r.sender())) {
                return closed.lastAnswer(); // retransmitted CCR-T: same answer, no second debit
            }
            return refusal(r, ResultCode.UNKNOWN_SESSION_ID);
        }
        if (!session.openedBy(r)) {
            // another peer's session: as if unknown to it, and left as it is (counted as an error
            // where every 5002 is, by the transport's pipeline: counted here too, it was counted twice)
            log.warn("CCR of session {} from {} refused: the session belongs to {}", r.sessionId(), r.sender(),
                    session.peer);
            return refusal(r, ResultCode.UNKNOWN_SESSION_ID);
        }
        synchronized (session) {
            if (session.lastRequestNumber == r.requestNumber() && session.lastAnswer != null) {
                return session.lastAnswer; // retransmission: same answer, no second debit
            }
            if (session.closed) {
                return refusal(r, ResultCode.UNKNOWN_SESSION_ID);
            }
            session.lastSeenNanos = System.nanoTime();
            return keptTogether(r, session, () -> decide(r, session));
        }
    }

    /**
     * A request decided without reading its session from the shared store first.
     *
     * @return its answer, or null for the usual path: the decision declined it, or another node
     *         saved the session since (SessionMoved), and the request is decided again from the store
     */
    private CreditControlAnswer withoutReading(java.util.function.Supplier<CreditControlAnswer> decision) {
        try {
            return decision.get();
        } catch (SharedSessions.SessionMoved moved) {
            log.debug("{}: read from the store and decided again", moved.getMessage());
            return null;
        }
    }

    /**
     * A request of an open session this node holds, decided without reading the session from
     * the shared store first (a round trip through the group commit, a third of them on
     * PostgreSQL): each balance change it makes checks in its own statement that no other node
     * has saved the session since (SharedSessions#assume); a request that made none reads the
     * session after all, before anything of it is kept.
     *
     * @return null for what the usual path decides (a retransmission, a closed session, another peer's)
     * @throws SharedSessions.SessionMoved when another node saved the session since: nothing of
     *         the request is kept but the changes it made before (made again under the same
     *         change keys, they give their first results), and the caller decides it again from
     *         the store's state
     */
    private CreditControlAnswer continuedUnread(CreditControlRequest r, ChargingSession session) {
        synchronized (session) {
            if (session.closed || session.lastRequestNumber == r.requestNumber() || !session.openedBy(r)) {
                return null;
            }
            session.lastSeenNanos = System.nanoTime();
            return keptTogether(r, session, () -> decidedUnread(r, session));
        }
    }

    /**
     * Decides a request of a session not read from the shared store for it: its balance changes
     * check that the store has the session as this node knows it (SharedSessions#assume), those
     * of the decision alone (a CCR-T's releases after it are this node's); when none was made,
     * the session is read to know. The caller holds the session's lock.
     *
     * @throws SharedSessions.SessionMoved when the store has it otherwise
     */
    private CreditControlAnswer decidedUnread(CreditControlRequest r, ChargingSession session) {
        // the holds as they were: the services decided before a change found the session moved
        // are decided again from them, making the same calls (their first results, nothing twice)
        Map<String, ChargingSession.ServiceReservation> holds = new LinkedHashMap<>(session.reservations);
        try (SharedSessions.Assumption assumed = shared.assume(session.sessionId, session.instance,
                session.lastRequestNumber)) {
            CreditControlAnswer a = decide(r, session);
            if (!assumed.checked() && movedSince(session)) {
                throw new SharedSessions.SessionMoved(session.sessionId);
            }
            return a;
        } catch (SharedSessions.SessionMoved moved) {
            session.reservations.clear();
            session.reservations.putAll(holds);
            throw moved;
        }
    }

    /** Whether another node saved the session since this node last knew it (no change checked it). */
    private boolean movedSince(ChargingSession session) {
        Optional<SharedSessions.Loaded> loaded = shared.load(session.sessionId);
        if (loaded.isEmpty()) {
            return false;
        }
        SessionState state = loaded.get().state();
        return !loaded.get().savedHere() || !state.instance().equals(session.instance)
                || state.lastRequestNumber() > session.lastRequestNumber || state.closed();
    }

    /**
     * Decides and keeps a request of an open session; a CCR-T with its settlement, its session's
     * closed state and its record's end in one commit (SharedSessions#together). Not a CCR-U: it
     * saves its session's state rarely (#save), and its batch would wait for it for nothing.
     * The caller holds the session's lock.
     */
    private CreditControlAnswer keptTogether(CreditControlRequest r, ChargingSession session,
                                             java.util.function.Supplier<CreditControlAnswer> decision) {
        if (r.requestType() != RequestType.TERMINATION || !shared.shared()) {
            return kept(r, session, decision.get());
        }
        try (SharedSessions.Together together = shared.together()) {
            CreditControlAnswer a = kept(r, session, decision.get(), false);
            together.committed();
            // known as closed once committed only: before, a retransmission would have had an
            // answer never kept from memory, or, not finding the session here, have decided it
            // again from the store's state before this commit; until then it waits on the lock
            closedHere(r, session, a);
            return a;
        } catch (SharedSessions.SessionMoved moved) {
            throw moved; // nothing of it kept: decided again from the store's state (#decidedUnread)
        } catch (RuntimeException e) {
            forget(session);
            throw e;
        }
    }

    /** A session its CCR-T ended: its answer kept for the CCR-T's retransmission, and no longer open here. */
    private void closedHere(CreditControlRequest r, ChargingSession session, CreditControlAnswer a) {
        recentlyClosed.put(session.sessionId, new ClosedSession(r.requestNumber(), a, session.peer));
        sessions.remove(session.sessionId, session);
    }

    /**
     * Forgets this node's copy of a session whose request failed after its changes gave results
     * that may never have been committed (SharedSessions#together): the copy may hold them. The
     * session's next request reads it from the store (#adopted), as it was committed last.
     */
    private void forget(ChargingSession session) {
        session.closed = true;
        session.lastAnswer = null;
        sessions.remove(session.sessionId, session);
    }

    private CreditControlAnswer kept(CreditControlRequest r, ChargingSession session, CreditControlAnswer a) {
        return kept(r, session, a, true);
    }

    /**
     * Keeps a decided request of an open session (its number, answer, end, saved state); the
     * caller holds its lock.
     *
     * @param closedNow whether a CCR-T's session leaves the open sessions for the closed ones now
     *                  (else the caller does, once it is committed: #closedHere)
     */
    private CreditControlAnswer kept(CreditControlRequest r, ChargingSession session, CreditControlAnswer a,
                                     boolean closedNow) {
        remember(session, r, a);
        if (r.requestType() == RequestType.TERMINATION) {
            releaseAll(session);
            session.closed = true;
            if (closedNow) {
                closedHere(r, session, a);
            }
            endRecord(session, a.resultCode(), r.terminationCauseName());
        }
        save(session);
        return a;
    }

    /**
     * A CCA-I with what the PCEF needs to fail over (RFC 4006 section 5.7): CC-Session-Failover
     * SUPPORTED when another node can continue the session (sessions shared), and
     * Credit-Control-Failure-Handling as configured (default: RETRY_AND_TERMINATE when shared).
     */
    private CreditControlAnswer advised(CreditControlAnswer a) {
        boolean sharing = shared.shared();
        Integer handling = policy.failureHandling() != null ? policy.failureHandling()
                : sharing ? CreditControlAnswer.Failover.RETRY_AND_TERMINATE : null;
        if (!sharing && handling == null) {
            return a;
        }
        return a.withFailover(new CreditControlAnswer.Failover(sharing ? CreditControlAnswer.Failover.SUPPORTED : null,
                handling));
    }

    /**
     * The session as the shared store has it, when that is newer than this node's copy (another
     * node answered it since, or it was never here): from then on this node continues it. With
     * sessions not shared, or none in the store, this node's copy.
     */
    private ChargingSession adopted(String sessionId, ChargingSession cached) {
        if (!shared.shared()) {
            return cached;
        }
        Optional<SharedSessions.Loaded> loaded = shared.load(sessionId);
        if (loaded.isEmpty()) {
            return cached;
        }
        SessionState state = loaded.get().state();
        if (cached != null) {
            synchronized (cached) {
                boolean sameSession = cached.instance.equals(state.instance());
                // another session of the Session-Id: this node's is the newer one only if it was
                // never saved (else the store would have it, or a newer one)
                if (sameSession ? state.lastRequestNumber() <= cached.lastRequestNumber && (cached.closed || !state.closed())
                        : state.closed() && cached.saved == null) {
                    if (!loaded.get().savedHere()) {
                        cached.saved = null; // another node saved it last: saved again here, as this node's
                    }
                    return cached; // this node's copy is as new (or a newer session of that Session-Id)
                }
            }
        }
        // taken over: one copy for every request of it on this node (a retransmission racing its
        // original must wait on the same lock)
        ChargingSession[] taken = new ChargingSession[1];
        sessions.compute(sessionId, (id, current) -> {
            if (current != null && current != cached && current.instance.equals(state.instance())
                    && current.lastRequestNumber >= state.lastRequestNumber()) {
                taken[0] = current; // another request took it over already
                return current;
            }
            taken[0] = new ChargingSession(state);
            return !taken[0].closed ? taken[0] : current == cached ? null : current;
        });
        return taken[0];
    }

    /**
     * Saves the session for the other nodes after an answered request; the caller holds its lock.
     * A request that changed only its number and answer is not saved (a CCR-U settling and
     * reserving again under the same keys, the usual one): another node that takes the session
     * over from the state before makes the request's changes again under the same keys, which
     * the store answers with their first results, so its answer to a retransmission is the same
     * and nothing is debited twice. A session that has a price is saved at each request (its
     * cost so far is the CCA-T's advice of charge), an open one at least once per Tcc (its
     * expiry in the store). A store that fails here does not fail the answer, whose changes are
     * committed: the node keeps its newer copy. In a CCR-I or a CCR-T the state is written with
     * the request's last change, in its commit (SharedSessions#together): a failure there fails
     * both, the request is answered 5012, and the node forgets its copy (#forget).
     */
    private void save(ChargingSession session) {
        if (!shared.shared()) {
            return;
        }
        SessionState state = session.state(policy.tccSeconds());
        SessionState before = session.saved;
        if (before != null && state.closed() == before.closed() && state.charged() == before.charged()
                && state.holds().equals(before.holds()) && System.nanoTime() - session.savedNanos
                < TimeUnit.SECONDS.toNanos(policy.tccSeconds()) / 2) {
            return;
        }
        try {
            shared.save(state);
            session.saved = state;
            session.savedNanos = System.nanoTime();
        } catch (RuntimeException e) {
            statistics.error();
            log.error("Session {} not saved for the other nodes ({}): it continues on this node", session.sessionId,
                    e.toString());
        }
    }

    private static void remember(ChargingSession session, CreditControlRequest r, CreditControlAnswer a) {
        session.lastRequestNumber = r.requestNumber();
        session.lastAnswer = a;
        session.lastSeenNanos = System.nanoTime();
    }

    /** The answer for I/U/T: each MSCC, or the request as one implicit service. */
    private CreditControlAnswer decide(CreditControlRequest r, ChargingSession s) {
        boolean grants = r.requestType() != RequestType.TERMINATION;
        s.charging = 0; // what an earlier attempt of this request counted, if it failed
        CreditControlAnswer a;
        if (r.services().isEmpty()) {
            ServiceOutcome o = service(r, s, new ServiceCreditRequest(null, null,
                    r.requested() != null ? r.requested() : ServiceUnits.EMPTY, r.used(), null), grants);
            a = new CreditControlAnswer(r.sessionId(), o.resultCode, r.requestTypeCode(), r.requestNumber(),
                    o.granted, o.granted == null ? null : policy.grants().validityTime(), List.of(), null, null,
                    o.fui, null, null);
        } else {
            List<ServiceCreditAnswer> answers = new ArrayList<>(r.services().size());
            for (ServiceCreditRequest m : r.services()) {
                ServiceOutcome o = service(r, s, m, grants);
                answers.add(new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), o.granted,
                        o.granted == null ? null : policy.grants().validityTime(), o.resultCode, o.fui,
                        o.granted == null || policy.thresholds().isEmpty() ? null : policy.thresholds()));
            }
            a = new CreditControlAnswer(r.sessionId(), CreditControlAnswer.topLevelResultCode(answers),
                    r.requestTypeCode(), r.requestNumber(), null, null, answers, null, null);
        }
        s.chargesAnswered();
        if (r.requestType() == RequestType.TERMINATION && r.wantsCost() && s.currency != null) {
            // advice of charge (AoC-Request-Type AoC_FULL or AoC_COST_ONLY): what the session cost
            a = a.withCost(CostInformation.of(s.charged, s.currency, null));
        }
        return a;
    }

    private record ServiceOutcome(long resultCode, UnitAmount granted, FinalUnitIndication fui) {
        static final ServiceOutcome DONE = new ServiceOutcome(ResultCode.SUCCESS, null, null);
    }

    private ServiceOutcome service(CreditControlRequest r, ChargingSession s, ServiceCreditRequest m, boolean grants) {
        Long ratingGroup = m.ratingGroup();
        Long serviceId = m.serviceIdentifier();
        if (ratingGroup != null && policy.deniedRatingGroups().contains(ratingGroup)) {
            return new ServiceOutcome(ResultCode.RATING_FAILED, null, null);
        }
        UnitAmount want = grants && m.requested() != null ? policy.grants().grantFor(m.requested()) : null;
        if (s.subscriber == null) {
            return new ServiceOutcome(ResultCode.SUCCESS, want, null); // unknown subscriber, granted by policy
        }
        // CC-Money in another currency than the plan's: no grant (5031), but its usage is settled
        boolean otherCurrency = want != null && want.type() == UnitType.MONEY && !inPlanCurrency(m.requested(), s.currency);
        String serviceKey = serviceKey(m);
        ChargingSession.ServiceReservation held = s.reservations.remove(serviceKey);
        // A reservation is always held under this key (a service's key never changes in a session).
        String key = s.sessionId + "|" + serviceKey;
        // the change keys of this request's changes to this service (BalanceStore#recordedChange)
        String change = sessionChangeKey(r, s, serviceKey);
        try {
            ServiceOutcome o = serviceChanges(s, m, held, otherCurrency ? null : want, serviceKey, key, change);
            return otherCurrency ? new ServiceOutcome(ResultCode.RATING_FAILED, null, null) : o;
        } catch (RuntimeException e) {
            // the store failed (5012) but its change may stand: the reservation stays the
            // session's, so the request sent again makes the same calls under the same change
            // keys, which the store answers with their first results instead of charging again
            if (held != null) {
                s.reservations.putIfAbsent(serviceKey, held);
            }
            throw e;
        }
    }

    private static String serviceKey(ServiceCreditRequest m) {
        return m.ratingGroup() == null && m.serviceIdentifier() == null ? IMPLICIT_SERVICE
                : m.ratingGroup() + "/" + m.serviceIdentifier();
    }

    /** A request for CC-Money must name the plan's currency, or none (then it is the plan's). */
    private static boolean inPlanCurrency(ServiceUnits requested, java.util.Currency currency) {
        Integer asked = requested == null ? null : requested.currencyCode();
        return asked == null || currency != null && currency.getNumericCode() == asked;
    }

    private ServiceOutcome serviceChanges(ChargingSession s, ServiceCreditRequest m, ChargingSession.ServiceReservation held,
                                          UnitAmount want, String serviceKey, String key, String change) {
        Long ratingGroup = m.ratingGroup();
        ServiceUnits used = m.used();
        Instant now = Instant.now();
        Instant expires = now.plusSeconds(policy.tccSeconds());
        TariffBook book = tariffs;
        // a session is priced by the plan it opened with: one that opened unpriced stays so
        TariffBook.Rate rate = want == null || s.currency == null ? null : book.rate(s.plan, ratingGroup, want.type(), now);
        BalanceStore.Reservation got = null;
        if (held != null && held.rate() != null) {
            long[] paid = settleUnits(s, held, used, m.usedAfterTariffChange(), change);
            if (rate != null && want.type() == held.unit()) {
                // the usual rated CCR-U: the money's settlement and next hold are one change
                return reserveRated(s, ratingGroup, want, rate, serviceKey, key, expires, change, now, paid[0],
                        s.record.line(held.ratingGroup(), held.unit(), paid[1], false, s.currencyCode()));
            }
            store.settle(s.subscriber, UnitType.MONEY, held.ratingGroup(), held.key() + MONEY_HOLD, paid[0],
                    change + "|settle" + MONEY_HOLD, s.record.line(held.ratingGroup(), held.unit(), paid[1], false,
                            s.currencyCode()));
            s.charge(paid[0]);
        } else if (used != null && held != null) {
            long u = used.amountOf(held.unit());
            UsageNote line = s.record.line(held.ratingGroup(), held.unit(), u, false, s.currencyCode());
            if (rate == null && want != null && want.type() == held.unit() && Objects.equals(ratingGroup, held.ratingGroup())) {
                // the usual CCR-U: report and next grant of the same unit, one change in the store
                got = store.settleAndReserve(s.subscriber, held.unit(), held.ratingGroup(), key, u, want.amount(),
                        expires, change, line);
            } else {
                store.settle(s.subscriber, held.unit(), held.ratingGroup(), held.key(), u, change + "|settle", line);
            }
            if (held.unit() == UnitType.MONEY && s.currency != null) {
                s.charge(u); // a grant in CC-Money: the money used is the cost
            }
        } else if (held != null) {
            store.release(held.key());
        } else if (used != null && used.requested() != null) {
            // usage reported without a reservation (e.g. after a 4012): still debited, units first
            UnitAmount u = used.requested();
            TariffBook.Rate usedRate = s.currency == null ? null : book.rate(s.plan, ratingGroup, u.type(), now);
            // unpriced: the line has the units reported; priced: those the unit buckets paid, then the rest
            long fromUnits = store.debit(s.subscriber, u.type(), ratingGroup, u.amount(), change + "|usage",
                    s.record.line(ratingGroup, u.type(), usedRate == null ? u.amount() : 0, usedRate != null,
                            s.currencyCode()));
            if (usedRate != null && fromUnits < u.amount()) {
                long cost = usedRate.price().cost(u.amount() - fromUnits);
                store.debit(s.subscriber, UnitType.MONEY, ratingGroup, cost, change + "|usage" + MONEY_HOLD,
                        s.record.line(ratingGroup, u.type(), u.amount() - fromUnits, false, s.currencyCode()));
                s.charge(cost);
            }
        }
        if (want == null) {
            return ServiceOutcome.DONE;
        }
        if (rate != null) {
            return reserveRated(s, ratingGroup, want, rate, serviceKey, key, expires, change, now, 0, null);
        }
        if (got == null) {
            got = store.reserve(s.subscriber, want.type(), ratingGroup, want.amount(), key, expires, change);
        }
        if (got.reserved() == 0 && want.amount() > 0) {
            return new ServiceOutcome(ResultCode.CREDIT_LIMIT_REACHED, null, null);
        }
        s.reservations.put(serviceKey, new ChargingSession.ServiceReservation(key, want.type(), ratingGroup, null, true));
        FinalUnitIndication fui = got.availableAfter() == 0 ? policy.finalUnitIndication() : null;
        return new ServiceOutcome(ResultCode.SUCCESS, new UnitAmount(want.type(), got.reserved(),
                want.type() == UnitType.MONEY ? s.currency : null, null), fui);
    }

    /**
     * Settles a priced service's usage in its unit buckets: what they held for the grant, then
     * what they have free; a grant bought with money alone is not looked for there (a top-up of
     * units serves from the next grant). What they did not pay for is priced at the grant's
     * price, rounded up to the minor unit; units reported with Tariff-Change-Usage
     * UNIT_AFTER_TARIFF_CHANGE at the band after the change (the unit buckets covered the units
     * before it first), units reported without the split at the band in force when the grant
     * was made. The money is settled by the caller (with the next hold, when there is one).
     *
     * @return the money to settle (minor units), and the units it pays for
     */
    private long[] settleUnits(ChargingSession s, ChargingSession.ServiceReservation held, ServiceUnits used,
                               ServiceUnits usedAfter, String change) {
        long u = used == null ? 0 : used.amountOf(held.unit());
        // the line gets the units the unit buckets paid with their change, the rest and its cost
        // with the money's (a subscriber with money only then waits for one journal sync)
        long fromUnits = !held.unitsHeld() ? 0 : store.settle(s.subscriber, held.unit(), held.ratingGroup(), held.key(),
                u, change + "|settle", s.record.line(held.ratingGroup(), held.unit(), 0, true, s.currencyCode()));
        long after = usedAfter == null ? 0 : usedAfter.amountOf(held.unit());
        return new long[] {held.rate().cost(u - fromUnits, after), u - fromUnits};
    }

    /**
     * Reserves a priced service's grant: from its unit buckets first, the rest bought with money
     * at the tariff (what the money not held already buys, rounded down to whole units), held
     * until the usage is reported; in the same change as the money's settlement of the last
     * report ({@code settle}, with its usage note), when there is one. The grant carries
     * Tariff-Time-Change when the price changes within its Validity-Time.
     */
    private ServiceOutcome reserveRated(ChargingSession s, Long ratingGroup, UnitAmount want, TariffBook.Rate rate,
                                        String serviceKey, String key, Instant expires, String change, Instant now,
                                        long settle, UsageNote settled) {
        // a grant within which the price changes is bought at the dearer of the two prices: what
        // is held then pays for its units whichever side of the change they are used on
        Price price = rate.changesAt() != null && rate.after() != null && rate.after().dearerThan(rate.price())
                && rate.changesAt().isBefore(now.plusSeconds(policy.grants().validityTime())) ? rate.after() : rate.price();
        BalanceStore.RatedReservation got = store.reserveRated(s.subscriber, want.type(), ratingGroup, want.amount(),
                key, expires, change, price::cost, settle, settled);
        s.charge(settle);
        long need = want.amount() - got.units();
        long bought = Math.min(need, price.unitsFor(got.money()));
        long granted = got.units() + bought;
        if (granted == 0 && want.amount() > 0) {
            store.release(key); // less money than one unit costs may be held: not kept for nothing
            store.release(key + MONEY_HOLD);
            return new ServiceOutcome(ResultCode.CREDIT_LIMIT_REACHED, null, null);
        }
        s.reservations.put(serviceKey, new ChargingSession.ServiceReservation(key, want.type(), ratingGroup, rate,
                got.units() > 0));
        boolean last = got.unitsAvailableAfter() == 0 && price.unitsFor(got.moneyAvailableAfter()) == 0;
        Instant priceChange = rate.changesAt() != null
                && rate.changesAt().isBefore(now.plusSeconds(policy.grants().validityTime())) ? rate.changesAt() : null;
        return new ServiceOutcome(ResultCode.SUCCESS, new UnitAmount(want.type(), granted, null, priceChange),
                last ? policy.finalUnitIndication() : null);
    }

    private void releaseAll(ChargingSession s) {
        for (ChargingSession.ServiceReservation held : s.reservations.values()) {
            store.release(held.key());
            if (held.rate() != null) {
                store.release(held.key() + MONEY_HOLD);
            }
        }
        s.reservations.clear();
    }

    /**
     * Keeps the end of a session's usage record. Its lines are kept already, with their debits; a
     * store that fails here, now or when it commits the end later, leaves the record open (ended
     * at the node's next start: NODE_STOPPED), logged and counted as an error.
     */
    private void endRecord(ChargingSession s, Long resultCode, String cause) {
        if (s.record == null) {
            return;
        }
        try {
            store.recordUsageSoon(s.record.end(Instant.now(), resultCode, cause)).whenComplete((kept, e) -> {
                if (e != null) {
                    recordNotEnded(s.sessionId, e);
                }
            });
        } catch (RuntimeException e) {
            recordNotEnded(s.sessionId, e);
        }
    }

    private void recordNotEnded(String sessionId, Throwable why) {
        statistics.error();
        Throwable cause = why instanceof java.util.concurrent.CompletionException && why.getCause() != null
                ? why.getCause() : why;
        log.error("The end of the usage record of session {} was not kept ({}): the record stays open", sessionId,
                cause.toString());
    }

    /**
     * Ends the node's side of a session its PCEF no longer holds (an RAA 5002 UNKNOWN_SESSION_ID):
     * its reservations are released and it is forgotten. @return false when it was not open
     */
    public boolean endSession(String sessionId, String why) {
        ChargingSession s = sessions.get(sessionId);
        if (s == null) {
            return false;
        }
        synchronized (s) {
            boolean open = !s.closed;
            if (open) {
                releaseAll(s);
                s.closed = true;
                log.info("Session {} ended: {}; its reservations released", sessionId, why);
                endRecord(s, null, "UNKNOWN_TO_PCEF");
                save(s);
            }
            sessions.remove(sessionId, s);
            return open;
        }
    }

    /** Tcc: releases what silent sessions hold and forgets them; sweeps reservations left by dead nodes. */
    void superviseSessions() {
        try {
            long now = System.nanoTime();
            long tcc = TimeUnit.SECONDS.toNanos(policy.tccSeconds());
            boolean sharing = shared.shared();
            for (ChargingSession s : sessions.values()) {
                if (now - s.lastSeenNanos > tcc) {
                    synchronized (s) {
                        if (now - s.lastSeenNanos <= tcc) {
                            continue;
                        }
                        // shared: silent here may mean answered by another node; the store's
                        // claim (below) releases it, once among all nodes
                        if (!s.closed && !sharing) { // closed: a CCR-T won the lock and released it already
                            releaseAll(s);
                            s.closed = true;
                            endRecord(s, null, "TCC_EXPIRED");
                            statistics.sessionExpired();
                            log.info("Session {} silent for {} s (Tcc): reservations released, session forgotten",
                                    s.sessionId, policy.tccSeconds());
                        }
                        sessions.remove(s.sessionId, s);
                    }
                }
            }
            if (sharing) {
                releaseAbandoned();
            }
            int swept = store.releaseExpired(Instant.now());
            if (swept > 0) {
                log.info("Released {} expired reservations", swept);
            }
        } catch (RuntimeException e) {
            log.error("Session supervision failed: {}", e.toString(), e);
        }
    }

    /**
     * The shared store's sessions past their Tcc, and those of nodes gone silent, that this node
     * claimed (each is claimed by one node): their holds released, their records ended.
     */
    private void releaseAbandoned() {
        for (SharedSessions.Abandoned a : shared.claimAbandoned()) {
            ChargingSession s = new ChargingSession(a.state());
            ChargingSession cached = sessions.remove(s.sessionId);
            if (cached != null) {
                synchronized (cached) {
                    cached.closed = true;
                }
            }
            String cause = a.tccExpired() ? "TCC_EXPIRED" : "NODE_LOST";
            releaseAll(s);
            endRecord(s, null, cause);
            statistics.sessionExpired();
            log.info("Session {} released ({}): {}", s.sessionId, cause, a.tccExpired()
                    ? "silent for its Tcc on every node" : "the node that answered it last stopped its heartbeat");
        }
    }

    // ------------------------------------------------------------------ events

    private CreditControlAnswer event(CreditControlRequest r) {
        // Session-Id and CC-Request-Number identify a retransmission (RFC 4006 section 5.2); the
        // Subscription-Ids guard against clients that reuse Session-Ids across runs (seen with the
        // freeDiameter test client, whose ids are built from the start second).
        EventKey cacheKey = new EventKey(r.sessionId(), r.requestNumber(), r.subscriptionIds(), r.sender());
        CreditControlAnswer cached = recentEvents.get(cacheKey);
        if (cached != null) {
            return cached; // retransmitted event: answered again, not debited again
        }
        Optional<String> subscriber = store.findSubscriber(identities(r));
        CreditControlAnswer a;
        if (subscriber.isEmpty() && policy.rejectUnknown()) {
            a = refusal(r, ResultCode.USER_UNKNOWN);
        } else {
            a = eventFor(r, subscriber.orElse(null));
        }
        recentEvents.put(cacheKey, a);
        return a;
    }

    private CreditControlAnswer eventFor(CreditControlRequest r, String subscriber) {
        int action = r.requestedAction() == null ? DIRECT_DEBITING : r.requestedAction();
        if (action == REFUND_ACCOUNT && !policy.mayRefund(r.sender())) {
            // a refund adds money: only from the peers configured for it (refund-peers)
            statistics.error();
            log.warn("REFUND_ACCOUNT of session {} from {} refused: not among refund-peers", r.sessionId(), r.sender());
            return refusal(r, ResultCode.AUTHORIZATION_REJECTED);
        }
        List<ServiceCreditRequest> services = r.services().isEmpty()
                ? List.of(new ServiceCreditRequest(null, null, r.requested() != null ? r.requested() : ServiceUnits.EMPTY, null, null))
                : r.services();
        TariffBook book = tariffs;
        String plan = subscriber == null || book.isEmpty() ? null : store.planOf(subscriber);
        Instant now = Instant.now();
        if (action == PRICE_ENQUIRY) {
            return priceEnquiry(r, services, book, plan, now);
        }
        if (action == CHECK_BALANCE) {
            boolean enough = true;
            for (ServiceCreditRequest m : services) {
                UnitAmount want = policy.grants().grantFor(m.requested() == null ? ServiceUnits.EMPTY : m.requested());
                enough &= subscriber == null || spendable(subscriber, want.type(), m.ratingGroup(),
                        book.rate(plan, m.ratingGroup(), want.type(), now)) >= Math.max(1, want.amount());
            }
            return new CreditControlAnswer(r.sessionId(), ResultCode.SUCCESS, r.requestTypeCode(), r.requestNumber(),
                    null, null, List.of(), null, null, null, enough ? ENOUGH_CREDIT : NO_CREDIT, null);
        }
        // the event's usage record: its id is made from what identifies the event, so that a
        // retransmission (whose changes are not made again) names the same record
        UsageNote record = subscriber == null ? null : UsageNote.of(action == REFUND_ACCOUNT ? UsageNote.REFUND
                : UsageNote.EVENT, UsageNote.idOf(changeKey(r, subscriber, "event|" + r.sender())), subscriber,
                r.sessionId(), r.sender(), now);
        List<ServiceCreditAnswer> answers = new ArrayList<>();
        for (ServiceCreditRequest m : services) {
            answers.add(eventService(r, m, subscriber, action, book, plan, now, record));
        }
        CreditControlAnswer a;
        if (r.services().isEmpty()) {
            ServiceCreditAnswer only = answers.get(0);
            a = new CreditControlAnswer(r.sessionId(), only.resultCode(), r.requestTypeCode(), r.requestNumber(),
                    only.granted(), only.validityTime(), List.of(), null, null, only.finalUnitIndication(), null, null);
        } else {
            a = new CreditControlAnswer(r.sessionId(), CreditControlAnswer.topLevelResultCode(answers),
                    r.requestTypeCode(), r.requestNumber(), null, null, answers, null, null);
        }
        if (record != null) {
            // its lines are kept with its debits; the end (the Result-Code) right after
            store.recordUsage(record.end(now, a.resultCode(), null));
        }
        return a;
    }

    /**
     * PRICE_ENQUIRY (RFC 4006 5.2.2 and 8.41): what the units asked would cost now, at the tariff
     * of the subscriber's plan (the default plan for a subscriber nobody provisioned); nothing
     * changes. Without tariffs a price of 0 EUR, as before rating existed.
     */
    private CreditControlAnswer priceEnquiry(CreditControlRequest r, List<ServiceCreditRequest> services, TariffBook book,
                                             String plan, Instant now) {
        long total = 0;
        UnitAmount only = null;
        for (ServiceCreditRequest m : services) {
            // the units asked (an empty RSU: the default grant), not capped at the maximum grant
            UnitAmount asked = m.requested() == null ? null : m.requested().requested();
            UnitAmount want = asked != null ? asked : policy.grants().grantFor(ServiceUnits.EMPTY);
            TariffBook.Rate rate = book.rate(plan, m.ratingGroup(), want.type(), now);
            if (rate != null) {
                long c = rate.price().cost(want.amount());
                total = total > Long.MAX_VALUE - c ? Long.MAX_VALUE : total + c;
                only = only == null ? want : null;
            }
        }
        java.util.Currency currency = book.currency(plan);
        CostInformation cost = currency == null ? CostInformation.FREE
                : CostInformation.of(total, currency, services.size() == 1 && only != null ? only.toString() : null);
        return new CreditControlAnswer(r.sessionId(), ResultCode.SUCCESS, r.requestTypeCode(), r.requestNumber(),
                null, null, List.of(), null, null, null, null, cost);
    }

    /** What a subscriber may still spend on a unit: free units, and what free money buys at the rate. */
    private long spendable(String subscriber, UnitType unit, Long ratingGroup, TariffBook.Rate rate) {
        long units = store.available(subscriber, unit, ratingGroup);
        if (rate == null) {
            return units;
        }
        long bought = rate.price().unitsFor(store.available(subscriber, UnitType.MONEY, ratingGroup));
        return units > Long.MAX_VALUE - bought ? Long.MAX_VALUE : units + bought;
    }

    /**
     * DIRECT_DEBITING debits at once (a priced service's unit buckets first, the rest in money);
     * REFUND_ACCOUNT credits (a priced service's units as money, at the tariff); an unknown
     * subscriber granted by policy pays nothing.
     */
    private ServiceCreditAnswer eventService(CreditControlRequest r, ServiceCreditRequest m, String subscriber,
                                             int action, TariffBook book, String plan, Instant now, UsageNote record) {
        UnitAmount want = policy.grants().grantFor(m.requested() == null ? ServiceUnits.EMPTY : m.requested());
        if (m.ratingGroup() != null && policy.deniedRatingGroups().contains(m.ratingGroup())) {
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), null, null, ResultCode.RATING_FAILED);
        }
        java.util.Currency currency = book.currency(plan);
        if (want.type() == UnitType.MONEY && subscriber != null && !inPlanCurrency(m.requested(), currency)) {
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), null, null, ResultCode.RATING_FAILED);
        }
        TariffBook.Rate rate = subscriber == null ? null : book.rate(plan, m.ratingGroup(), want.type(), now);
        String change = subscriber == null ? null : changeKey(r, subscriber, m.ratingGroup() + "/" + m.serviceIdentifier());
        String code = currency == null ? null : currency.getCurrencyCode();
        if (action == REFUND_ACCOUNT) {
            if (subscriber != null) {
                UsageNote line = record.line(m.ratingGroup(), want.type(), want.amount(), false, code);
                if (rate == null) {
                    once(r, subscriber, change, () -> {
                        store.credit(subscriber, want.type(), m.ratingGroup(), want.amount(), change, line);
                        return want.amount();
                    });
                } else {
                    long money = rate.price().cost(want.amount());
                    once(r, subscriber, change, () -> {
                        store.credit(subscriber, UnitType.MONEY, null, money, change, line);
                        return money;
                    });
                }
            }
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), null, null, ResultCode.SUCCESS);
        }
        long validity = policy.grants().validityTime();
        if (subscriber == null) {
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), want, validity, ResultCode.SUCCESS);
        }
        long debited = once(r, subscriber, change, () -> store.debit(subscriber, want.type(), m.ratingGroup(),
                want.amount(), change, record.line(m.ratingGroup(), want.type(), 0, true, code)));
        if (rate != null && debited < want.amount()) {
            long rest = want.amount() - debited;
            String moneyChange = change + MONEY_HOLD;
            long paid = once(r, subscriber, moneyChange, () -> {
                long affordable = Math.min(rest, rate.price().unitsFor(store.available(subscriber, UnitType.MONEY,
                        m.ratingGroup())));
                return affordable == 0 ? 0 : store.debit(subscriber, UnitType.MONEY, m.ratingGroup(),
                        rate.price().cost(affordable), moneyChange,
                        record.line(m.ratingGroup(), want.type(), affordable, false, code));
            });
            debited += Math.min(rest, rate.price().unitsFor(paid));
        }
        if (debited == 0 && want.amount() > 0) {
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), null, null,
                    ResultCode.CREDIT_LIMIT_REACHED);
        }
        FinalUnitIndication fui = spendable(subscriber, want.type(), m.ratingGroup(), rate) == 0
                ? policy.finalUnitIndication() : null;
        return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), new UnitAmount(want.type(), debited,
                want.type() == UnitType.MONEY ? currency : null, null), validity, ResultCode.SUCCESS, fui, null);
    }

    /**
     * A change of an event made at most once: RFC 4006 section 5.2, a request with the T-bit may
     * have been served already, by this node before a restart or by another one; its change is
     * then not made again, and its first result is used.
     */
    private long once(CreditControlRequest r, String subscriber, String change, java.util.function.LongSupplier make) {
        Optional<Long> done = r.possiblyRetransmitted() ? store.recordedChange(subscriber, change) : Optional.empty();
        return done.isPresent() ? done.get() : make.getAsLong();
    }

    /** A thread-safe map that forgets its oldest entry beyond {@code max}. */
    private static <K, V> Map<K, V> boundedMap(int max) {
        return Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > max;
            }
        });
    }

    /**
     * The key of a request's change to one service of a subscriber: Session-Id and
     * CC-Request-Number (RFC 4006 section 5.2), the service and the subscriber (a client that
     * reuses Session-Ids across runs, as the freeDiameter test client does within a second, is
     * then not taken for a retransmission of another subscriber's request). The Session-Id's
     * length comes first, so that no Session-Id can be chosen to spell another request's key.
     */
    private static String changeKey(CreditControlRequest r, String subscriber, String service) {
        return r.sessionId().length() + ":" + r.sessionId() + "|" + r.requestNumber() + "|" + service + "|" + subscriber;
    }

    /**
     * The key of a session request's change to one service: a CCR-I's is the same wherever and
     * whenever it is sent again (another node, after a restart); a CCR-U/T's also names the
     * session, so that a Session-Id used again after its CCR-T is charged anew (that CCR-I's
     * grant is then the first one's, its usage charged).
     */
    private static String sessionChangeKey(CreditControlRequest r, ChargingSession s, String service) {
        String key = changeKey(r, s.subscriber, service);
        return r.requestType() == RequestType.INITIAL ? key : key + "|" + s.instance;
    }

    /** What identifies a retransmitted event. */
    private record EventKey(String sessionId, long requestNumber, List<SubscriptionId> subscriptionIds, String peer) {
    }

    // ------------------------------------------------------------------ helpers

    /** The request's Subscription-Id data, in the configured type priority. */
    private List<String> identities(CreditControlRequest r) {
        List<String> out = new ArrayList<>();
        for (int type : policy.subscriptionIdPriority()) {
            for (SubscriptionId id : r.subscriptionIds()) {
                if (id.type() == type) {
                    out.add(id.data());
                }
            }
        }
        return out;
    }

    private static CreditControlAnswer refusal(CreditControlRequest r, long resultCode) {
        return new CreditControlAnswer(r.sessionId(), resultCode, r.requestTypeCode(), r.requestNumber(), null, null,
                List.of(), null, null);
    }

    @Override
    public void close() {
        heartbeats.shutdownNow();
        supervision.shutdownNow();
        try {
            heartbeats.awaitTermination(2, TimeUnit.SECONDS); // no heartbeat written after the stop
            supervision.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
