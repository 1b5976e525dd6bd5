package org.gyocs.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.SessionView;
import org.gyocs.node.AdminSettings;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.SessionRequest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * The operator's HTTP interface on the JDK's HTTP server, JSON through Jackson: GET /health,
 * GET /metrics (Prometheus text format), GET /peers. Its own small thread pool, so that a slow
 * client or a store probe never holds up a Diameter thread.
 */
public final class OperatorHttpServer implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(OperatorHttpServer.class);
    /** Instants as ISO-8601 text (2026-12-02T10:39:27Z), without the java.time module. */
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new com.fasterxml.jackson.databind.module
            .SimpleModule().addSerializer(java.time.Instant.class,
                    com.fasterxml.jackson.databind.ser.std.ToStringSerializer.instance));
    private static final int THREADS = 4;

    static {
        // The JDK server waits for a request's headers without limit: four clients that open a
        // connection and send nothing would hold every thread, /health included. Ten seconds to
        // send a request (unless the JVM was told otherwise).
        System.getProperties().putIfAbsent("sun.net.httpserver.maxReqTime", "10");
    }

    /** What the interface shows of the running node, and changes in it. */
    public interface Node extends SubscribersApi.Store, TestControlApi.Control {
        HealthReport health();

        NodeMetrics metrics();

        List<ConnectedPeers.Peer> peers();

        /** Open sessions, of one subscriber or all (null), at most {@code limit}. */
        List<SessionView> sessions(String subscriber, int limit);

        Optional<SessionView> session(String sessionId);

        /** The counters of the running node (requests, answers, errors), for the console's overview. */
        org.gyocs.core.NodeStatistics statistics();

        /** A RAR or ASR to the peer of an open session; IllegalArgumentException when there is none. */
        java.util.concurrent.CompletableFuture<Long> send(SessionRequest.Kind kind, String sessionId);
    }

    /** GET /sessions lists at most this many; ?subscriber= narrows it. */
    static final int MAX_SESSIONS_LISTED = 1_000;
    /** Request bodies larger than this are refused (a subscriber's buckets fit in far less). */
    private static final int MAX_BODY = 1 << 20;
    /**
     * A subscriber CSV (POST /subscribers): about 400,000 rows of 40 bytes, whose buckets the
     * node's heap holds while they are imported (larger files: ocs-admin import, from disk).
     */
    private static final int MAX_IMPORT = 16 << 20;

    private final HttpServer server;
    private final ExecutorService threads;
    /** The routes that may wait; bounded, so that a flood of them is refused rather than queued forever. */
    private final ExecutorService work = new java.util.concurrent.ThreadPoolExecutor(THREADS, THREADS, 0,
            java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.ArrayBlockingQueue<>(64), r -> {
                Thread t = new Thread(r, "ocs-http-work");
                t.setDaemon(true);
                return t;
            });
    private final byte[] token;
    private final Node node;

    private OperatorHttpServer(HttpServer server, ExecutorService threads, String token, Node node) {
        this.server = server;
        this.threads = threads;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.node = node;
        this.subscribers = new SubscribersApi(node);
        this.testControl = new TestControlApi(node, JSON);
    }

    private final SubscribersApi subscribers;
    private final TestControlApi testControl;

    /** Listens on the settings' address and port; returns once it accepts connections. */
    public static OperatorHttpServer start(AdminSettings settings, Node node) throws IOException {
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getByName(settings.bindAddress()), settings.bindPort()), 64);
        AtomicInteger n = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "ocs-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        OperatorHttpServer s = new OperatorHttpServer(server, threads, settings.token(), node);
        server.setExecutor(threads);
        server.createContext("/", s::dispatch);
        server.start();
        return s;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
        work.shutdownNow();
    }

    /**
     * /health and /metrics answer on the server's own threads, at once; every other route may
     * wait (the store, a session's lock, a RAR's answer) and runs on the work threads, so that
     * four slow requests never hold up the health check.
     */
    private void dispatch(HttpExchange x) {
        String path = x.getRequestURI().getPath();
        if (path.equals("/health") || path.equals("/metrics") || path.equals("/overview") || isConsole(path)) {
            handle(x); // counters and files: never held up behind a RAR waiting for its answer
            return;
        }
        try {
            work.execute(() -> handle(x));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            try (x) { // stopping, or every work thread and the queue taken
                x.sendResponseHeaders(503, -1);
            } catch (IOException | RuntimeException ignored) {
                // the client went away
            }
        }
    }

    private void handle(HttpExchange x) {
        try (x) {
            String method = x.getRequestMethod();
            Response r;
            try {
                String path = x.getRequestURI().getPath();
                String refused = foreignRequest(x, method);
                if (refused != null) {
                    log.warn("HTTP {} {} refused: {}", method, x.getRequestURI(), refused);
                    throw new ApiException(403, refused);
                }
                if (isConsole(path)) {
                    // the console's own files only: no inline script, no other origin (README, Console)
                    x.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
                    reply(x, method, ConsoleFiles.get(path, method), "no-cache");
                    return;
                }
                if (!path.equals("/health") && !authorized(x)) {
                    x.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                    throw new ApiException(401, "a valid bearer token is required (Authorization: Bearer TOKEN)");
                }
                r = route(x, method, path);
            } catch (ApiException e) {
                if (e.allowed() != null) {
                    x.getResponseHeaders().set("Allow", e.allowed());
                }
                r = error(e.status(), e.getMessage());
            } catch (IllegalArgumentException e) {
                r = error(400, e.getMessage());
            } catch (org.gyocs.store.SubscriberAdmin.HeldBySessions e) {
                // sessions of another node sharing the store (this node's own are refused before)
                r = error(409, e.getMessage());
            } catch (RuntimeException e) {
                log.warn("HTTP {} {} failed: {}", method, x.getRequestURI(), e.toString(), e);
                r = error(500, "the node could not do it: " + e.getMessage());
            }
            reply(x, method, r, "no-store");
        } catch (IOException | RuntimeException e) {
            log.warn("HTTP {} {} failed: {}", x.getRequestMethod(), x.getRequestURI(), e.toString());
        }
    }

    private static void reply(HttpExchange x, String method, Response r, String cacheControl) throws IOException {
        x.getResponseHeaders().set("Content-Type", r.contentType());
        x.getResponseHeaders().set("Cache-Control", cacheControl);
        x.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = method.equals("HEAD");
        x.sendResponseHeaders(r.status(), head ? -1 : r.body().length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(r.body());
            }
        }
    }

    /** Which resource and method; an unknown one is 404, a known one with another method 405. */
    private Response route(HttpExchange x, String method, String path) throws IOException {
        // split the raw path, then decode each segment: a Session-Id may hold a '/' (as %2F)
        String[] p = x.getRequestURI().getRawPath().split("/", -1); // "", first, ...
        for (int i = 0; i < p.length; i++) {
            p[i] = java.net.URLDecoder.decode(p[i].replace("+", "%2B"), StandardCharsets.UTF_8);
        }
        switch (p.length >= 2 ? p[1] : "") {
            case "health" -> {
                allow(method, p.length == 2, "GET, HEAD");
                return health();
            }
            case "metrics" -> {
                allow(method, p.length == 2, "GET, HEAD");
                return metrics();
            }
            case "peers" -> {
                allow(method, p.length == 2, "GET, HEAD");
                return json(200, node.peers().stream().map(PeerJson::of).toList());
            }
            case "sessions" -> {
                if (p.length == 4 && (p[3].equals("reauth") || p[3].equals("abort"))) {
                    if (!method.equals("POST")) {
                        throw notAllowed(method, path, "POST");
                    }
                    return sessionRequest(p[3].equals("reauth") ? SessionRequest.Kind.RE_AUTH
                            : SessionRequest.Kind.ABORT_SESSION, p[2]);
                }
                allow(method, p.length <= 3, "GET, HEAD");
                if (p.length == 3) {
                    String id = p[2];
                    return json(200, node.session(id).orElseThrow(() -> new ApiException(404, "no open session " + id)));
                }
                String subscriber = query(x, "subscriber");
                return json(200, node.sessions(subscriber, MAX_SESSIONS_LISTED));
            }
            case "subscribers" -> {
                if (p.length == 2) {
                    if (!method.equals("POST")) {
                        throw notAllowed(method, path, "POST");
                    }
                    return json(200, subscribers.importCsv(body(x, MAX_IMPORT)));
                }
                if (p.length == 3 && !p[2].isEmpty()) {
                    String id = p[2];
                    return switch (method) {
                        case "GET", "HEAD" -> json(200, subscribers.get(id));
                        case "PUT" -> json(200, subscribers.put(id, body(x)));
                        case "DELETE" -> json(200, subscribers.delete(id));
                        default -> throw notAllowed(method, path, "GET, HEAD, PUT, DELETE");
                    };
                }
                if (p.length == 4 && p[3].equals("plan")) {
                    allow(method, true, "PUT");
                    return json(200, subscribers.putPlan(p[2], body(x)));
                }
                if (p.length == 4 && p[3].equals("topup")) {
                    if (!method.equals("POST")) {
                        throw notAllowed(method, path, "POST");
                    }
                    return json(200, subscribers.topUp(p[2], body(x), x.getRequestHeaders().getFirst("Idempotency-Key")));
                }
                throw new ApiException(404, "no such resource: " + path
                        + " (/subscribers, /subscribers/ID, /subscribers/ID/topup, /subscribers/ID/plan)");
            }
            case "usage" -> {
                allow(method, p.length == 2, "GET, HEAD");
                Object records = subscribers.usage(query(x, "subscriber"), query(x, "since"), query(x, "until"),
                        query(x, "day"), query(x, "limit"), "csv".equals(query(x, "format")));
                return records instanceof String csv
                        ? new Response(200, "text/csv; charset=utf-8", csv.getBytes(StandardCharsets.UTF_8))
                        : json(200, records);
            }
            case "tariffs" -> {
                allow(method, p.length == 2, "GET, HEAD, PUT");
                if (method.equals("PUT")) {
                    return json(200, subscribers.putTariffs(body(x)));
                }
                return new Response(200, "text/csv; charset=utf-8", subscribers.tariffsCsv().getBytes(StandardCharsets.UTF_8));
            }
            case "behaviours" -> {
                if (p.length == 3 && !p[2].isEmpty()) {
                    return switch (method) {
                        case "GET", "HEAD" -> json(200, testControl.get(p[2]));
                        case "DELETE" -> json(200, testControl.delete(p[2]));
                        default -> throw notAllowed(method, path, "GET, HEAD, DELETE");
                    };
                }
                allow(method, p.length == 2, "GET, HEAD, POST, DELETE");
                return switch (method) {
                    case "POST" -> json(201, testControl.create(body(x)));
                    case "DELETE" -> json(200, testControl.deleteAll());
                    default -> json(200, testControl.list());
                };
            }
            case "overview" -> {
                allow(method, p.length == 2, "GET, HEAD");
                return json(200, overview());
            }
            case "requests" -> {
                allow(method, p.length == 2, "GET, HEAD");
                return json(200, testControl.requests(query(x, "subscriber"), query(x, "session"), query(x, "limit")));
            }
            default -> throw new ApiException(404, "no such resource: " + path
                    + " (/health, /metrics, /overview, /peers, /sessions, /subscribers/ID, /tariffs, /usage, /behaviours, /requests; "
                    + "the console at /)");
        }
    }

    /**
     * POST /sessions/{id}/reauth and /abort: sends the RAR or ASR and answers with its answer's
     * Result-Code (200), or 504 when none came in time, 409 when the peer is not connected.
     */
    private Response sessionRequest(SessionRequest.Kind kind, String sessionId) {
        java.util.concurrent.CompletableFuture<Long> answer;
        try {
            answer = node.send(kind, sessionId);
        } catch (IllegalArgumentException e) {
            throw new ApiException(404, e.getMessage());
        }
        try {
            long rc = answer.get(SessionRequest.ANSWER_TIMEOUT_MILLIS + 2_000, java.util.concurrent.TimeUnit.MILLISECONDS);
            return json(200, Map.of("sessionId", sessionId, "request", kind.shortName(), "resultCode", rc));
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable why = e.getCause();
            if (why instanceof SessionRequest.PeerNotConnected) {
                throw new ApiException(409, why.getMessage());
            }
            if (why instanceof SessionRequest.NoAnswer) {
                throw new ApiException(504, why.getMessage());
            }
            throw new ApiException(502, kind.shortName() + " failed: " + why);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new ApiException(504, "no answer to the " + kind.shortName() + " in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "interrupted");
        }
    }

    private static void allow(String method, boolean known, String allowed) {
        if (!known) {
            throw new ApiException(404, "no such resource");
        }
        if (!java.util.Arrays.asList(allowed.split(", ")).contains(method)) {
            throw notAllowed(method, "this resource", allowed);
        }
    }

    private static ApiException notAllowed(String method, String path, String allowed) {
        return new ApiException(405, method + " is not allowed on " + path + " (" + allowed + ")", allowed);
    }

    /** A query parameter, decoded; null when absent. */
    private static String query(HttpExchange x, String name) {
        String q = x.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String k = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            if (k.equals(name)) {
                return eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static byte[] body(HttpExchange x) throws IOException {
        return body(x, MAX_BODY);
    }

    private static byte[] body(HttpExchange x, int max) throws IOException {
        byte[] b = x.getRequestBody().readNBytes(max + 1);
        if (b.length > max) {
            throw new ApiException(413, "the body is larger than " + max + " bytes");
        }
        return b;
    }

    /** Compared in constant time: the token is a password. */
    private boolean authorized(HttpExchange x) {
        if (token == null) {
            return true;
        }
        String h = x.getRequestHeaders().getFirst("Authorization");
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(token, h.substring(7).trim().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Why a request that a web page of another site made the operator's browser send is refused,
     * or null. Without a token, the interface trusts whoever reaches the loopback address; a page
     * of another site could reach it too, through the operator's browser: by DNS rebinding (its
     * own name resolving to 127.0.0.1: refused by the Host header, which must then be a loopback
     * name) or by a cross-site form or fetch that changes something (refused by its Origin header,
     * which browsers send with every such request, when it is not this interface's own).
     */
    private String foreignRequest(HttpExchange x, String method) {
        String host = x.getRequestHeaders().getFirst("Host");
        if (token == null && host != null && !loopbackName(host)) {
            return "Host " + host + " is no loopback name: without admin-token-file the interface answers only "
                    + "localhost and the loopback addresses (127.0.0.0/8, [::1])";
        }
        String origin = x.getRequestHeaders().getFirst("Origin");
        if (origin != null && !method.equals("GET") && !method.equals("HEAD")
                && (host == null || !(origin.equalsIgnoreCase("http://" + host) || origin.equalsIgnoreCase("https://" + host)))) {
            return "a " + method + " from the page of another site (Origin " + origin + ")";
        }
        return null;
    }

    private static boolean loopbackName(String host) {
        String h = host.toLowerCase(java.util.Locale.ROOT);
        int colon = h.startsWith("[") ? h.indexOf("]:") + 1 : h.lastIndexOf(':');
        String name = colon > 0 ? h.substring(0, colon) : h;
        // a numeric 127.x.y.z only: a name such as 127.attacker.example is the attacker's to resolve
        return name.equals("localhost") || name.equals("[::1]") || name.matches("127(\\.[0-9]{1,3}){3}");
    }

    /** The console's static files: served without a token (they hold no data; the API they call needs it). */
    private static boolean isConsole(String path) {
        return path.equals("/") || path.startsWith("/console/");
    }

    /**
     * GET /overview: what the console's overview shows, from counters the node keeps anyway:
     * totals since start (the console works out rates between two reads), the answer latency
     * histogram's buckets, open sessions, connected peers and the health.
     */
    private Map<String, Object> overview() {
        org.gyocs.core.NodeStatistics st = node.statistics();
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("time", System.currentTimeMillis());
        out.put("health", node.health());
        out.put("storeUp", node.metrics().storeUp());
        Map<String, Long> requests = new java.util.LinkedHashMap<>();
        for (org.gyocs.core.RequestType t : org.gyocs.core.RequestType.values()) {
            requests.put(t.name().toLowerCase(java.util.Locale.ROOT), st.requests(t));
        }
        out.put("requests", requests);
        Map<String, Long> answers = new java.util.TreeMap<>();
        st.answersByResultCode().forEach((code, n) -> answers.put(String.valueOf(code), n));
        out.put("answers", answers);
        out.put("errors", st.errors());
        List<Map<String, Object>> latency = new java.util.ArrayList<>();
        for (double[] b : node.metrics().latencyBuckets()) {
            latency.add(Map.of("le", Double.isInfinite(b[0]) ? "+Inf" : String.valueOf(b[0]), "count", (long) b[1]));
        }
        out.put("latency", latency);
        return out;
    }

    private Response health() {
        HealthReport h = node.health();
        return json(h.up() ? 200 : 503, h);
    }

    private Response metrics() {
        NodeMetrics m = node.metrics();
        try {
            return new Response(200, m.contentType(), m.scrape());
        } catch (IOException e) {
            return error(500, "cannot write the metrics: " + e.getMessage());
        }
    }

    private static Response json(int status, Object body) {
        try {
            return new Response(status, "application/json", JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Response error(int status, String message) {
        return json(status, Map.of("error", message));
    }

    record Response(int status, String contentType, byte[] body) {
    }

    /** A connected peer as GET /peers shows it. */
    record PeerJson(String originHost, String originRealm, String address, String state, String connectedSince,
                    long requests, long answers) {
        static PeerJson of(ConnectedPeers.Peer p) {
            return new PeerJson(p.originHost(), p.originRealm(), p.address(), p.stateNow(), p.since().toString(),
                    p.requests().sum(), p.answers().sum());
        }
    }
}
