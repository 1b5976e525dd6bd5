package org.gyocs.app;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.gyocs.admin.AdminChannel;
import org.gyocs.core.SessionView;
import org.gyocs.core.UnitType;
import org.gyocs.behaviour.Behaviour;
import org.gyocs.behaviour.Behaviours;
import org.gyocs.gy.GyPipeline;
import org.gyocs.gy.RecentRequests;
import org.gyocs.gy.TestControl;
import org.gyocs.http.HealthReport;
import org.gyocs.http.NodeMetrics;
import org.gyocs.http.OperatorHttpServer;
import org.gyocs.node.AdminSettings;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.core.ChargingPolicy;
import org.gyocs.core.OnlineCharging;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.gy.jdiameter.JDiameterGyNode;
import org.gyocs.gy.jdiameter.PreparedStack;
import org.gyocs.gy.nio.MockGyNode;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.node.TrafficLog;
import org.gyocs.node.TransportLimits;
import org.gyocs.core.rating.Tariff;
import org.gyocs.core.rating.TariffBook;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.StoreException;
import org.gyocs.store.SubscriberAdmin;
import org.gyocs.store.SubscriberCsv;

/**
 * The gy-ocs node as a library: a Diameter Gy (RFC 4006) credit-control server.
 *
 * <pre>{@code
 * GyDiameterApplication app = GyDiameterApplication.builder()
 *         .host("ocs.example.com").realm("example.com").port(3868)
 *         .build();
 * app.start(false);              // returns once the port listens
 * ...
 * Map<String, Object> stats = app.getStatistics();
 * app.stop();                    // DPR to peers, statistics printed, no thread left
 * }</pre>
 *
 * An application can be started again after {@link #stop()}; each start begins new statistics.
 * Methods are thread-safe.
 */
public final class GyDiameterApplication {
    private static final Logger log = LogManager.getLogger(GyDiameterApplication.class);
    /** RARs and ASRs: not the app logger, whose lines are printed plain (a Session-Id could forge one). */
    private static final Logger sessionLog = LogManager.getLogger("org.gyocs.sessions");

    private final NodeSettings settings;
    private final boolean mock;
    private final ChargingPolicy charging;
    private final String storeUrl;
    private final String storeUser;
    private final String storePassword;
    private final Path subscribersFile;
    private NodeStatistics statistics = new NodeStatistics();
    private DiameterNode node;
    private OnlineCharging onlineCharging;
    private JdbcBalanceStore store;
    private AdminChannel adminChannel;
    private final AdminSettings admin;
    private OperatorHttpServer http;
    private volatile boolean stopping;
    private final java.time.Duration answerDeadline;
    private final java.time.Duration nodeTimeout;
    private CountDownLatch stopped = new CountDownLatch(0);

    private GyDiameterApplication(Builder b) {
        this.settings = new NodeSettings(b.host, b.realm, b.ip, b.port, b.config, b.verbose, b.limits, b.peers, b.tls);
        this.mock = b.mock;
        this.charging = b.charging != null ? b.charging : ChargingPolicy.of(
                new GrantPolicy(b.defaultOctets, b.defaultSeconds, b.defaultUnits, b.validityTime));
        this.storeUrl = b.store != null && !b.store.isBlank() ? b.store : embeddedStore(b.dataDir);
        this.storeUser = b.storeUser;
        this.storePassword = b.storePassword;
        this.subscribersFile = b.subscribers;
        this.answerDeadline = b.answerDeadline;
        this.nodeTimeout = b.nodeTimeout;
        this.admin = b.admin;
        this.accessLog = b.accessLog;
        this.behavioursFile = b.behavioursFile;
        this.testControlOn = b.testControl;
        this.requestsKept = b.requestsKept;
        this.tariffsFile = b.tariffsFile;
        this.timeZone = b.timeZone;
        this.usageRetention = b.usageRetention;
    }

    private final java.time.Duration usageRetention;

    private final Path tariffsFile;
    private final java.time.ZoneId timeZone;

    private final Path behavioursFile;
    private final boolean testControlOn;
    private final int requestsKept;
    /** The test behaviours: the same rules across a stop and a start, the file's read again at each start. */
    private final Behaviours behaviours = new Behaviours();
    private TestControl testControl;

    private final boolean accessLog;

    /**
     * The embedded store: an H2 file under {@code dataDir}, opened by this process alone. No
     * AUTO_SERVER: it opened a TCP port on every interface with empty credentials; bin/ocs-admin.sh
     * reaches a running node through its admin socket instead (org.gyocs.admin.AdminChannel).
     * DB_CLOSE_ON_EXIT=FALSE: the node closes the database itself, after its last debit; H2's own
     * shutdown hook racing that close once left a file that would not open again. H2 writes each
     * commit without syncing it; the store's journal (next to the file) keeps every acknowledged debit
     * (org.gyocs.store.AmountJournal).
     */
    public static String embeddedStore(Path dataDir) {
        return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("ocs") + ";DB_CLOSE_ON_EXIT=FALSE";
    }

    /** A builder with the defaults of {@code bin/ocs.sh}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * An application configured from a map, for embedding: keys {@code host}, {@code realm},
     * {@code ip}, {@code port} (number or string), {@code config} (path) and optionally
     * {@code verbose}, {@code mock} and {@code store} (a JDBC URL); missing keys take the defaults.
     *
     * @throws IllegalArgumentException for an unknown key or a value of the wrong kind
     */
    public static GyDiameterApplication fromMap(Map<String, Object> config) {
        Builder b = builder();
        for (Map.Entry<String, Object> e : config.entrySet()) {
            Object v = e.getValue();
            switch (e.getKey()) {
                case "host" -> b.host(String.valueOf(v));
                case "realm" -> b.realm(String.valueOf(v));
                case "ip" -> b.ip(String.valueOf(v));
                case "port" -> b.port(v instanceof Number n ? n.intValue() : parsePort(String.valueOf(v)));
                case "config" -> b.config(v instanceof Path p ? p : Path.of(String.valueOf(v)));
                case "verbose" -> b.verbose(Boolean.parseBoolean(String.valueOf(v)));
                case "mock" -> b.mock(Boolean.parseBoolean(String.valueOf(v)));
                case "store" -> b.store(String.valueOf(v));
                default -> throw new IllegalArgumentException("unknown configuration key: " + e.getKey());
            }
        }
        return b.build();
    }

    private static int parsePort(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port must be a number, not '" + s + "'");
        }
    }

    /** The settings this application runs with. */
    public NodeSettings settings() {
        return settings;
    }

    /**
     * Starts the node. With {@code blocking} false it returns once the port really listens;
     * with {@code blocking} true it returns after {@link #stop()} (e.g. from a signal handler).
     *
     * @throws NodeStartException with an operator-readable message (port in use, bad config...)
     */
    public void start(boolean blocking) throws NodeStartException {
        CountDownLatch waitFor;
        synchronized (this) {
            if (node != null) {
                throw new IllegalStateException("already started");
            }
            if (settings.verbose()) {
                Configurator.setLevel(TrafficLog.NAME, Level.INFO);
            }
            if (accessLog) {
                Configurator.setLevel(org.gyocs.node.AccessLog.NAME, Level.INFO);
            }
            NodeStatistics fresh = new NodeStatistics();
            // the ports first: someone who started the node twice needs to read "Address already in use"
            ListeningPorts.checkBindable(settings.bindAddress(), settings.port());
            admin.check();
            if (admin.enabled()) {
                try {
                    ListeningPorts.checkBindable(admin.bindAddress(), admin.bindPort());
                } catch (NodeStartException e) {
                    throw new NodeStartException("The operator's HTTP interface: " + e.getMessage()
                            + "; choose another port with --admin-port (or admin-port in config/ocs.properties), "
                            + "0 for none", e);
                }
            }
            // jDiameter's configuration and initialisation (about 1 s) on a thread of their own while
            // the store opens: the stack needs the core only once it listens
            PreparedStack prepared = mock ? null : PreparedStack.begin(settings);
            boolean started = false;
            try {
                List<Behaviour> fromFile = readBehaviours();
                JdbcBalanceStore s = openStore();
                AdminChannel channel;
                try {
                    channel = openAdminChannel(s);
                } catch (NodeStartException e) {
                    s.close();
                    throw e;
                }
                StoreWatch watch = StoreWatch.of(s, JdbcBalanceStore.embeddedDirectory(storeUrl).isEmpty(), answerDeadline);
                // metrics only with the HTTP interface that shows them: nothing is measured for nobody
                NodeMetrics metrics = !admin.enabled() ? null : new NodeMetrics(new NodeMetrics.Sources(() -> fresh,
                        this::openSessions, this::connectedPeers, () -> watch.problem().isEmpty(), () -> health().up(),
                        behaviours::list),
                        version(), mock ? "mock" : "jdiameter");
                OnlineCharging core = new OnlineCharging(charging,
                        metrics == null ? s : new org.gyocs.store.TimedBalanceStore(s, metrics::storeLatency), fresh);
                sessionsCore = core; // sessions may open as soon as the node listens, before the start is done
                try {
                    core.tariffs(new TariffBook(s.tariffs(), timeZone));
                } catch (RuntimeException e) {
                    closeAll(e, core::close, channel == null ? null : channel::close, watch::close, s::close);
                    throw new NodeStartException("Cannot read the tariffs from the store: " + e.getMessage(), e);
                }
                // on a shared store, sessions too: any node continues any session (RFC 4006 section 5.7)
                core.shareSessions(s.sharedSessions(settings.originHost(), nodeTimeout));
                // an import here, by ocs-admin or by another node sharing the store: read again within 250 ms
                s.onProvisioningChange(() -> core.tariffs(new TariffBook(s.tariffs(), timeZone)));
                // each start begins with the file's rules (or none): those added over HTTP last until the node stops
                behaviours.replaceAll(fromFile == null ? List.of() : fromFile);
                if (fromFile != null) {
                    log.info("{} test behaviours from {}: answers to the requests they match are changed on purpose",
                            fromFile.size(), behavioursFile);
                }
                // the record of requests only where GET /requests can show it
                TestControl control = new TestControl(behaviours,
                        admin.enabled() && requestsKept > 0 ? new RecentRequests(requestsKept) : RecentRequests.NONE,
                        this::sendToSession);
                GyPipeline pipeline = new GyPipeline(core, fresh, settings.originHost(), settings.realm(),
                        metrics == null ? nanos -> { } : metrics, control);
                if (core.sharesSessions()) { // another node has the session: the PCEF may send it there
                    pipeline.refuseWhileStoreDown(watch::problem);
                }
                s.syncPoints().ifPresent(pipeline::answersAfterSync);
                DiameterNode n = mock ? new MockGyNode(settings, pipeline) : new JDiameterGyNode(settings, pipeline, prepared);
                OperatorHttpServer web = null;
                try {
                    n.start();
                    if (metrics != null) {
                        web = startHttp(metrics);
                    }
                } catch (NodeStartException | RuntimeException e) {
                    // everything opened above is closed, whatever fails while closing it
                    closeAll(e, n::stop, control::close, watch::close, core::close, channel == null ? null : channel::close,
                            s::close);
                    throw e;
                }
                adminChannel = channel;
                testControl = control;
                storeWatch = watch;
                http = web;
                stopping = false;
                statistics = fresh;
                node = n;
                onlineCharging = core;
                store = s;
                stopped = new CountDownLatch(1);
                waitFor = stopped;
                banner(n.port());
                started = true;
            } finally {
                if (!started && prepared != null) {
                    prepared.close(); // the node did not take it: its threads go
                }
            }
        }
        if (blocking) {
            try {
                waitFor.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop();
            }
        }
    }

    /** The --behaviours file's rules, or null without one. */
    private List<Behaviour> readBehaviours() throws NodeStartException {
        if (behavioursFile == null) {
            return null;
        }
        if (!testControlOn) {
            throw new NodeStartException("Behaviours not applied: test control is off (test-control=false), "
                    + "yet a behaviours file is given (" + behavioursFile + ")");
        }
        try {
            return Behaviours.readFile(behavioursFile);
        } catch (IOException e) {
            throw new NodeStartException("Cannot read the behaviours file " + behavioursFile + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new NodeStartException("Behaviours not applied: " + e.getMessage(), e);
        }
    }

    /**
     * The test behaviours (see README, Test control): rules that change the answers to the
     * requests they match. Empty in normal operation.
     */
    public Behaviours behaviours() {
        return behaviours;
    }

    /** Runs each step (null: none), even after one fails; what fails is added to {@code first}. */
    private static void closeAll(Exception first, Runnable... steps) {
        for (Runnable step : steps) {
            if (step == null) {
                continue;
            }
            try {
                step.run();
            } catch (RuntimeException e) {
                first.addSuppressed(e);
            }
        }
    }

    private JdbcBalanceStore openStore() throws NodeStartException {
        JdbcBalanceStore s;
        try {
            s = JdbcBalanceStore.open(storeUrl, blankToNull(storeUser), blankToNull(storePassword), 8);
        } catch (StoreException e) {
            throw new NodeStartException(e.getMessage(), e);
        }
        s.answerDeadline(answerDeadline);
        s.usageRetention(usageRetention);
        s.onFailure(this::storeFailed);
        if (tariffsFile != null) {
            try {
                List<Tariff> rows = TariffCsv.parse(java.nio.file.Files.readAllLines(tariffsFile), tariffsFile.toString());
                s.replaceTariffs(rows);
                log.info("Imported {} tariffs from {}", rows.size(), tariffsFile);
            } catch (IOException e) {
                s.close();
                throw new NodeStartException("Cannot read tariffs file " + tariffsFile + ": " + e.getMessage(), e);
            } catch (IllegalArgumentException | StoreException e) {
                s.close();
                throw new NodeStartException("Tariffs not imported: " + e.getMessage(), e);
            }
        }
        if (subscribersFile != null) {
            try {
                SubscriberCsv.Provisioning p = SubscriberCsv.read(subscribersFile);
                s.add(p.buckets(), p.plans(), true);
                log.info("Imported {} balance buckets from {}", p.buckets().size(), subscribersFile);
            } catch (IOException e) {
                s.close();
                throw new NodeStartException("Cannot read subscribers file " + subscribersFile + ": " + e.getMessage(), e);
            } catch (IllegalArgumentException | StoreException e) {
                s.close();
                throw new NodeStartException("Subscribers not imported: " + e.getMessage(), e);
            }
        }
        return s;
    }

    /** On the embedded store, the socket through which bin/ocs-admin.sh works while the node runs; else null. */
    private AdminChannel openAdminChannel(JdbcBalanceStore s) throws NodeStartException {
        java.util.Optional<Path> dir = JdbcBalanceStore.embeddedDirectory(storeUrl);
        if (dir.isEmpty()) {
            return null; // PostgreSQL: ocs-admin works on it directly, with its own credentials
        }
        Path socket = AdminChannel.socketIn(dir.get());
        java.util.function.Function<org.gyocs.admin.SubscriberCommands.Request, AdminChannel.Response> commands =
                AdminChannel.commandsOn(s);
        try {
            return AdminChannel.serve(socket, request -> {
                List<String> a = request.args();
                if (!a.isEmpty() && a.get(0).equals("status")) {
                    return status(s);
                }
                List<String> named = replacedBy(request);
                if (!named.isEmpty()) {
                    synchronized (adminReplacements) { // one at a time: each import's rows are in the heap
                        return replacing(request, named, commands);
                    }
                }
                AdminChannel.Response done = commands.apply(request);
                // ocs-admin add/topup while the node runs: its PCEFs learn of it at once, as with the HTTP API
                if (done.exitStatus() == 0 && a.size() > 1 && (a.get(0).equals("add") || a.get(0).equals("topup"))) {
                    reAuthorizeSessionsOf(a.get(1));
                }
                return done;
            });
        } catch (java.io.IOException | RuntimeException e) {
            throw new NodeStartException("Cannot open the admin socket " + socket + ": " + e.getMessage(), e);
        }
    }

    private final Object adminReplacements = new Object();

    /** ocs-admin import or delete through the running node: refused for subscribers in session. */
    private AdminChannel.Response replacing(org.gyocs.admin.SubscriberCommands.Request request, List<String> named,
                                            java.util.function.Function<org.gyocs.admin.SubscriberCommands.Request,
                                                    AdminChannel.Response> commands) {
        String refused = openSessionRefusal(request.args(), named);
        if (refused != null) {
            return new AdminChannel.Response(1, "", "Error: " + refused + "\n");
        }
        AdminChannel.Response done = commands.apply(request);
        if (done.exitStatus() == 0 && request.args().get(0).equals("import")) {
            // a session opened while the import ran: its PCEF asks again, from the new buckets
            org.gyocs.admin.OpenSessionRule.openedDuring(named, inSession()).forEach(this::reAuthorizeSessionsOf);
        }
        return done;
    }

    /** The subscribers whose buckets an ocs-admin import or delete replaces (none for other commands, or a bad CSV). */
    private static List<String> replacedBy(org.gyocs.admin.SubscriberCommands.Request request) {
        List<String> a = request.args();
        if (a.size() < 2) {
            return List.of();
        }
        if (a.get(0).equals("delete")) {
            return List.of(a.get(1));
        }
        if (!a.get(0).equals("import")) {
            return List.of();
        }
        try {
            return org.gyocs.store.SubscriberCsv.read(request.attachment(), a.get(1)).buckets().stream()
                    .map(org.gyocs.store.Bucket::subscriber).distinct().toList();
        } catch (IllegalArgumentException e) {
            return List.of(); // the command itself names the bad line
        }
    }

    /** ocs-admin import and delete on the running node: refused for subscribers in session, as the HTTP API does. */
    private String openSessionRefusal(List<String> a, List<String> named) {
        if (a.get(0).equals("delete")) {
            return org.gyocs.admin.OpenSessionRule.changeRefusal(named.get(0), openSessionsOf(named.get(0)), "deleted",
                    "bin/ocs-admin.sh topup");
        }
        return org.gyocs.admin.OpenSessionRule.importRefusal(named, inSession());
    }

    /**
     * The core whose sessions the open-session rule looks at: set as soon as it is made, since
     * sessions open once the node listens, before the start is done and the core is the node's.
     */
    private volatile OnlineCharging sessionsCore;

    private java.util.Set<String> inSession() {
        OnlineCharging core = sessionsCore;
        return core == null ? java.util.Set.of() : core.subscribersInSession();
    }

    private int openSessionsOf(String subscriber) {
        OnlineCharging core = sessionsCore;
        return core == null ? 0 : core.openSessionsOf(subscriber);
    }

    /**
     * {@code ocs-admin status}: whether the node is healthy (its store can change balances), what it
     * listens on, its sessions and its answers. Exit status 0 healthy, 1 not.
     */
    private AdminChannel.Response status(JdbcBalanceStore s) {
        java.util.Optional<String> broken = s.failure();
        StringBuilder out = new StringBuilder();
        out.append("node:     ").append(broken.isPresent() ? "UNHEALTHY" : "healthy").append(", ")
                .append(mock ? "mock mode" : "jDiameter mode").append(", ").append(settings.originHost()).append(" (")
                .append(settings.realm()).append(") on ").append(settings.bindAddress()).append(':').append(getPort());
        if (settings.tls() != null) {
            out.append(", TLS on ").append(getTlsPort());
        }
        out.append('\n');
        out.append("store:    ").append(broken.orElse("changes balances")).append(" (")
                .append(JdbcBalanceStore.describe(storeUrl)).append(")\n");
        out.append("peers:    ").append(settings.peers()).append('\n');
        out.append("sessions: ").append(openSessions()).append(" open\n");
        out.append(statistics.report()).append('\n');
        return new AdminChannel.Response(broken.isPresent() ? 1 : 0, out.toString(), "");
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private volatile String failure;

    /**
     * The store can change no balance any more: the node stops (DPR to its peers, which fail over
     * to another OCS) rather than answer 5012 to every request; bin/ocs.sh then exits 1, and
     * systemd's Restart=always starts it again, which replays the journal.
     */
    void storeFailed(String why) {
        failure = why;
        log.error("Stopping the node: {}", why);
        new Thread(this::stop, "ocs-store-failure-stop").start();
    }

    /** Why the node stopped by itself (its balance store failed), or null. */
    public String failure() {
        return failure;
    }

    private OperatorHttpServer startHttp(NodeMetrics metrics) throws NodeStartException {
        try {
            OperatorHttpServer web = OperatorHttpServer.start(admin, new OperatorHttpServer.Node() {
                @Override
                public HealthReport health() {
                    return GyDiameterApplication.this.health();
                }

                @Override
                public NodeMetrics metrics() {
                    return metrics;
                }

                @Override
                public List<ConnectedPeers.Peer> peers() {
                    DiameterNode n = currentNode();
                    return n == null ? List.of() : n.peers().list();
                }

                @Override
                public List<SessionView> sessions(String subscriber, int limit) {
                    OnlineCharging core = charging();
                    return core == null ? List.of()
                            : subscriber == null ? core.sessions(null, limit) : core.sessionsNamed(subscriber, limit);
                }

                @Override
                public java.util.Optional<SessionView> session(String sessionId) {
                    OnlineCharging core = charging();
                    return core == null ? java.util.Optional.empty() : core.session(sessionId);
                }

                @Override
                public SubscriberAdmin admin() {
                    SubscriberAdmin a = subscriberAdmin();
                    if (a == null) {
                        throw new IllegalStateException("the node is stopping");
                    }
                    return a;
                }

                @Override
                public void topUp(String subscriber, UnitType unit, Long ratingGroup, long amount, String idempotencyKey) {
                    JdbcBalanceStore s;
                    synchronized (GyDiameterApplication.this) {
                        s = store;
                    }
                    if (s == null) {
                        throw new IllegalStateException("the node is stopping");
                    }
                    // with an Idempotency-Key the top-up is a change key's change: applied at most once
                    // (ChangeKeys, kept an hour), so a client that retries after a lost answer credits once
                    s.credit(subscriber, unit, ratingGroup, amount,
                            idempotencyKey == null ? null : "topup|" + subscriber + "|" + idempotencyKey);
                    reAuthorizeSessionsOf(subscriber);
                }

                @Override
                public void changed(String subscriber) {
                    reAuthorizeSessionsOf(subscriber);
                }

                @Override
                public int openSessions(String subscriber) {
                    return openSessionsOf(subscriber);
                }

                @Override
                public java.util.Set<String> subscribersInSession() {
                    return inSession();
                }

                @Override
                public java.util.concurrent.CompletableFuture<Long> send(org.gyocs.node.SessionRequest.Kind kind,
                                                                          String sessionId) {
                    return sendToSession(kind, sessionId);
                }

                @Override
                public NodeStatistics statistics() {
                    synchronized (GyDiameterApplication.this) {
                        return statistics;
                    }
                }

                @Override
                public boolean testControlOn() {
                    return testControlOn;
                }

                @Override
                public Behaviours behaviours() {
                    return behaviours;
                }

                @Override
                public RecentRequests recentRequests() {
                    TestControl c;
                    synchronized (GyDiameterApplication.this) {
                        c = testControl;
                    }
                    return c == null ? RecentRequests.NONE : c.recent();
                }
            });
            log.info("Web console and operator's HTTP interface on http://{}:{}/ (health, metrics, overview, peers, sessions, subscribers, tariffs, usage, behaviours, requests){}", admin.bindAddress(),
                    web.port(), admin.token() == null ? "" : ", bearer token required");
            return web;
        } catch (IOException | RuntimeException e) {
            throw new NodeStartException("Cannot open the operator's HTTP interface on " + admin.bindAddress() + ":"
                    + (admin.port() == AdminSettings.ANY_PORT ? "any port" : admin.port()) + ": " + e.getMessage(), e);
        }
    }

    private synchronized OnlineCharging charging() {
        return onlineCharging;
    }

    private synchronized DiameterNode currentNode() {
        return node;
    }

    /** The HTTP port of the operator's interface while it runs, or 0 without one. */
    public synchronized int getAdminPort() {
        return http == null ? 0 : http.port();
    }

    private int connectedPeers() {
        DiameterNode n = currentNode();
        return n == null ? 0 : n.peers().count();
    }

    private StoreWatch storeWatch;

    /**
     * What GET /health answers: UP when the node listens and its store can change balances;
     * DOWN with the reason otherwise (stopping, journal or store failed, database unreachable).
     */
    public HealthReport health() {
        DiameterNode n;
        synchronized (this) {
            n = node;
        }
        if (n == null || stopping) {
            return HealthReport.down(failure != null ? "stopping: " + failure : "stopping");
        }
        StoreWatch watch;
        synchronized (this) {
            watch = storeWatch;
        }
        String why = failure != null ? failure : watch == null ? "stopping" : watch.problem().orElse(null);
        return new HealthReport(why == null ? "UP" : "DOWN", why, mock ? "mock" : "jdiameter",
                settings.originHost(), settings.realm(), n.port(), settings.tls() == null ? null : n.tlsPort(),
                JdbcBalanceStore.describe(storeUrl).replaceFirst("[?;].*$", ""), openSessions(), n.peers().count());
    }

    /**
     * Sends a RAR (RE_AUTH) or an ASR (ABORT_SESSION) to the peer holding an open session;
     * completes with the answer's Result-Code. Counted by result and logged; an RAA 5002 (the
     * PCEF no longer knows the session) ends the node's side of it and releases what it holds.
     *
     * @throws IllegalArgumentException when no such session is open
     */
    public java.util.concurrent.CompletableFuture<Long> sendToSession(org.gyocs.node.SessionRequest.Kind kind,
                                                                       String sessionId) {
        OnlineCharging core = charging();
        DiameterNode n = currentNode();
        SessionView s = core == null ? null : core.session(sessionId).orElse(null);
        if (s == null || n == null) {
            throw new IllegalArgumentException("no open session " + sessionId);
        }
        return send(kind, s, core, n);
    }

    /** Sends the RAR or ASR for a session as it was just seen open, and counts and logs how it ends. */
    private java.util.concurrent.CompletableFuture<Long> send(org.gyocs.node.SessionRequest.Kind kind, SessionView s,
                                                              OnlineCharging core, DiameterNode n) {
        String sessionId = s.sessionId();
        org.gyocs.node.SessionRequest r = new org.gyocs.node.SessionRequest(kind, sessionId, s.peer());
        NodeStatistics counted;
        synchronized (this) {
            counted = statistics;
        }
        // not on the thread that completes it (mock mode: the peer's event loop): ending a session
        // waits for its lock and the store
        return n.send(r).orTimeout(org.gyocs.node.SessionRequest.ANSWER_TIMEOUT_MILLIS + 2_000,
                java.util.concurrent.TimeUnit.MILLISECONDS).whenCompleteAsync((rc, failure) -> {
            String command = kind.shortName();
            if (failure == null) {
                counted.sessionRequestEnded(command, String.valueOf(rc));
                sessionLog.info("{} for session {} to {}: answered {}", command, sessionId, s.peer(), rc);
                if (kind == org.gyocs.node.SessionRequest.Kind.RE_AUTH && rc == org.gyocs.core.ResultCode.UNKNOWN_SESSION_ID) {
                    core.endSession(sessionId, "its PCEF answered the RAR 5002 (unknown session)");
                }
                return;
            }
            Throwable why = failure instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : failure;
            String result = why instanceof org.gyocs.node.SessionRequest.NoAnswer
                    || why instanceof java.util.concurrent.TimeoutException ? "timeout"
                    : why instanceof org.gyocs.node.SessionRequest.PeerNotConnected ? "not_connected" : "error";
            counted.sessionRequestEnded(command, result);
            counted.error();
            sessionLog.warn("{} for session {} to {}: {}", command, sessionId, s.peer(), why.getMessage());
        });
    }

    /**
     * After a subscriber's balance changed (a top-up, new buckets): a RAR to the peer of each of
     * its open sessions, so that each PCEF asks at once for a grant from the new balance
     * (RFC 4006 section 5.5). Not waited for: each is counted and logged as it ends.
     */
    private void reAuthorizeSessionsOf(String subscriber) {
        OnlineCharging core = charging();
        DiameterNode n = currentNode();
        if (core == null || n == null) {
            return;
        }
        for (SessionView s : core.sessions(subscriber, Integer.MAX_VALUE)) {
            send(org.gyocs.node.SessionRequest.Kind.RE_AUTH, s, core, n);
        }
    }

    /** This build's version (from the jar's manifest), or "dev" when run from classes. */
    static String version() {
        String v = GyDiameterApplication.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The balance store in use while running (for administration through the API), else null. */
    public synchronized SubscriberAdmin subscriberAdmin() {
        return store;
    }

    /** Credit-control sessions open now. */
    public synchronized int openSessions() {
        return onlineCharging == null ? 0 : onlineCharging.openSessions();
    }

    /** The port listened on; useful after starting with port 0. */
    public synchronized int getPort() {
        return node == null ? settings.port() : node.port();
    }

    /** The TLS port listened on (with port 0 asked in mock mode, the one picked), or 0 without TLS. */
    public synchronized int getTlsPort() {
        return node == null ? (settings.tls() == null ? 0 : settings.tls().port()) : node.tlsPort();
    }

    /** True between a successful start and stop. */
    public synchronized boolean isRunning() {
        return node != null;
    }

    /** Sends DPR to connected peers, stops every thread of the node and prints the statistics. Idempotent. */
    public void stop() {
        DiameterNode n;
        CountDownLatch other = null;
        synchronized (this) {
            n = node;
            if (n == null) {
                return;
            }
            if (stopping) {
                other = stopped; // another thread stops it (a signal and a store failure): wait for it
            }
            stopping = true; // GET /health says 503 from now on, while the node drains
        }
        if (other != null) {
            try {
                other.await(2, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        log.info("Stopping server...");
        n.stop(); // answers a behaviour delays may still go out while it drains
        OperatorHttpServer web;
        TestControl control;
        synchronized (this) {
            node = null;
            web = http;
            http = null;
            control = testControl;
            testControl = null;
        }
        if (control != null) {
            control.close();
        }
        OnlineCharging core;
        JdbcBalanceStore s;
        AdminChannel admin;
        StoreWatch watch;
        synchronized (this) {
            core = onlineCharging;
            s = store;
            admin = adminChannel;
            watch = storeWatch;
            onlineCharging = null;
            store = null;
            adminChannel = null;
            storeWatch = null;
        }
        if (watch != null) {
            watch.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (core != null) {
            core.close();
        }
        if (s != null) {
            s.close();
        }
        if (web != null) {
            web.close();
        }
        printStatistics();
        stopped.countDown();
    }

    /**
     * The counters of the current (or last) run: {@code ccr_initial_received},
     * {@code ccr_update_received}, {@code ccr_terminate_received}, {@code ccr_event_received},
     * {@code cca_sent}, {@code errors}, {@code sessions_expired}, {@code sessions_open} (Long) and
     * {@code answers_by_result_code} (Map of Result-Code to count).
     */
    public Map<String, Object> getStatistics() {
        Map<String, Object> m = new java.util.LinkedHashMap<>(statistics.snapshot());
        m.put("sessions_open", (long) openSessions());
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Prints the statistics block to the log. */
    public void printStatistics() {
        // marker PLAIN: config/log4j2.xml keeps its lines in logs/ocs.log (other messages are escaped there)
        log.info(org.apache.logging.log4j.MarkerManager.getMarker("PLAIN"), "\n{}", statistics.report());
    }

    private void banner(int port) {
        String line = "=".repeat(60);
        log.info(line);
        log.info(mock ? "Starting MOCK Gy Diameter Server (Testing Mode)" : "Starting Gy Diameter Server (jDiameter)");
        log.info(line);
        log.info("Host identity: {}", settings.originHost());
        log.info("Realm:         {}", settings.realm());
        log.info("Balance store: {}", JdbcBalanceStore.describe(storeUrl));
        // which Java bin/lib/common.sh chose (the newest it found), for an operator comparing nodes
        log.info("Java:          {} ({})", Runtime.version(), System.getProperty("java.vm.vendor"));
        if (!mock) {
            log.info("Config:        {}", settings.configFile());
        }
        // jDiameter for 0.0.0.0: one socket on each address of the machine at start, not one added later
        java.util.List<String> where = "0.0.0.0".equals(settings.bindAddress()) ? node.listening() : java.util.List.of();
        if (where.isEmpty()) {
            log.info("Listening on: {}:{}", settings.bindAddress(), port);
        } else {
            log.info("Listening on: {} (for {}: the machine's addresses at start)", String.join(", ", where),
                    settings.bindAddress());
        }
        if (settings.tls() != null) {
            String tls = where.isEmpty() ? settings.bindAddress() + ":" + node.tlsPort() : where.stream()
                    .map(w -> w.substring(0, w.lastIndexOf(':') + 1) + node.tlsPort())
                    .collect(java.util.stream.Collectors.joining(", "));
            log.info("TLS on:       {} (mutual authentication: the certificate must name the peer's Origin-Host)", tls);
        }
        log.info("Peers:         {}", settings.peers()); // "any": a lab's default, closed by allowed-peers
        log.info("✓ Server started successfully");
        log.info("✓ Waiting for connections...");
    }

    /** Builds a {@link GyDiameterApplication}; every setting has the default of {@code bin/ocs.sh}. */
    public static final class Builder {
        private String host = NodeSettings.DEFAULT_HOST;
        private String realm = NodeSettings.DEFAULT_REALM;
        private String ip = NodeSettings.DEFAULT_BIND_ADDRESS;
        private int port = NodeSettings.DEFAULT_PORT;
        private Path config = NodeSettings.DEFAULT_CONFIG;
        private boolean verbose;
        private boolean mock;
        private long defaultOctets = GrantPolicy.DEFAULT.defaultOctets();
        private long defaultSeconds = GrantPolicy.DEFAULT.defaultSeconds();
        private long defaultUnits = GrantPolicy.DEFAULT.defaultUnits();
        private long validityTime = GrantPolicy.DEFAULT.validityTime();
        private TransportLimits limits = TransportLimits.DEFAULT;
        private ChargingPolicy charging;
        private Path tariffsFile;
        private java.time.ZoneId timeZone = java.time.ZoneId.systemDefault();
        private java.time.Duration usageRetention = java.time.Duration.ofDays(JdbcBalanceStore.DEFAULT_USAGE_RETENTION_DAYS);
        private String store;
        private String storeUser;
        private String storePassword;
        private Path subscribers;
        private Path dataDir = Path.of("data");
        private java.time.Duration answerDeadline = java.time.Duration.ofMillis(3_000);
        private java.time.Duration nodeTimeout = java.time.Duration.ofSeconds(30);
        private org.gyocs.node.PeerAllowList peers = org.gyocs.node.PeerAllowList.ANY;
        private org.gyocs.node.TlsSettings tls;
        private AdminSettings admin = AdminSettings.NONE;
        private boolean accessLog;
        private Path behavioursFile;
        private boolean testControl = true;
        private int requestsKept = org.gyocs.app.OcsConfiguration.DEFAULT_REQUESTS_KEPT;

        private Builder() {
        }

        /** A JSON file of test behaviours applied from the start (null: none). */
        /** A tariff CSV imported at start, replacing the store's tariffs (null: keep them). */
        public Builder tariffs(Path file) {
            tariffsFile = file;
            return this;
        }

        /** How long usage records are kept after they start (default 90 days). */
        public Builder usageRetention(java.time.Duration d) {
            usageRetention = java.util.Objects.requireNonNull(d);
            return this;
        }

        /** Where the tariffs' bands are read (default: the machine's time zone). */
        public Builder timeZone(java.time.ZoneId zone) {
            timeZone = java.util.Objects.requireNonNull(zone);
            return this;
        }

        public Builder behaviours(Path file) {
            behavioursFile = file;
            return this;
        }

        /**
         * Whether test behaviours may be defined (default true); false on a production node, where
         * nobody may make it refuse, drop or disconnect on purpose.
         */
        public Builder testControl(boolean on) {
            testControl = on;
            return this;
        }

        /** How many recent requests GET /requests keeps (default 1,000; 0: none). */
        public Builder requestsKept(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("requests-kept must be 0 or more");
            }
            requestsKept = n;
            return this;
        }

        /** Origin-Host, our Diameter identity. */
        public Builder host(String v) {
            host = Objects.requireNonNull(v);
            return this;
        }

        /** Origin-Realm. */
        public Builder realm(String v) {
            realm = Objects.requireNonNull(v);
            return this;
        }

        /** Bind address; 0.0.0.0 for all interfaces. */
        public Builder ip(String v) {
            ip = Objects.requireNonNull(v);
            return this;
        }

        /** TCP port; 0 picks a free one (see {@link GyDiameterApplication#getPort()}). */
        public Builder port(int v) {
            port = v;
            return this;
        }

        /** The jDiameter XML configuration file. */
        public Builder config(Path v) {
            config = Objects.requireNonNull(v);
            return this;
        }

        /** Log every request and answer. */
        public Builder verbose(boolean v) {
            verbose = v;
            return this;
        }

        /** Run on the project's own Diameter codec and NIO server instead of jDiameter. */
        public Builder mock(boolean v) {
            mock = v;
            return this;
        }

        /** Default CC-Total-Octets grant. */
        public Builder defaultOctets(long v) {
            defaultOctets = v;
            return this;
        }

        /** Default CC-Time grant in seconds. */
        public Builder defaultSeconds(long v) {
            defaultSeconds = v;
            return this;
        }

        /** Default CC-Service-Specific-Units grant. */
        public Builder defaultUnits(long v) {
            defaultUnits = v;
            return this;
        }

        /** Validity-Time sent with each grant, seconds. */
        public Builder validityTime(long v) {
            validityTime = v;
            return this;
        }

        /** Message size, connection cap, watchdog and stall timeouts of the mock transport. */
        public Builder limits(TransportLimits v) {
            limits = Objects.requireNonNull(v);
            return this;
        }

        /** The whole charging policy (config/ocs.properties); when set, the grant setters above are ignored. */
        public Builder charging(ChargingPolicy v) {
            charging = v;
            return this;
        }

        /** Balance store JDBC URL: jdbc:postgresql://... or jdbc:h2:...; default an H2 file under the data directory. */
        /** Diameter over TLS on a port of its own too (default: none). */
        public Builder tls(org.gyocs.node.TlsSettings settings) {
            this.tls = settings;
            return this;
        }

        /** Which peers may connect (default: any). */
        public Builder peers(org.gyocs.node.PeerAllowList allowed) {
            this.peers = Objects.requireNonNull(allowed);
            return this;
        }

        /** One JSON line per answered request (logger org.gyocs.access: logs/access.log in config/log4j2.xml). */
        public Builder accessLog(boolean v) {
            accessLog = v;
            return this;
        }

        /** The operator's HTTP interface (health, metrics, peers, sessions, subscribers); none by default in the API, 8080 in bin/ocs.sh. */
        public Builder admin(AdminSettings v) {
            admin = Objects.requireNonNull(v);
            return this;
        }

        /** How long a request may wait for the balance store before it is answered 5012 (default 3 s). */
        public Builder answerDeadline(java.time.Duration d) {
            this.answerDeadline = Objects.requireNonNull(d);
            return this;
        }

        /**
         * On a shared store, how long another node's heartbeat may be silent before this node
         * releases the sessions that node answered last (default 30 s).
         */
        public Builder nodeTimeout(java.time.Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("node-timeout must be positive");
            }
            this.nodeTimeout = d;
            return this;
        }

        public Builder store(String url) {
            store = url;
            return this;
        }

        /** Database user and password for the store (PostgreSQL). */
        public Builder storeCredentials(String user, String password) {
            storeUser = user;
            storePassword = password;
            return this;
        }

        /** A CSV file of balance buckets imported at start (see {@link SubscriberCsv}). */
        public Builder subscribers(Path csv) {
            subscribers = csv;
            return this;
        }

        /** Where the embedded store keeps its file (default ./data). */
        public Builder dataDir(Path dir) {
            dataDir = Objects.requireNonNull(dir);
            return this;
        }

        /** @throws IllegalArgumentException when a value is out of range */
        public GyDiameterApplication build() {
            return new GyDiameterApplication(this);
        }
    }
}
