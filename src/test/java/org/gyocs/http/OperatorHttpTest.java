package org.gyocs.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.node.AdminSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/** The operator's HTTP interface over real HTTP, with real Diameter traffic, in both modes. */
class OperatorHttpTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private GyDiameterApplication node(boolean mock, String store, AdminSettings admin) {
        return GyDiameterApplication.builder().host("ocs.test.local").realm("test.local").ip("127.0.0.1").port(0)
                .mock(mock).store(store).dataDir(tmp).admin(admin).build();
    }

    private static AdminSettings loopback(String token) {
        return AdminSettings.onAnyPort("127.0.0.1", token);
    }

    static HttpResponse<String> get(GyDiameterApplication app, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.getAdminPort() + path))
                .timeout(Duration.ofSeconds(20));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one sample line of the text format, e.g. {@code gyocs_requests_total{...}}. */
    static double sample(String metrics, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + (labels.isEmpty() ? "" : Pattern.quote(labels))
                + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + labels + " missing in:\n" + metrics);
        return Double.parseDouble(m.group(1));
    }

    /** Counters move by exactly the requests sent; health, peers and latency say what happened. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void metricsHealthAndPeersFollowRealTraffic(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, Stores.freshH2(), loopback(null));
        app.start(false);
        try {
            HttpResponse<String> health = get(app, "/health", null);
            assertEquals(200, health.statusCode(), health.body());
            JsonNode h = JSON.readTree(health.body());
            assertEquals("UP", h.get("status").asText());
            assertEquals(mock ? "mock" : "jdiameter", h.get("mode").asText());
            assertEquals(app.getPort(), h.get("diameterPort").asInt());
            assertTrue(health.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));

            int sessions = 7;
            try (TestPeer peer = new TestPeer(app.getPort())) {
                assertEquals(2001, GyRequests.resultCode(peer.handshake("pcef.metrics.test")));
                peer.awaitOpen();
                for (int i = 0; i < sessions; i++) {
                    String id = "pcef.metrics.test;" + mock + ";" + i;
                    for (int type = 1; type <= 3; type++) {
                        assertEquals(2001, GyRequests.resultCode(peer.request(
                                GyRequests.simple(peer.nextHopByHop(), id, type, type - 1))));
                    }
                }
                java.util.List<org.gyocs.codec.Avp> bad = new java.util.ArrayList<>(
                        GyRequests.simple(0, "pcef.metrics.test;bad", 4, 0).avps());
                bad.removeIf(a -> a.code() == org.gyocs.codec.AvpCodes.SERVICE_CONTEXT_ID);
                assertEquals(5005, GyRequests.resultCode(peer.request(GyRequests.ccr(peer.nextHopByHop(), bad))));

                JsonNode peers = JSON.readTree(get(app, "/peers", null).body());
                assertEquals(1, peers.size(), peers.toString());
                assertEquals("pcef.metrics.test", peers.get(0).get("originHost").asText());
                assertTrue(peers.get(0).hasNonNull("connectedSince"));
                assertEquals("OPEN", peers.get(0).get("state").asText());
                assertEquals(3 * sessions + 1, peers.get(0).get("requests").asLong(), peers.toString());
                assertEquals(3 * sessions + 1, peers.get(0).get("answers").asLong(), peers.toString());

                String metrics = get(app, "/metrics", null).body();
                assertEquals(sessions, sample(metrics, "gyocs_requests_total", "{command=\"CCR\",request_type=\"initial\"}"));
                assertEquals(sessions, sample(metrics, "gyocs_requests_total", "{command=\"CCR\",request_type=\"update\"}"));
                assertEquals(sessions, sample(metrics, "gyocs_requests_total",
                        "{command=\"CCR\",request_type=\"termination\"}"));
                assertEquals(3 * sessions, sample(metrics, "gyocs_answers_total", "{command=\"CCA\",result_code=\"2001\"}"));
                assertEquals(1, sample(metrics, "gyocs_answers_total", "{command=\"CCA\",result_code=\"5005\"}"));
                assertEquals(1, sample(metrics, "gyocs_errors_total", ""));
                assertEquals(3 * sessions + 1, sample(metrics, "gyocs_answer_latency_seconds_count", ""));
                assertTrue(sample(metrics, "gyocs_answer_latency_seconds_sum", "") > 0);
                // unprovisioned subscribers change no balance: no store latency; provisioned ones do (below)
                assertEquals(0, sample(metrics, "gyocs_store_latency_seconds_count", ""));
                assertEquals(1, sample(metrics, "gyocs_peers_connected", ""));
                assertEquals(0, sample(metrics, "gyocs_sessions_open", ""));
                assertEquals(1, sample(metrics, "gyocs_store_up", ""));
                assertEquals(1, sample(metrics, "gyocs_up", ""));
                assertTrue(metrics.contains("gyocs_build_info{mode=\"" + (mock ? "mock" : "jdiameter") + "\""), metrics);
                assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM metrics");
                assertTrue(metrics.contains("process_cpu_seconds_total"), "process metrics");
                // the subscribers' digits searched in the labels only: a value (a JVM's memory in
                // bytes) may hold them (a newcomer's run failed so)
                String labels = java.util.regex.Pattern.compile("\\{[^}]*}").matcher(metrics).results()
                        .map(java.util.regex.MatchResult::group).collect(java.util.stream.Collectors.joining());
                assertTrue(!metrics.contains("pcef.metrics.test") && !labels.contains("4917"),
                        "no peer or subscriber in any label");
            }
            assertEquals(404, get(app, "/nothing", null).statusCode());
            HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + app.getAdminPort() + "/health")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
            assertTrue(JSON.readTree(post.body()).get("error").asText().contains("POST"));
        } finally {
            app.stop();
        }
        assertThrows(java.io.IOException.class, () -> HTTP.send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + app.getAdminPort() + "/health")).build(), HttpResponse.BodyHandlers.ofString()),
                "nothing listens once the node stopped");
    }

    static HttpResponse<String> send(GyDiameterApplication app, String method, String path, String body)
            throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.getAdminPort() + path))
                .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long grantOfMscc(org.gyocs.codec.DiameterMessage cca) throws Exception {
        org.gyocs.codec.Avp mscc = cca.avp(org.gyocs.codec.AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL);
        org.gyocs.codec.Avp gsu = org.gyocs.codec.DiameterMessage.find(mscc.group(), org.gyocs.codec.AvpCodes.GRANTED_SERVICE_UNIT);
        return gsu == null ? 0 : org.gyocs.codec.DiameterMessage.find(gsu.group(), org.gyocs.codec.AvpCodes.CC_TOTAL_OCTETS)
                .unsigned64();
    }

    /**
     * Provisioning while the node charges: PUT a subscriber's buckets, watch a session hold them
     * in GET /sessions, top up between two updates (the second grant comes from the new balance),
     * refuse bad bodies without changing anything, DELETE.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void subscribersAndSessionsWhileTheNodeCharges(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, Stores.freshEmbeddedFile(), loopback(null));
        app.start(false);
        String sub = "491700000001"; // the subscriber of GyRequests' CCRs
        try (TestPeer peer = new TestPeer(app.getPort())) {
            assertEquals(2001, GyRequests.resultCode(peer.handshake("pcef.api.test")));
            peer.awaitOpen();
            assertEquals(200, send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1}], \"plan\": \"gold\"}").statusCode());
            HttpResponse<String> put = send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1500000, \"ratingGroup\": 100}]}");
            assertEquals(200, put.statusCode(), put.body());
            assertEquals(1_500_000, JSON.readTree(put.body()).get("buckets").get(0).get("amount").asLong());
            assertEquals("gold", JSON.readTree(put.body()).get("plan").asText(), "a PUT without a plan keeps it");
            assertEquals(200, send(app, "PUT", "/subscribers/" + sub + "/plan", "{\"plan\": null}").statusCode());

            String session = "pcef.api.test;" + mock;
            assertEquals(1_048_576, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 1, 0))));
            JsonNode open = JSON.readTree(get(app, "/sessions?subscriber=" + sub, null).body());
            assertEquals(1, open.size(), open.toString());
            assertEquals(session, open.get(0).get("sessionId").asText());
            assertEquals("pcef.api.test", open.get(0).get("peer").asText());
            JsonNode grant = open.get(0).get("services").get(0);
            assertEquals(100, grant.get("ratingGroup").asLong());
            assertEquals(1_048_576, grant.get("granted").asLong());
            assertTrue(java.time.Instant.parse(grant.get("validUntil").asText()).isAfter(java.time.Instant.now()));
            assertEquals(0, JSON.readTree(get(app, "/sessions?subscriber=491799999999", null).body()).size());
            // buckets that an open session holds reservations on are not replaced nor deleted under it
            HttpResponse<String> busy = send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1}]}");
            assertEquals(409, busy.statusCode(), busy.body());
            assertTrue(JSON.readTree(busy.body()).get("error").asText().contains("open session"), busy.body());
            assertEquals(409, send(app, "DELETE", "/subscribers/" + sub, null).statusCode());
            JsonNode held = JSON.readTree(get(app, "/subscribers/" + sub, null).body()).get("buckets").get(0);
            assertEquals(1_048_576, held.get("reserved").asLong());
            assertEquals(451_424, held.get("free").asLong());

            // 524,288 used; what is left (975,712) is the next grant
            assertEquals(975_712, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 2, 1))));
            HttpResponse<String> topUp = send(app, "POST", "/subscribers/" + sub + "/topup",
                    "{\"unit\": \"octets\", \"amount\": 2000000, \"ratingGroup\": 100}");
            assertEquals(200, topUp.statusCode(), topUp.body());
            assertEquals(2_975_712, JSON.readTree(topUp.body()).get("buckets").get(0).get("amount").asLong());
            org.gyocs.codec.DiameterMessage rar0 = nextRequestFromNode(peer); // the top-up re-authorizes the session
            assertEquals(org.gyocs.codec.CommandCodes.RE_AUTH, rar0.commandCode());
            answerWith(peer, rar0, 2001);
            // a top-up retried with its Idempotency-Key (the answer lost, say) is credited once
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> keyed = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + app.getAdminPort() + "/subscribers/" + sub + "/topup")).header("Idempotency-Key", "crm-4711")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"unit\": \"octets\", \"amount\": 1000, "
                                + "\"ratingGroup\": 100}")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(2_976_712, JSON.readTree(keyed.body()).get("buckets").get(0).get("amount").asLong(),
                        "attempt " + i + ": " + keyed.body());
                answerWith(peer, nextRequestFromNode(peer), 2001);
            }
            assertEquals(1_048_576, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 2, 2))),
                    "the grant after the top-up comes from the new balance");

            // bad bodies: 400 naming the problem, and nothing changes
            String[][] bad = {
                    {"PUT", "/subscribers/" + sub, "{\"buckets\": [{\"unit\": \"bytes\", \"amount\": 1}]}", "unit"},
                    {"PUT", "/subscribers/" + sub, "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 5}, "
                            + "{\"unit\": \"octets\", \"amount\": -5}]}", "negative"},
                    {"PUT", "/subscribers/" + sub, "{\"bucket\": []}", "unknown field 'bucket'"},
                    {"PUT", "/subscribers/" + sub, "{\"buckets\": [{\"unit\": \"octets\"", "JSON"},
                    {"PUT", "/subscribers/12", "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1}]}", "digits"},
                    {"POST", "/subscribers/" + sub + "/topup", "{\"unit\": \"octets\", \"amount\": 0}", "at least 1"},
                    {"POST", "/subscribers/" + sub + "/topup", "{\"unit\": \"octets\", \"amount\": 9223372036854775000, "
                            + "\"ratingGroup\": 100}", "2^63-1"},
                    {"POST", "/subscribers/" + sub + "/topup", "{\"unit\": \"octets\", \"amount\": 5, \"ratingGroup\": 4294967296}",
                            "Unsigned32"}};
            for (String[] b : bad) {
                HttpResponse<String> r = send(app, b[0], b[1], b[2]);
                assertEquals(400, r.statusCode(), b[2] + " -> " + r.body());
                assertTrue(JSON.readTree(r.body()).get("error").asText().contains(b[3]), b[2] + " -> " + r.body());
            }
            HttpResponse<String> notAllowed = send(app, "POST", "/subscribers/" + sub, "{}");
            assertEquals(405, notAllowed.statusCode());
            assertEquals("GET, HEAD, PUT, DELETE", notAllowed.headers().firstValue("Allow").orElse(""));
            HttpResponse<String> odd = send(app, "POST", "/sessions/a)(/reauth", null);
            assertEquals(404, odd.statusCode(), odd.body());
            assertTrue(JSON.readTree(odd.body()).has("error"));
            JsonNode after = JSON.readTree(get(app, "/subscribers/" + sub, null).body()).get("buckets");
            assertEquals(1, after.size(), "nothing half-applied: " + after);
            assertEquals(2_976_712 - 524_288, after.get(0).get("amount").asLong());

            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 3, 3))));
            assertEquals(404, get(app, "/sessions/" + session, null).statusCode(), "closed by its CCR-T");
            assertEquals(200, send(app, "DELETE", "/subscribers/" + sub, null).statusCode());
            assertEquals(404, get(app, "/subscribers/" + sub, null).statusCode());
            assertEquals(404, send(app, "DELETE", "/subscribers/" + sub, null).statusCode());
        } finally {
            app.stop();
        }
    }

    /**
     * Issue 17, item 4: POST /subscribers imports a CSV as ocs-admin does, larger than the other
     * bodies' 1 MiB; a bad row or a subscriber with an open session imports nothing.
     */
    @Test
    void aSubscriberCsvIsImportedThroughTheApi() throws Exception {
        GyDiameterApplication app = node(true, Stores.freshEmbeddedFile(), loopback(null));
        app.start(false);
        String sub = "491700000001"; // the subscriber of GyRequests' CCRs
        try (TestPeer peer = connect(app, "pcef.import.test")) {
            StringBuilder csv = new StringBuilder("subscriber,unit,amount,rating_group,expires,plan\n");
            for (int i = 0; i < 40_000; i++) {
                csv.append(491720000000L + i).append(",octets,").append(1000 + i).append(",,,").append(i == 7 ? "gold" : "")
                        .append('\n');
            }
            assertTrue(csv.length() > 1 << 20, "larger than any other body may be");
            assertEquals(405, send(app, "GET", "/subscribers", null).statusCode());

            HttpResponse<String> bad = send(app, "POST", "/subscribers", csv + "491729999999,octets,lots,,,\n");
            assertEquals(400, bad.statusCode(), bad.body());
            assertTrue(bad.body().contains("line 40002"), bad.body());
            assertEquals(404, get(app, "/subscribers/491720000005", null).statusCode(), "nothing imported");

            assertEquals(200, send(app, "PUT", "/subscribers/" + sub, "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 5000000}]}")
                    .statusCode());
            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), "pcef.import.test;1", 1, 0))));
            HttpResponse<String> busy = send(app, "POST", "/subscribers", csv + sub + ",octets,1,,,\n");
            assertEquals(409, busy.statusCode(), busy.body());
            assertTrue(busy.body().contains(sub), busy.body());
            assertEquals(404, get(app, "/subscribers/491720000005", null).statusCode(), "nothing imported");

            HttpResponse<String> done = send(app, "POST", "/subscribers", csv.toString());
            assertEquals(200, done.statusCode(), done.body());
            JsonNode counts = JSON.readTree(done.body());
            assertEquals(40_000, counts.get("buckets").asInt());
            assertEquals(40_000, counts.get("subscribers").asInt());
            assertEquals(1, counts.get("plans").asInt());
            assertEquals(0, counts.get("reauthorized").asInt(), "nobody opened a session meanwhile");
            JsonNode last = JSON.readTree(get(app, "/subscribers/491720039999", null).body());
            assertEquals(40_999, last.get("buckets").get(0).get("amount").asLong(), last.toString());
            assertEquals("gold", JSON.readTree(get(app, "/subscribers/491720000007", null).body()).get("plan").asText());
        } finally {
            app.stop();
        }
    }

    /** A subscriber nobody provisioned (the lab default): its sessions are found by its Subscription-Id. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void sessionsOfAnUnprovisionedSubscriberAreFoundByItsSubscriptionId(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, Stores.freshH2(), loopback(null));
        app.start(false);
        try (TestPeer peer = connect(app, "pcef.unprovisioned.test")) {
            String session = "pcef.unprovisioned.test;" + mock;
            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 1, 0))));
            JsonNode found = JSON.readTree(get(app, "/sessions?subscriber=491700000001", null).body());
            assertEquals(1, found.size(), found.toString());
            assertEquals(session, found.get(0).get("sessionId").asText());
            assertTrue(found.get(0).get("subscriber").isNull(), "no provisioned subscriber is charged");
            assertEquals("491700000001", found.get(0).get("subscriptionIds").get(0).asText());
            assertEquals(0, JSON.readTree(get(app, "/sessions?subscriber=491799999999", null).body()).size());
        } finally {
            app.stop();
        }
    }

    /** A peer with capabilities exchanged and the node's side open. */
    static TestPeer connect(GyDiameterApplication app, String originHost) throws Exception {
        TestPeer peer = new TestPeer(app.getPort());
        assertEquals(2001, GyRequests.resultCode(peer.handshake(originHost)));
        peer.awaitOpen();
        return peer;
    }

    /** The next request the node sends the peer (skipping its watchdogs, which it answers). */
    static org.gyocs.codec.DiameterMessage nextRequestFromNode(TestPeer peer) throws Exception {
        for (int i = 0; i < 10; i++) {
            org.gyocs.codec.DiameterMessage m = peer.read();
            if (m.isRequest() && m.commandCode() == org.gyocs.codec.CommandCodes.DEVICE_WATCHDOG) {
                peer.answer(m);
                continue;
            }
            return m;
        }
        throw new AssertionError("no request from the node");
    }

    static String utf8(org.gyocs.codec.DiameterMessage m, int code) {
        org.gyocs.codec.Avp a = m.avp(code);
        return a == null ? null : a.utf8();
    }

    static void answerWith(TestPeer peer, org.gyocs.codec.DiameterMessage request, long resultCode)
            throws Exception {
        peer.send(request.answer(false, java.util.List.of(request.avp(org.gyocs.codec.AvpCodes.SESSION_ID),
                org.gyocs.codec.Avp.unsigned32(org.gyocs.codec.AvpCodes.RESULT_CODE, resultCode),
                org.gyocs.codec.Avp.utf8(org.gyocs.codec.AvpCodes.ORIGIN_HOST, "pcef.rar.test"),
                org.gyocs.codec.Avp.utf8(org.gyocs.codec.AvpCodes.ORIGIN_REALM, "test.local"))));
    }

    /**
     * Issue 11, items 2 and 3, in both modes: a top-up sends the PCEF a RAR, whose CCR-U then gets
     * a grant from the new balance; POST .../abort sends an ASR and returns the ASA's Result-Code;
     * an RAA 5002 ends the node's side of the session and releases its hold; all counted.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aTopUpSendsTheRarAndAbortSendsTheAsr(boolean mock) throws Exception {
        java.nio.file.Path data = java.nio.file.Files.createTempDirectory(tmp, "data");
        GyDiameterApplication app = node(mock, Stores.embeddedFile(data), loopback(null));
        app.start(false);
        String sub = "491700000001";
        java.util.concurrent.ExecutorService background = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (TestPeer peer = new TestPeer(app.getPort())) {
            assertEquals(2001, GyRequests.resultCode(peer.handshake("pcef.rar.test")));
            peer.awaitOpen();
            assertEquals(200, send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1500000, \"ratingGroup\": 100}]}").statusCode());
            // the PUT itself re-authorizes nothing: no session yet
            String session = "pcef.rar.test;" + mock;
            assertEquals(1_048_576, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 1, 0))));
            assertEquals(451_424, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session + ";other", 1, 0))),
                    "a second session takes what is left");

            assertEquals(200, send(app, "POST", "/subscribers/" + sub + "/topup",
                    "{\"unit\": \"octets\", \"amount\": 5000000, \"ratingGroup\": 100}").statusCode());
            java.util.Set<String> reAuthorized = new java.util.TreeSet<>();
            for (int i = 0; i < 2; i++) {
                org.gyocs.codec.DiameterMessage rar = nextRequestFromNode(peer);
                assertEquals(org.gyocs.codec.CommandCodes.RE_AUTH, rar.commandCode());
                assertTrue(rar.isRequest() && rar.isProxiable());
                assertEquals("pcef.rar.test", utf8(rar, org.gyocs.codec.AvpCodes.DESTINATION_HOST));
                assertEquals("test.local", utf8(rar, org.gyocs.codec.AvpCodes.DESTINATION_REALM));
                assertEquals("ocs.test.local", utf8(rar, org.gyocs.codec.AvpCodes.ORIGIN_HOST));
                assertEquals(4, rar.avp(org.gyocs.codec.AvpCodes.AUTH_APPLICATION_ID).unsigned32());
                assertEquals(0, rar.avp(org.gyocs.codec.AvpCodes.RE_AUTH_REQUEST_TYPE).unsigned32(), "AUTHORIZE_ONLY");
                assertEquals(org.gyocs.codec.AvpCodes.SESSION_ID, rar.avps().get(0).code(), "Session-Id first");
                reAuthorized.add(utf8(rar, org.gyocs.codec.AvpCodes.SESSION_ID));
                answerWith(peer, rar, 2001);
            }
            assertEquals(java.util.Set.of(session, session + ";other"), reAuthorized, "one RAR per open session");
            // the PCEF's CCR-U after the RAR: a full grant from the new balance
            assertEquals(1_048_576, grantOfMscc(peer.request(GyRequests.simple(peer.nextHopByHop(), session, 2, 1))));
            // bin/ocs-admin.sh topup beside the node (its admin socket) re-authorizes too
            org.gyocs.admin.AdminChannel.Response admin = org.gyocs.admin.AdminChannel.call(
                    org.gyocs.admin.AdminChannel.socketIn(data), new org.gyocs.admin.SubscriberCommands.Request(
                            java.util.List.of("topup", sub, "octets", "1000", "100"), new byte[0])).orElseThrow();
            assertEquals(0, admin.exitStatus(), admin.err());
            for (int i = 0; i < 2; i++) {
                org.gyocs.codec.DiameterMessage rar = nextRequestFromNode(peer);
                assertEquals(org.gyocs.codec.CommandCodes.RE_AUTH, rar.commandCode());
                answerWith(peer, rar, 2001);
            }
            // ... but its import and delete, which would replace the buckets its sessions hold
            // reservations on, are refused while they are open, as the API's PUT and DELETE are
            java.util.List<org.gyocs.store.Bucket> before = app.subscriberAdmin().buckets(sub);
            byte[] csv = ("subscriber,unit,amount,rating_group,expires\n491700000077,octets,5,,\n" + sub + ",octets,5,,\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (java.util.List<String> command : java.util.List.of(java.util.List.of("import", "subs.csv"),
                    java.util.List.of("delete", sub))) {
                org.gyocs.admin.AdminChannel.Response refused = org.gyocs.admin.AdminChannel.call(
                        org.gyocs.admin.AdminChannel.socketIn(data),
                        new org.gyocs.admin.SubscriberCommands.Request(command, csv)).orElseThrow();
                assertEquals(1, refused.exitStatus(), command + ": " + refused.out());
                assertTrue(refused.err().contains(sub) && refused.err().contains("open session"), refused.err());
            }
            assertEquals(before, app.subscriberAdmin().buckets(sub), "nothing replaced");
            assertTrue(app.subscriberAdmin().buckets("491700000077").isEmpty(), "nothing of the import");
            org.gyocs.admin.AdminChannel.Response others = org.gyocs.admin.AdminChannel.call(
                    org.gyocs.admin.AdminChannel.socketIn(data), new org.gyocs.admin.SubscriberCommands.Request(
                            java.util.List.of("import", "others.csv"), "subscriber,unit,amount,rating_group,expires\n491700000077,octets,5,,\n"
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8))).orElseThrow();
            assertEquals(0, others.exitStatus(), "a subscriber without sessions is imported: " + others.err());
            assertEquals(5, app.subscriberAdmin().buckets("491700000077").get(0).amount());

            java.util.concurrent.Future<HttpResponse<String>> abort = background.submit(
                    () -> send(app, "POST", "/sessions/" + session + ";other/abort", null));
            org.gyocs.codec.DiameterMessage asr = nextRequestFromNode(peer);
            assertEquals(org.gyocs.codec.CommandCodes.ABORT_SESSION, asr.commandCode());
            assertEquals(session + ";other", utf8(asr, org.gyocs.codec.AvpCodes.SESSION_ID));
            assertEquals(null, asr.avp(org.gyocs.codec.AvpCodes.RE_AUTH_REQUEST_TYPE));
            answerWith(peer, asr, 2001);
            HttpResponse<String> aborted = abort.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, aborted.statusCode(), aborted.body());
            assertEquals(2001, JSON.readTree(aborted.body()).get("resultCode").asLong());
            assertEquals("ASR", JSON.readTree(aborted.body()).get("request").asText());

            java.util.concurrent.Future<HttpResponse<String>> reauth = background.submit(
                    () -> send(app, "POST", "/sessions/" + session + "/reauth", null));
            answerWith(peer, nextRequestFromNode(peer), 5002);
            HttpResponse<String> unknown = reauth.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(5002, JSON.readTree(unknown.body()).get("resultCode").asLong(), unknown.body());
            assertEquals(404, get(app, "/sessions/" + session, null).statusCode(), "5002 ended the node's side");
            assertEquals(404, send(app, "POST", "/sessions/" + session + "/reauth", null).statusCode());

            String metrics = get(app, "/metrics", null).body();
            assertTrue(sample(metrics, "gyocs_store_latency_seconds_count", "") >= 4, "2 reserves, a settlement, a release");
            assertEquals(4, sample(metrics, "gyocs_session_requests_total", "{command=\"RAR\",result=\"2001\"}"));
            assertEquals(1, sample(metrics, "gyocs_session_requests_total", "{command=\"RAR\",result=\"5002\"}"));
            assertEquals(1, sample(metrics, "gyocs_session_requests_total", "{command=\"ASR\",result=\"2001\"}"));
        } finally {
            background.shutdownNow();
            app.stop();
        }
    }

    /** A jDiameter client as the PCEF answers the node's RAR and ASR, in both modes. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aJdiameterClientAnswersTheRarAndTheAsr(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, Stores.freshH2(), loopback(null));
        app.start(false);
        try (org.gyocs.client.GyTestClient c = new org.gyocs.client.GyTestClient("127.0.0.1", app.getPort(),
                "pcef.jdiameter.test", "test.local", 5000)) {
            c.connect();
            String session = c.newSessionId();
            assertEquals(2001, c.send(c.creditControlRequest(session, org.gyocs.core.RequestType.INITIAL, 0,
                    "491700000077")).getResultCode().getUnsigned32());
            HttpResponse<String> reauth = send(app, "POST", "/sessions/" + session + "/reauth", null);
            assertEquals(200, reauth.statusCode(), reauth.body());
            assertEquals(2001, JSON.readTree(reauth.body()).get("resultCode").asLong());
            assertEquals(1, c.serverRequests("RAR"));
            HttpResponse<String> abort = send(app, "POST", "/sessions/" + session + "/abort", null);
            assertEquals(2001, JSON.readTree(abort.body()).get("resultCode").asLong(), abort.body());
            assertEquals(1, c.serverRequests("ASR"));
            assertEquals(2001, c.send(c.creditControlRequest(session, org.gyocs.core.RequestType.TERMINATION, 1,
                    "491700000077")).getResultCode().getUnsigned32());
        } finally {
            app.stop();
        }
    }

    @Test
    void everyRequestButHealthNeedsTheToken() throws Exception {
        String token = "s3cret-token-of-the-lab-0123";
        GyDiameterApplication app = node(true, Stores.freshH2(), loopback(token));
        app.start(false);
        try {
            assertEquals(200, get(app, "/health", null).statusCode());
            for (String path : new String[] {"/metrics", "/peers", "/sessions", "/subscribers/491700000001"}) {
                HttpResponse<String> none = get(app, path, null);
                assertEquals(401, none.statusCode(), path);
                assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
                assertEquals(401, get(app, path, token + "x").statusCode(), path);
                assertTrue(get(app, path, token).statusCode() != 401, path);
            }
        } finally {
            app.stop();
        }
    }

    @Test
    void anInterfaceBeyondLoopbackWithoutTokenIsRefused() {
        GyDiameterApplication app = node(true, Stores.freshH2(), AdminSettings.onAnyPort("0.0.0.0", null));
        NodeStartException e = assertThrows(NodeStartException.class, () -> app.start(false));
        assertTrue(e.getMessage().contains("admin-token-file"), e.getMessage());
        assertEquals(false, app.isRunning());
    }

    @Test
    void aTakenAdminPortFailsTheStartWithItsName() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            GyDiameterApplication app = node(true, Stores.freshH2(),
                    new AdminSettings("127.0.0.1", taken.getLocalPort(), null));
            NodeStartException e = assertThrows(NodeStartException.class, () -> app.start(false));
            assertTrue(e.getMessage().contains(String.valueOf(taken.getLocalPort())), e.getMessage());
            assertTrue(e.getMessage().contains("--admin-port"), "says how to choose another: " + e.getMessage());
            assertEquals(false, app.isRunning());
        }
    }

    /**
     * Two nodes asking for any port each get one of their own, bound as they start (a port found
     * free first and bound later was once taken in between by a test run beside a node).
     */
    @Test
    void nodesOnAnyAdminPortEachBindOneOfTheirOwn() throws Exception {
        GyDiameterApplication a = node(true, Stores.freshH2(), loopback(null));
        GyDiameterApplication b = node(true, Stores.freshH2(), loopback(null));
        assertEquals(0, a.getAdminPort(), "none before the start");
        a.start(false);
        try {
            b.start(false);
            try {
                assertTrue(a.getAdminPort() > 0 && b.getAdminPort() > 0, a.getAdminPort() + " " + b.getAdminPort());
                assertTrue(a.getAdminPort() != b.getAdminPort());
                assertEquals(200, get(a, "/health", null).statusCode());
                assertEquals(200, get(b, "/health", null).statusCode());
            } finally {
                b.stop();
            }
        } finally {
            a.stop();
        }
        assertEquals(0, a.getAdminPort(), "none after the stop");
    }

    /**
     * Buckets held by a session of another node sharing PostgreSQL (this node has no session of
     * the subscriber) are not deleted nor replaced either: 409, with what holds them.
     */
    @Test
    void bucketsAnotherNodesSessionHoldsAreNotDeletedNorReplaced() throws Exception {
        String url = Stores.fresh("postgres");
        GyDiameterApplication app = node(true, url, loopback(null));
        try (org.gyocs.store.JdbcBalanceStore other = org.gyocs.store.JdbcBalanceStore.open(url, null, null, 2)) {
            app.start(false);
            String sub = "491788800001";
            assertEquals(200, send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 5000}]}").statusCode());
            // the other node's session reserves, as its CCR-I would
            other.reserve(sub, org.gyocs.core.UnitType.OCTETS, null, 2000, "elsewhere;1|0", java.time.Instant.now()
                    .plusSeconds(600));
            HttpResponse<String> delete = send(app, "DELETE", "/subscribers/" + sub, null);
            assertEquals(409, delete.statusCode(), delete.body());
            assertTrue(JSON.readTree(delete.body()).get("error").asText().contains(sub + " (2000 reserved)"),
                    delete.body());
            assertEquals(409, send(app, "PUT", "/subscribers/" + sub,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 1}]}").statusCode());
            assertEquals(5000, JSON.readTree(get(app, "/subscribers/" + sub, null).body()).get("buckets").get(0)
                    .get("amount").asLong(), "nothing changed");
            other.release("elsewhere;1|0");
            assertEquals(200, send(app, "DELETE", "/subscribers/" + sub, null).statusCode());
        } finally {
            app.stop();
        }
    }

    /** A PostgreSQL that goes away turns the health DOWN (503, with the reason) and gyocs_store_up to 0. */
    @Test
    void anUnreachableDatabaseTurnsTheHealthDown() throws Exception {
        EmbeddedPostgres pg = EmbeddedPostgres.start();
        GyDiameterApplication app = node(true, pg.getJdbcUrl("postgres", "postgres"), loopback(null));
        try {
            app.start(false);
            assertEquals(200, get(app, "/health", null).statusCode());
            pg.close();
            HttpResponse<String> down = null;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline) { // the probe is cached for a second
                down = get(app, "/health", null);
                if (down.statusCode() == 503) {
                    break;
                }
                Thread.sleep(200);
            }
            assertEquals(503, down.statusCode(), down.body());
            JsonNode h = JSON.readTree(down.body());
            assertEquals("DOWN", h.get("status").asText());
            assertTrue(h.get("reason").asText().contains("database"), h.toString());
            assertEquals(0, sample(get(app, "/metrics", null).body(), "gyocs_store_up", ""));
        } finally {
            app.stop();
            pg.close();
        }
    }
}
