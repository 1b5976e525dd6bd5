package org.gyocs.gy.jdiameter;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.core.CreditControl;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;
import org.gyocs.core.ResultCode;
import org.gyocs.gy.GyPipeline;
import org.gyocs.gy.SessionRequestLayout;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.node.SessionRequest;
import org.jdiameter.api.Answer;
import org.jdiameter.api.ApplicationId;
import org.jdiameter.api.MutablePeerTable;
import org.jdiameter.api.Network;
import org.jdiameter.api.NetworkReqListener;
import org.jdiameter.api.PeerTable;
import org.jdiameter.api.Request;
import org.jdiameter.api.app.AppAnswerEvent;
import org.jdiameter.api.app.AppRequestEvent;
import org.jdiameter.api.app.AppSession;
import org.jdiameter.api.auth.events.ReAuthAnswer;
import org.jdiameter.api.auth.events.ReAuthRequest;
import org.jdiameter.api.cca.ServerCCASession;
import org.jdiameter.api.cca.ServerCCASessionListener;
import org.jdiameter.api.cca.events.JCreditControlRequest;
import org.jdiameter.client.api.ISessionFactory;
import org.jdiameter.common.api.app.cca.ServerCCASessionState;
import org.jdiameter.common.impl.app.cca.CCASessionFactoryImpl;
import org.jdiameter.server.impl.StackImpl;

/**
 * The Gy node on RestComm jDiameter: the stack does CER/CEA, DWR/DWA and DPR/DPA; the generic
 * RFC 4006 server session (not the Ro one, which reads its state outside its lock and loses
 * CCR-U/T under concurrency) runs the state machine of each I/U/T session; events, which have no
 * session state, are answered without one. {@link CreditControlHandler} answers both.
 */
public final class JDiameterGyNode implements DiameterNode {
    private static final Logger log = LogManager.getLogger(JDiameterGyNode.class);
    private static final long LISTEN_TIMEOUT_MS = 10_000;
    private static final long STOP_TIMEOUT_MS = 5_000;
    /** On stop, how long nothing may be in flight before the DPRs go out. */
    private static final long QUIET_MS = 100;
    /** On stop, after the refusals begin, how long nothing may be in flight before the DPRs go out. */
    private static final long SETTLED_MS = 3;
    /** And at most how long that may take (requests decided before the refusals finish in milliseconds). */
    private static final long SETTLE_MAX_MS = 1_000;
    /**
     * The stop's DPRs are about to go out: every CCR from now on is refused 3004 and debits
     * nothing (afterTheDpr). The stack in its stopping state sends no answer, and a debit decided
     * now would have none.
     */
    private volatile boolean shuttingDown;
    private final GyPipeline pipeline;
    /** Around the running stack's ApplicationSession pool; made with the first session of a start. */
    private volatile DeliverOnCaller deliverOnCaller;
    private final Object deliverOnCallerLock = new Object();
    private volatile TransportScreen screen;

    private final NodeSettings settings;
    private final CreditControlHandler handler;
    private final ApplicationId gy = ApplicationId.createByAuthAppId(0, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID);
    private StackImpl stack;
    private PreparedStack prepared;
    private ISessionFactory sessionFactory;
    private int port;

    private final NodeStatistics statistics;

    private final ConnectedPeers peers;

    public JDiameterGyNode(NodeSettings settings, CreditControl core, NodeStatistics statistics) {
        this(settings, new GyPipeline(core, statistics, settings.originHost(), settings.realm()));
    }

    public JDiameterGyNode(NodeSettings settings, GyPipeline pipeline) {
        this(settings, pipeline, null);
    }

    /**
     * @param prepared its stack, configured and initialised while the node opened its store
     *                 (PreparedStack.begin with the same settings); null: done at start
     */
    public JDiameterGyNode(NodeSettings settings, GyPipeline pipeline, PreparedStack prepared) {
        this.prepared = prepared;
        this.settings = settings;
        this.statistics = pipeline.statistics();
        this.peers = pipeline.peers();
        // the listeners decide without waiting for the store's sync, and a thread of the node sends
        // each answer once synced, when the pipeline has the store's sync points
        this.syncPoints = pipeline.syncPoints();
        this.handler = new CreditControlHandler(pipeline, () -> screen, () -> syncedAnswers);
        this.pipeline = pipeline;
    }

    private final org.gyocs.core.SyncPoints syncPoints;
    /** Sends the answers the listeners decided once the store's sync covers them; null without sync points. */
    private java.util.concurrent.ScheduledExecutorService syncedSender;
    private volatile org.gyocs.gy.SyncedAnswers syncedAnswers;

    @Override
    public ConnectedPeers peers() {
        return peers;
    }

    /**
     * A RAR or ASR through a raw session of its own: the answer comes to the listener given with
     * the request (jDiameter matches it by hop-by-hop identifier), not to the session's state
     * machine, and the raw session is released once it has. Its Session-Id is the credit-control
     * session's, at index 0, which jDiameter then leaves as it is.
     */
    @Override
    public java.util.concurrent.CompletableFuture<Long> send(SessionRequest r) {
        java.util.concurrent.CompletableFuture<Long> answer = new java.util.concurrent.CompletableFuture<>();
        ISessionFactory factory;
        synchronized (this) {
            factory = sessionFactory;
        }
        ConnectedPeers.Peer peer = peers.find(r.peerHost()).orElse(null);
        if (factory == null || peer == null) {
            answer.completeExceptionally(new SessionRequest.PeerNotConnected(r.peerHost()));
            return answer;
        }
        // the realm of its CER as jDiameter keeps it; jDiameter does not keep it for every peer: then
        // the domain of its host, as a realm usually is
        String realm = peer.originRealm() != null ? peer.originRealm()
                : r.peerHost().contains(".") ? r.peerHost().substring(r.peerHost().indexOf('.') + 1) : settings.realm();
        org.jdiameter.api.Session raw = null;
        try {
            knowRealm(realm, r.peerHost());
            raw = factory.getNewSession();
            org.jdiameter.api.Session session = raw;
            Request request = raw.createRequest(r.kind().commandCode(), gy, realm, r.peerHost());
            request.setProxiable(true); // RAR and ASR are proxiable (RFC 6733 sections 8.3.1, 8.5.1), as in mock mode
            org.jdiameter.api.AvpSet avps = request.getAvps();
            for (int code : new int[] {AvpCodes.SESSION_ID, AvpCodes.ORIGIN_HOST, AvpCodes.ORIGIN_REALM,
                    AvpCodes.DESTINATION_REALM, AvpCodes.DESTINATION_HOST, AvpCodes.AUTH_APPLICATION_ID}) {
                avps.removeAvp(code);
            }
            SessionRequestLayout.write(JDiameterCcr.avpsInto(avps), r, settings.originHost(), settings.realm(), realm);
            raw.send(request, new org.jdiameter.api.EventListener<Request, Answer>() {
                @Override
                public void receivedSuccessMessage(Request q, Answer a) {
                    try {
                        answer.complete(a.getResultCode() == null ? 0L : a.getResultCode().getUnsigned32());
                    } catch (Exception e) {
                        answer.completeExceptionally(e);
                    } finally {
                        session.release();
                    }
                }

                @Override
                public void timeoutExpired(Request q) {
                    answer.completeExceptionally(new SessionRequest.NoAnswer(r));
                    session.release();
                }
            }, SessionRequest.ANSWER_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (org.jdiameter.api.RouteException e) {
            release(raw);
            log.warn("Cannot route the {} to {} (realm {}): {}", r.kind().shortName(), r.peerHost(), realm, e.getMessage());
            answer.completeExceptionally(new SessionRequest.PeerNotConnected(r.peerHost()));
        } catch (Exception e) {
            release(raw);
            answer.completeExceptionally(e);
        }
        return answer;
    }

    /**
     * jDiameter routes a request by its Destination-Realm first: a peer of a realm its
     * configuration does not list cannot be sent one ("Unknown realm name"), however connected.
     * The peer's realm is added, for Gy, with the peer as its host, before the first request.
     */
    private void knowRealm(String realm, String peerHost) throws org.jdiameter.api.InternalException {
        StackImpl s;
        synchronized (this) {
            s = stack;
        }
        if (s == null) {
            return;
        }
        org.jdiameter.client.api.controller.IRealmTable realms = ((org.jdiameter.client.api.IContainer) s)
                .getAssemblerFacility().getComponentInstance(org.jdiameter.client.api.controller.IRealmTable.class);
        if (realms != null && !realms.realmExists(realm)) {
            realms.addRealm(realm, gy, org.jdiameter.api.LocalAction.LOCAL, (String) null, false, 0,
                    new String[] {peerHost});
            log.info("Realm {} added for peer {}: the node's RARs and ASRs can be routed to it", realm, peerHost);
        }
    }

    private static void release(org.jdiameter.api.Session raw) {
        if (raw != null) {
            try {
                raw.release();
            } catch (RuntimeException e) {
                log.debug("Cannot release a raw session: {}", e.toString());
            }
        }
    }

    @Override
    public synchronized void start() throws NodeStartException {
        if (stack != null) {
            throw new IllegalStateException("already started");
        }
        PreparedStack.Ready ready = (prepared != null ? prepared : PreparedStack.now(settings)).take();
        prepared = null;
        port = ready.port();
        StackImpl s = ready.stack();
        stack = s;
        ready.releasePort(); // the port the preparation chose and held: the stack binds it next
        try {
            // jDiameter binds in a background thread and swallows BindException: check first.
            ListeningPorts.checkBindable(settings.bindAddress(), port);
        } catch (NodeStartException e) {
            stop();
            throw e;
        }
        screen = new TransportScreen(settings.peers(), settings.limits(), statistics, settings.tls(),
                this::answerBeforeTheStack);
        TransportScreen.register(port, screen);
        if (syncPoints != null) {
            syncedSender = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ocs-synced-answers");
                t.setDaemon(true);
                return t;
            });
            // the answers one sync releases go out in one write per connection
            java.util.concurrent.Executor sender = task -> syncedSender.execute(() -> LimitedTransport.batched(task));
            org.gyocs.gy.SyncedAnswers answers = new org.gyocs.gy.SyncedAnswers(syncPoints, sender);
            syncedSender.scheduleWithFixedDelay(() -> LimitedTransport.batched(() -> answers.expire(System.nanoTime())), 100, 100,
                    java.util.concurrent.TimeUnit.MILLISECONDS);
            syncedAnswers = answers;
        }
        try {
            sessionFactory = (ISessionFactory) s.getSessionFactory();
            deliverOnCaller = null; // a new stack, a new pool
            CCASessionFactoryImpl cca = new CCASessionFactoryImpl(sessionFactory);
            cca.setServerSessionListener(new AnsweringListener());
            cca.setStateListener(new QuietStateListener());
            sessionFactory.registerAppFacory(ServerCCASession.class, cca);
            s.unwrap(Network.class).addNetworkReqListener(new NewSessionListener(), gy);
            PeerTable table = s.unwrap(PeerTable.class);
            if (table instanceof MutablePeerTable mutable) {
                mutable.setPeerTableListener(new PeerEventLog(peers));
            }
            s.start();
            // start() makes the stack's timer executor (ProcessingMessageTimer): set it up after
            if (s.getScheduledFacility() instanceof java.util.concurrent.ScheduledThreadPoolExecutor timers) {
                // a cancelled timer (an answer's, CreditControlHandler) leaves the queue at once, not
                // when it would have fired
                timers.setRemoveOnCancelPolicy(true);
                // The queue wakes its thread whenever a new timer becomes the earliest: each answer's
                // 60 s timer did, being earlier than every session's Tcc, one futex wake-up and park
                // per CCA for a timer that is cancelled a moment later (a fifth of the sending
                // thread's samples). A timer due within the second keeps those from being the earliest.
                timers.scheduleAtFixedRate(() -> { }, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            stop();
            throw new NodeStartException("Error starting jDiameter stack: " + e.getMessage(), e);
        }
        if (!ListeningPorts.awaitListening(settings.bindAddress(), port, LISTEN_TIMEOUT_MS)) {
            stop();
            throw new NodeStartException("Address already in use (" + settings.bindAddress() + ":" + port
                    + "): the stack did not start listening");
        }
    }

    @Override
    public int port() {
        return port;
    }

    /** Requests whose session delivered them on the thread that read them (DeliverOnCaller), for the tests. */
    long deliveredOnCaller() {
        DeliverOnCaller d = deliverOnCaller;
        return d == null ? 0 : d.ranOnCaller();
    }

    /** How soon the stack's earliest timer is due, in ms (Long.MAX_VALUE: none), for the tests. */
    long earliestStackTimerMillis() {
        java.util.concurrent.ScheduledThreadPoolExecutor t = stackTimerExecutor();
        if (t == null) {
            return Long.MAX_VALUE;
        }
        long earliest = Long.MAX_VALUE;
        for (Runnable r : t.getQueue()) {
            if (r instanceof java.util.concurrent.ScheduledFuture<?> f) {
                earliest = Math.min(earliest, f.getDelay(java.util.concurrent.TimeUnit.MILLISECONDS));
            }
        }
        return earliest;
    }

    /** The timers the stack holds now (its scheduled facility's queue), for the tests; -1 when not running. */
    int stackTimers() {
        java.util.concurrent.ScheduledThreadPoolExecutor t = stackTimerExecutor();
        return t == null ? -1 : t.getQueue().size();
    }

    /** The running stack's timer executor (made by its start()), or null. */
    private java.util.concurrent.ScheduledThreadPoolExecutor stackTimerExecutor() {
        StackImpl s = stack;
        return s != null && s.getScheduledFacility() instanceof java.util.concurrent.ScheduledThreadPoolExecutor t
                ? t : null;
    }

    @Override
    public int tlsPort() {
        return settings.tls() == null ? 0 : settings.tls().port();
    }

    @Override
    public java.util.List<String> listening() {
        TransportScreen s = screen;
        return s == null ? java.util.List.of() : java.util.List.copyOf(s.listening());
    }

    @Override
    public synchronized void stop() {
        if (prepared != null) { // never started: the stack made for it goes
            prepared.close();
            prepared = null;
        }
        StackImpl s = stack;
        if (s == null) {
            return;
        }
        stack = null;
        if (screen != null) {
            screen.listening().clear(); // listening() tells where a running node listens
            screen.stopping().set(true); // new connections are refused from now on
        }
        // the answers of CCRs still being decided go out before the DPR: their debits are
        // committed, and a PCEF that gets a DPR first retransmits them elsewhere. Requests that
        // come meanwhile are answered too, for at most the limits' drain (--stop-timeout).
        // Nothing in flight is not enough: an answer just handed to the stack is still being written,
        // and a request just read is not counted yet (a stop under load lost the last 50 answers
        // that way); nothing in flight for QUIET_MS is.
        awaitQuiet(QUIET_MS, 5, settings.limits().drainMillis());
        // From here every CCR is refused at once: the requests decided before (under steady traffic
        // the quiet above never comes, and the drain's deadline ends it; or one counted just after
        // its last look) are answered before the DPRs, which the stack sends after them in order.
        shuttingDown = true;
        awaitQuiet(SETTLED_MS, 1, SETTLE_MAX_MS);
        StackShutdown.shutdown(s, STOP_TIMEOUT_MS);
        TransportScreen.unregister(port);
        if (syncedSender != null) { // after the stack: the drain above waited for the answers it sends
            syncedAnswers.close(); // first: a sync from now on wakes nobody
            syncedSender.shutdownNow();
            syncedSender = null;
        }
        pipeline.logRefusalsNotYetLogged();
    }

    /**
     * A CCR without Destination-Realm, or for a realm this node does not serve: answered here, as
     * mock mode answers it (jDiameter would answer it itself: 5005 without Failed-AVP, or 3003,
     * outside our statistics). The realm is read from the raw bytes, so other CCRs are not parsed
     * twice.
     */
    private org.jdiameter.client.api.IMessage answerBeforeTheStack(java.nio.ByteBuffer raw,
                                                                    org.jdiameter.client.api.parser.IMessageParser parser) {
        String realm = DiameterCodec.topLevelUtf8(raw, AvpCodes.DESTINATION_REALM);
        if (realm != null && realm.equalsIgnoreCase(settings.realm())) {
            return null;
        }
        org.jdiameter.client.api.IMessage request;
        try {
            request = parser.createMessage(raw);
        } catch (Exception e) {
            return null; // jDiameter will say what is wrong with it
        }
        return (org.jdiameter.client.api.IMessage) (realm == null ? handler.screen(request)
                : handler.realmNotServed(request));
    }

    /** Receives every event and the first request of every session; later ones go to the session itself. */
    private final class NewSessionListener implements NetworkReqListener {
        @Override
        public Answer processRequest(Request request) {
            if (request.getCommandCode() != CommandCodes.CREDIT_CONTROL) {
                log.warn("Unsupported command {} from {}", request.getCommandCode(), request.getSessionId());
                Answer a = request.createAnswer(ResultCode.COMMAND_UNSUPPORTED);
                a.setError(true);
                return a;
            }
            handler.received(request);
            Answer refused = handler.screen(request);
            if (refused != null) {
                return refused;
            }
            if (shuttingDown) {
                return afterTheDpr(request);
            }
            long type = requestType(request);
            if (type == RequestType.UPDATE.code() || type == RequestType.TERMINATION.code()) {
                return handler.answerDirectly(request); // no jDiameter session: the core answers (5002 or a repeat)
            }
            if (type == RequestType.EVENT.code()) {
                // An event has no session state (RFC 4006 section 5.4): the generic server session
                // would only be created, answer and be released. When no balance changes, the
                // answer is made on the peer's own thread, with no hand-off to the
                // ApplicationSession pool and no session timers: 65 -> 27 us of CPU per event
                // (bench/RESULTS.md). An event that debits waits for a group commit: that wait
                // belongs on the pool, not on the thread that reads and writes this peer.
                CreditControlHandler.Decided atOnce = handler.answerAtOnce(request);
                if (atOnce != null) {
                    return atOnce.answer(); // null: a test behaviour holds it back
                }
            }
            try {
                ServerCCASession session = sessionFactory.getNewAppSession(request.getSessionId(), gy,
                        ServerCCASession.class, (Object[]) null);
                NetworkReqListener stateMachine = (NetworkReqListener) session;
                boolean onCaller = DeliverOnCaller.install(session, JDiameterGyNode.this::deliverOnCaller);
                // Later requests of this session are screened too before the state machine.
                session.getSessions().get(0).setRequestListener(r -> {
                    handler.received(r);
                    Answer error = handler.screen(r);
                    if (error != null) {
                        return error;
                    }
                    if (shuttingDown) {
                        return afterTheDpr(r);
                    }
                    // The state machine drops a CCR-I on an open session (a retransmission), and
                    // after a CCR-T answers a CCR-U/T on the session it is closing through the
                    // released session, i.e. not at all; the peer may send that next request the
                    // moment it has the CCA-T, before jDiameter marks the session IDLE. The core
                    // closed the session before that CCA existed: it answers those (repeat or 5002).
                    long next = requestType(r);
                    boolean open = session.getState(ServerCCASessionState.class) == ServerCCASessionState.OPEN
                            && handler.coreHoldsOpenFor(r);
                    if (next == RequestType.INITIAL.code() || !open && next != RequestType.EVENT.code()) {
                        return handler.answerDirectly(r);
                    }
                    return deliver(stateMachine, r, next, onCaller);
                });
                return deliver(stateMachine, request, type, onCaller);
            } catch (Exception e) {
                return handler.unableToComply(request, e); // logged and counted
            }
        }
    }

    /**
     * Waits until no CCR has been in flight for {@code quietMs} (looked at every {@code pollMs}),
     * or {@code maxMs} have passed.
     */
    private void awaitQuiet(long quietMs, long pollMs, long maxMs) {
        long deadline = System.nanoTime() + maxMs * 1_000_000L;
        long quietSince = 0;
        while (screen != null && System.nanoTime() < deadline) {
            if (screen.inFlight().get() > 0) {
                quietSince = 0;
            } else if (quietSince == 0) {
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= quietMs * 1_000_000L) {
                return;
            }
            try {
                Thread.sleep(pollMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * A CCR once the stop's DPRs are about to go out: 3004, nothing debited, and the PCEF sends it
     * to another OCS. Decided, its debit would be made and its answer never sent (the stack in its
     * stopping state sends nothing more); mock mode refuses alike after its DPR.
     */
    private Answer afterTheDpr(Request request) {
        return handler.refuse(request, ResultCode.TOO_BUSY, "the node is stopping (DPR sent)");
    }

    /**
     * Hands a request to its session's state machine: on this thread (the connection's reader)
     * when its decision waits for nothing, else on jDiameter's ApplicationSession pool.
     */
    private Answer deliver(NetworkReqListener stateMachine, Request r, long type, boolean onCaller) {
        if (onCaller && handler.decidesWithoutWaiting(type)) {
            DeliverOnCaller.onCaller(() -> stateMachine.processRequest(r)); // its answer is sent later
            return null;
        }
        return stateMachine.processRequest(r);
    }

    /** One executor for every session, around the stack's pool (the first session's). */
    private DeliverOnCaller deliverOnCaller(java.util.concurrent.ScheduledExecutorService pool) {
        DeliverOnCaller made = deliverOnCaller;
        if (made == null) {
            synchronized (deliverOnCallerLock) { // not the node's monitor, which start and stop hold
                made = deliverOnCaller;
                if (made == null) {
                    made = new DeliverOnCaller(pool);
                    deliverOnCaller = made;
                }
            }
        }
        return made;
    }

    /** CC-Request-Type of a screened request (present and valid), or -1. */
    private static long requestType(Request r) {
        try {
            org.jdiameter.api.Avp t = r.getAvps().getAvp(org.jdiameter.api.Avp.CC_REQUEST_TYPE);
            return t == null ? -1 : t.getInteger32();
        } catch (Exception e) {
            return -1;
        }
    }

    /** jDiameter's state machine calls this for CCR-I/U/T in a valid state, and for events that change a balance. */
    private final class AnsweringListener implements ServerCCASessionListener {
        @Override
        public void doCreditControlRequest(ServerCCASession session, JCreditControlRequest request) {
            handler.answer(session, request);
        }

        @Override
        public void doReAuthAnswer(ServerCCASession session, ReAuthRequest request, ReAuthAnswer answer) {
            log.debug("RAA for session {}", session.getSessionId());
        }

        @Override
        public void doOtherEvent(AppSession session, AppRequestEvent request, AppAnswerEvent answer) {
            log.warn("Unexpected message in session {}: {}", session.getSessionId(),
                    request != null ? request.getCommandCode() : answer);
        }
    }
}
