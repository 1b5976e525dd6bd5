package org.gyocs.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.node.AdminSettings;
import org.gyocs.node.ConnectedPeers;

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
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int THREADS = 4;

    static {
        // The JDK server waits for a request's headers without limit: four clients that open a
        // connection and send nothing would hold every thread, /health included. Ten seconds to
        // send a request (unless the JVM was told otherwise).
        System.getProperties().putIfAbsent("sun.net.httpserver.maxReqTime", "10");
    }

    /** What the interface shows of the running node. */
    public interface Node {
        HealthReport health();

        NodeMetrics metrics();

        List<ConnectedPeers.Peer> peers();
    }

    private final HttpServer server;
    private final ExecutorService threads;
    private final byte[] token;
    private final Node node;

    private OperatorHttpServer(HttpServer server, ExecutorService threads, String token, Node node) {
        this.server = server;
        this.threads = threads;
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
        this.node = node;
    }

    /** Listens on the settings' address and port; returns once it accepts connections. */
    public static OperatorHttpServer start(AdminSettings settings, Node node) throws IOException {
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getByName(settings.bindAddress()), settings.port()), 64);
        AtomicInteger n = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "ocs-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        OperatorHttpServer s = new OperatorHttpServer(server, threads, settings.token(), node);
        server.setExecutor(threads);
        server.createContext("/", s::handle);
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
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            String method = x.getRequestMethod();
            Supplier<Response> route = switch (path) {
                case "/health" -> () -> health();
                case "/metrics" -> () -> metrics();
                case "/peers" -> () -> json(200, node.peers().stream().map(PeerJson::of).toList());
                default -> null;
            };
            Response r;
            if (route == null) {
                r = error(404, "no such resource: " + path + " (GET /health, /metrics or /peers)");
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                r = error(405, method + " is not allowed on " + path);
            } else if (!path.equals("/health") && !authorized(x)) {
                x.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                r = error(401, "a valid bearer token is required (Authorization: Bearer TOKEN)");
            } else {
                r = route.get();
            }
            x.getResponseHeaders().set("Content-Type", r.contentType());
            x.getResponseHeaders().set("Cache-Control", "no-store");
            boolean head = method.equals("HEAD");
            x.sendResponseHeaders(r.status(), head ? -1 : r.body().length);
            if (!head) {
                try (OutputStream out = x.getResponseBody()) {
                    out.write(r.body());
                }
            }
        } catch (RuntimeException | IOException e) {
            log.warn("HTTP {} {} failed: {}", x.getRequestMethod(), x.getRequestURI(), e.toString());
        }
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

    private record Response(int status, String contentType, byte[] body) {
    }

    /** A connected peer as GET /peers shows it. */
    record PeerJson(String originHost, String originRealm, String address, String connectedSince) {
        static PeerJson of(ConnectedPeers.Peer p) {
            return new PeerJson(p.originHost(), p.originRealm(), p.address(), p.since().toString());
        }
    }
}
