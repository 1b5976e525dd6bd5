package org.gyocs.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.node.AdminSettings;
import org.gyocs.testing.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The console's server side without a browser: its files served without a token and nothing
 * else through that route, /overview with one, and the interface refusing what another site's
 * page would make a browser send (DNS rebinding, a cross-site POST).
 */
class ConsoleFilesTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String TOKEN = "console-files-token-0123456789";

    @TempDir
    Path tmp;

    private static HttpResponse<String> call(int port, String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String rawGet(int port, String host) throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /overview HTTP/1.1\r\nHost: " + host + ":" + port
                    + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** A mock-mode node with the HTTP interface on a free loopback port, bearer {@code token} or none. */
    static GyDiameterApplication consoleNode(Path dataDir, String originHost, String token) throws Exception {
        return GyDiameterApplication.builder().host(originHost).realm("test.local").ip("127.0.0.1").port(0).mock(true)
                .store(Stores.freshEmbeddedFile()).dataDir(dataDir)
                .admin(AdminSettings.onAnyPort("127.0.0.1", token)).build();
    }

    @Test
    void filesWithoutTokenDataWithIt() throws Exception {
        GyDiameterApplication app = consoleNode(tmp, "ocs.files.test", TOKEN);
        app.start(false);
        int port = app.getAdminPort();
        try {
            HttpResponse<String> page = call(port, "GET", "/");
            assertEquals(200, page.statusCode());
            assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
            assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'self'"));
            assertEquals("nosniff", page.headers().firstValue("X-Content-Type-Options").orElse(""));
            assertTrue(page.body().contains("/console/console.js"));
            HttpResponse<String> js = call(port, "GET", "/console/console.js");
            assertEquals(200, js.statusCode());
            assertTrue(js.headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
            assertTrue(!js.body().contains("innerHTML"), "peer data goes in as text only");
            assertEquals(200, call(port, "GET", "/console/console.css").statusCode());
            assertEquals(200, call(port, "HEAD", "/console/favicon.svg").statusCode());
            for (String other : new String[] {"/console/x.js", "/console/../metrics", "/console/%2e%2e/dictionary.xml",
                    "/console/index.html", "/console/"}) {
                assertEquals(404, call(port, "GET", other).statusCode(), other);
            }
            assertEquals(405, call(port, "POST", "/").statusCode());

            assertEquals(401, call(port, "GET", "/overview").statusCode(), "the data needs the token");
            HttpResponse<String> o = call(port, "GET", "/overview", "Authorization", "Bearer " + TOKEN);
            assertEquals(200, o.statusCode(), o.body());
            JsonNode n = new ObjectMapper().readTree(o.body());
            assertEquals("UP", n.get("health").get("status").asText());
            assertTrue(n.get("storeUp").asBoolean());
            assertEquals(0, n.get("requests").get("initial").asLong());
            assertEquals("+Inf", n.get("latency").get(n.get("latency").size() - 1).get("le").asText());
            assertTrue(n.get("time").asLong() > 0);
            assertEquals(403, call(port, "POST", "/behaviours", "Authorization", "Bearer " + TOKEN,
                    "Origin", "http://evil.example").statusCode(), "a cross-site POST");
        } finally {
            app.stop();
        }
    }

    /** Without a token: only loopback names in Host (DNS rebinding), no cross-site change. */
    @Test
    void withoutTokenOnlyLoopbackAndSameOrigin() throws Exception {
        GyDiameterApplication app = consoleNode(tmp, "ocs.files.test", null);
        app.start(false);
        int port = app.getAdminPort();
        try {
            assertEquals(200, call(port, "GET", "/overview").statusCode());
            // java.net.http refuses to set Host: a raw socket sends the rebinding's request
            for (String host : new String[] {"rebound.evil.example", "127.rebind.evil.example", "127.0.0.1.nip.io"}) {
                String answer = rawGet(port, host);
                assertTrue(answer.startsWith("HTTP/1.1 403"), host + ": " + answer);
                assertTrue(answer.contains("no loopback name"), answer);
            }
            for (String host : new String[] {"localhost", "LOCALHOST", "127.0.0.1", "[::1]"}) {
                assertTrue(rawGet(port, host).startsWith("HTTP/1.1 200"), host);
            }
            assertEquals(403, call(port, "POST", "/behaviours", "Origin", "http://evil.example").statusCode());
            HttpResponse<String> same = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/behaviours"))
                    .timeout(Duration.ofSeconds(10)).header("Origin", "http://127.0.0.1:" + port).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"answer\": {\"drop\": true}}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(201, same.statusCode(), "the console's own POST: " + same.body());
        } finally {
            app.stop();
        }
    }
}
