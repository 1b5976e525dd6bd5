package org.gyocs.http;

import static org.gyocs.codec.AvpCodes.*;
import static org.gyocs.http.OperatorHttpTest.answerWith;
import static org.gyocs.http.OperatorHttpTest.connect;
import static org.gyocs.http.OperatorHttpTest.get;
import static org.gyocs.http.OperatorHttpTest.nextRequestFromNode;
import static org.gyocs.http.OperatorHttpTest.sample;
import static org.gyocs.http.OperatorHttpTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.codec.Avp;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.node.AdminSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Test control (issue 12) in both modes, over real Diameter and real HTTP: behaviours change the
 * answers they match and no others, faults come on cue, and GET /requests shows what was sent.
 */
class TestControlTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUBSCRIBER = "491700000001"; // the subscriber of GyRequests' CCRs

    @TempDir
    Path tmp;

    private GyDiameterApplication node(boolean mock, Path behaviours) throws Exception {
        return GyDiameterApplication.builder().host("ocs.test.local").realm("test.local").ip("127.0.0.1").port(0)
                .mock(mock).store(Stores.freshEmbeddedFile()).dataDir(tmp).behaviours(behaviours)
                .admin(AdminSettings.onAnyPort("127.0.0.1", null)).build();
    }

    private static Avp child(Avp group, int code) throws Exception {
        return DiameterMessage.find(group.group(), code);
    }

    private static DiameterMessage ccr(TestPeer peer, String session, int type, int number, String subscriber) {
        List<Avp> avps = GyRequests.header(session, type, number);
        avps.removeIf(a -> a.code() == SUBSCRIPTION_ID);
        avps.add(Avp.grouped(SUBSCRIPTION_ID, Avp.unsigned32(SUBSCRIPTION_ID_TYPE, 0), Avp.utf8(SUBSCRIPTION_ID_DATA, subscriber)));
        avps.add(GyRequests.mscc(100L, 1L, type == 3 ? null : GyRequests.rsuOctets(1_048_576),
                type == 2 || type == 3 ? GyRequests.usuOctets(524_288) : null));
        return GyRequests.ccr(peer.nextHopByHop(), avps);
    }

    /**
     * A Final-Unit-Indication REDIRECT with a grant and Validity-Time of the rule's choosing on
     * the first grant, 4012 on the second CCR-U: the rest of the session is answered as usual and
     * every reported usage is debited, the 4012 update's too.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void scriptedAnswersChangeOnlyWhatTheyMatch(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, null);
        app.start(false);
        try (TestPeer peer = connect(app, "pcef.script.test")) {
            assertEquals(200, send(app, "PUT", "/subscribers/" + SUBSCRIBER,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 10000000, \"ratingGroup\": 100}]}").statusCode());
            HttpResponse<String> created = send(app, "POST", "/behaviours", """
                    [{"id": "second-update", "match": {"request": "UPDATE", "number": 2}, "times": 1,
                      "answer": {"mscc-result-code": 4012}},
                     {"id": "end-it", "match": {"request": "UPDATE", "number": 3}, "answer": {"abort-after-ms": 100}},
                     {"match": {"request": "INITIAL", "subscriber": "4917*", "rating-group": 100}, "times": 1,
                      "answer": {"final-unit-action": "REDIRECT", "redirect-address": "http://portal.example/topup",
                                 "granted": 1000, "validity-time": 60}}]""");
            assertEquals(201, created.statusCode(), created.body());
            JsonNode rules = JSON.readTree(created.body());
            assertEquals("second-update", rules.get(0).get("id").asText());
            String fuiRule = rules.get(2).get("id").asText();
            assertEquals("b1", fuiRule, "a rule without id is named by the node");

            String session = "pcef.script.test;" + mock;
            DiameterMessage first = peer.request(ccr(peer, session, 1, 0, SUBSCRIBER));
            assertEquals(2001, GyRequests.resultCode(first));
            Avp mscc = first.avp(MULTIPLE_SERVICES_CREDIT_CONTROL);
            assertEquals(1000, child(child(mscc, GRANTED_SERVICE_UNIT), CC_TOTAL_OCTETS).unsigned64());
            assertEquals(60, child(mscc, VALIDITY_TIME).unsigned32());
            Avp fui = child(mscc, FINAL_UNIT_INDICATION);
            assertEquals(1, child(fui, FINAL_UNIT_ACTION).unsigned32(), "REDIRECT");
            assertEquals("http://portal.example/topup", child(child(fui, REDIRECT_SERVER), REDIRECT_SERVER_ADDRESS).utf8());

            DiameterMessage u1 = peer.request(ccr(peer, session, 2, 1, SUBSCRIBER));
            assertEquals(2001, GyRequests.resultCode(u1));
            Avp usual = u1.avp(MULTIPLE_SERVICES_CREDIT_CONTROL);
            assertEquals(1_048_576, child(child(usual, GRANTED_SERVICE_UNIT), CC_TOTAL_OCTETS).unsigned64());
            assertNull(child(usual, FINAL_UNIT_INDICATION), "the FUI rule was used once");
            assertEquals(3600, child(usual, VALIDITY_TIME).unsigned32());

            DiameterMessage u2back = peer.request(ccr(peer, session, 2, 2, SUBSCRIBER));
            assertEquals(4012, GyRequests.resultCode(u2back));
            Avp refused = u2back.avp(MULTIPLE_SERVICES_CREDIT_CONTROL);
            assertEquals(4012, child(refused, RESULT_CODE).unsigned32());
            assertNull(child(refused, GRANTED_SERVICE_UNIT));
            assertEquals(100, child(refused, RATING_GROUP).unsigned32());
            DiameterMessage u2 = ccr(peer, session, 2, 2, SUBSCRIBER);
            DiameterMessage u2again = peer.request(new DiameterMessage(u2.flags() | DiameterMessage.FLAG_RETRANSMITTED,
                    u2.commandCode(), u2.applicationId(), u2.hopByHop(), u2.endToEnd(), u2.avps()));
            assertEquals(4012, GyRequests.resultCode(u2again), "sent again (T-bit): the same changed answer");
            assertEquals(4012, child(u2again.avp(MULTIPLE_SERVICES_CREDIT_CONTROL), RESULT_CODE).unsigned32());

            assertEquals(2001, GyRequests.resultCode(peer.request(ccr(peer, session, 2, 3, SUBSCRIBER))));
            DiameterMessage asr = nextRequestFromNode(peer);
            assertEquals(CommandCodes.ABORT_SESSION, asr.commandCode(), "an ASR after the third CCA-U");
            assertEquals(session, asr.avp(SESSION_ID).utf8());
            answerWith(peer, asr, 2001);
            assertEquals(2001, GyRequests.resultCode(peer.request(ccr(peer, session, 3, 4, SUBSCRIBER))));

            JsonNode bucket = JSON.readTree(get(app, "/subscribers/" + SUBSCRIBER, null).body()).get("buckets").get(0);
            assertEquals(10_000_000 - 4 * 524_288, bucket.get("amount").asLong(), "every usage debited: " + bucket);
            assertEquals(0, bucket.get("reserved").asLong());

            JsonNode listed = JSON.readTree(get(app, "/behaviours", null).body());
            assertEquals(1, listed.get(0).get("hits").asLong(), "the retransmission used up no rule");
            assertEquals(1, listed.get(1).get("hits").asLong());
            assertEquals(1, listed.get(2).get("hits").asLong());
            assertEquals("REDIRECT", listed.get(2).get("answer").get("final-unit-action").asText());
            String metrics = get(app, "/metrics", null).body();
            assertEquals(1, sample(metrics, "gyocs_behaviour_hits_total", "{behaviour=\"second-update\"}"));
            assertEquals(1, sample(metrics, "gyocs_behaviour_hits_total", "{behaviour=\"" + fuiRule + "\"}"));
            assertEquals(2, sample(metrics, "gyocs_answers_total", "{command=\"CCA\",result_code=\"4012\"}"));
        } finally {
            app.stop();
        }
    }

    /**
     * Faults on cue: a late CCA-I that holds up no other answer and is followed by a RAR, 5030 for
     * one subscriber, no answer to a CCR-T (whose retransmission is then answered), and a
     * connection closed instead of an answer; GET /requests shows each, AVPs decoded.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void faultsOnCueAndTheRecordOfRequests(boolean mock) throws Exception {
        Path file = tmp.resolve("behaviours.json");
        Files.writeString(file, """
                [{"id": "late", "match": {"subscriber": "491700000001", "request": "INITIAL"}, "times": 1,
                  "answer": {"delay-ms": 1500, "reauth-after-ms": 300}},
                 {"id": "silent-t", "match": {"request": "TERMINATE"}, "times": 1, "answer": {"drop": true}},
                 {"id": "unknown-user", "match": {"subscriber": "491799999999"}, "answer": {"result-code": 5030}},
                 {"id": "late-event", "match": {"request": "EVENT", "subscriber": "491788888888"}, "times": 1,
                  "answer": {"delay-ms": 300}},
                 {"id": "cut", "match": {"request": "EVENT", "origin-host": "*.test.local"}, "times": 1,
                  "answer": {"disconnect": true}}]""");
        GyDiameterApplication app = node(mock, file);
        app.start(false);
        try (TestPeer peer = connect(app, "pcef.faults.test")) {
            String session = "pcef.faults.test;" + mock;
            DiameterMessage late = ccr(peer, session, 1, 0, SUBSCRIBER);
            long sent = System.nanoTime();
            peer.send(late);
            DiameterMessage other = ccr(peer, session + ";other", 1, 0, "491799999999");
            peer.send(other);
            DiameterMessage firstBack = peer.read();
            assertEquals(other.hopByHop(), firstBack.hopByHop(), "the delayed answer holds up no other");
            assertEquals(5030, GyRequests.resultCode(firstBack));
            assertNull(firstBack.avp(MULTIPLE_SERVICES_CREDIT_CONTROL), "a 5030 carries no MSCC");
            DiameterMessage lateBack = peer.read();
            long waited = (System.nanoTime() - sent) / 1_000_000;
            assertEquals(late.hopByHop(), lateBack.hopByHop());
            assertEquals(2001, GyRequests.resultCode(lateBack));
            assertTrue(waited >= 1_400, "answered after " + waited + " ms");

            DiameterMessage rar = nextRequestFromNode(peer);
            assertEquals(CommandCodes.RE_AUTH, rar.commandCode());
            assertEquals(session, rar.avp(SESSION_ID).utf8());
            answerWith(peer, rar, 2001);

            DiameterMessage t = ccr(peer, session, 3, 1, SUBSCRIBER);
            peer.send(t);
            peer.socket().setSoTimeout(1_500);
            assertThrows(SocketTimeoutException.class, () -> nextAnswer(peer), "no answer to the CCR-T");
            peer.socket().setSoTimeout(5_000);
            DiameterMessage again = new DiameterMessage(t.flags() | DiameterMessage.FLAG_RETRANSMITTED, t.commandCode(),
                    t.applicationId(), t.hopByHop(), t.endToEnd(), t.avps());
            assertEquals(2001, GyRequests.resultCode(peer.request(again)), "its retransmission is answered");

            JsonNode record = JSON.readTree(get(app, "/requests?session=" + java.net.URLEncoder.encode(session,
                    java.nio.charset.StandardCharsets.UTF_8), null).body());
            assertEquals(3, record.size(), record.toString());
            assertEquals("INITIAL", record.get(0).get("request").asText());
            assertEquals("late", record.get(0).get("behaviour").asText());
            assertEquals(2001, record.get(0).get("resultCode").asLong());
            assertEquals("pcef.faults.test", record.get(0).get("peer").asText());
            assertEquals("dropped", record.get(1).get("resultCode").asText());
            assertEquals("silent-t", record.get(1).get("behaviour").asText());
            assertEquals(2001, record.get(2).get("resultCode").asLong());
            assertTrue(record.get(2).get("behaviour").isNull());
            JsonNode avps = record.get(0).get("avps");
            JsonNode type = find(avps, "CC-Request-Type");
            assertEquals(416, type.get("code").asInt());
            assertEquals(1, type.get("value").asLong());
            assertEquals("INITIAL_REQUEST", type.get("enum").asText());
            JsonNode msccJson = find(avps, "Multiple-Services-Credit-Control");
            assertEquals(100, find(msccJson.get("avps"), "Rating-Group").get("value").asLong());
            JsonNode rsu = find(msccJson.get("avps"), "Requested-Service-Unit");
            assertEquals("1048576", find(rsu.get("avps"), "CC-Total-Octets").get("value").asText());
            assertEquals(SUBSCRIBER, find(find(avps, "Subscription-Id").get("avps"), "Subscription-Id-Data")
                    .get("value").asText());
            assertEquals(1, JSON.readTree(get(app, "/requests?subscriber=491799999999", null).body()).size());
            assertEquals(2, JSON.readTree(get(app, "/requests?limit=2", null).body()).size());
            assertEquals(400, get(app, "/requests?limit=0", null).statusCode());

            // an event that changes no balance is answered outside any session state (in jDiameter
            // mode, returned to the stack at once): late too
            DiameterMessage event = ccr(peer, session + ";late-event", 4, 0, "491788888888");
            long eventSent = System.nanoTime();
            DiameterMessage eventBack = peer.request(event);
            assertEquals(event.hopByHop(), eventBack.hopByHop());
            assertEquals(2001, GyRequests.resultCode(eventBack));
            assertTrue(System.nanoTime() - eventSent >= 250_000_000L, "the event's answer is late too");

            peer.send(ccr(peer, session + ";event", 4, 0, SUBSCRIBER));
            assertTrue(peer.closedByNode(), "the connection is closed instead of an answer");
            JsonNode last = JSON.readTree(get(app, "/requests?limit=1", null).body()).get(0);
            assertEquals("disconnected", last.get("resultCode").asText());
            assertEquals("cut", last.get("behaviour").asText());
        }
        try (TestPeer again = new TestPeer(app.getPort())) {
            assertEquals(2001, GyRequests.resultCode(again.handshake("pcef.faults.test")), "the peer comes back");
            again.awaitOpen();
            assertEquals(2001, GyRequests.resultCode(again.request(ccr(again, "pcef.faults.test;after", 4, 0, SUBSCRIBER))));
            String metrics = get(app, "/metrics", null).body();
            for (String rule : new String[] {"late", "silent-t", "unknown-user", "late-event", "cut"}) {
                assertEquals(1, sample(metrics, "gyocs_behaviour_hits_total", "{behaviour=\"" + rule + "\"}"), rule);
            }
            // answered: CCR-I late, CCR-I 5030, CCR-T sent again, the late event, the event after; not the
            // dropped CCR-T nor the event that closed the connection
            assertEquals(4, sample(metrics, "gyocs_answers_total", "{command=\"CCA\",result_code=\"2001\"}"));
            assertEquals(1, sample(metrics, "gyocs_answers_total", "{command=\"CCA\",result_code=\"5030\"}"));
            assertEquals(7, sample(metrics, "gyocs_requests_total", "{command=\"CCR\",request_type=\"initial\"}")
                    + sample(metrics, "gyocs_requests_total", "{command=\"CCR\",request_type=\"termination\"}")
                    + sample(metrics, "gyocs_requests_total", "{command=\"CCR\",request_type=\"event\"}"),
                    "every request counted, answered or not");
        } finally {
            app.stop();
        }
    }

    /**
     * mscc-result-code where the core would grant a default amount (an event, a request without
     * MSCC): nothing is debited or held, the balance stays whole.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void refusedQuotaHoldsAndDebitsNothing(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, null);
        app.start(false);
        try (TestPeer peer = connect(app, "pcef.refuse.test")) {
            assertEquals(200, send(app, "PUT", "/subscribers/" + SUBSCRIBER,
                    "{\"buckets\": [{\"unit\": \"octets\", \"amount\": 10000000}]}").statusCode());
            assertEquals(201, send(app, "POST", "/behaviours", "{\"answer\": {\"mscc-result-code\": 4012}}").statusCode());
            DiameterMessage event = ccr(peer, "pcef.refuse.test;e;" + mock, 4, 0, SUBSCRIBER);
            List<Avp> noRsu = new java.util.ArrayList<>(event.avps());
            noRsu.removeIf(a -> a.code() == MULTIPLE_SERVICES_CREDIT_CONTROL);
            noRsu.add(GyRequests.mscc(null, null, null, null)); // an MSCC without RSU: the default grant
            DiameterMessage refusedEvent = peer.request(GyRequests.ccr(peer.nextHopByHop(), noRsu));
            assertEquals(4012, GyRequests.resultCode(refusedEvent));
            List<Avp> noMscc = GyRequests.header("pcef.refuse.test;i;" + mock, 1, 0);
            DiameterMessage refusedInitial = peer.request(GyRequests.ccr(peer.nextHopByHop(), noMscc));
            assertEquals(4012, GyRequests.resultCode(refusedInitial));
            assertNull(refusedInitial.avp(GRANTED_SERVICE_UNIT));
            JsonNode bucket = JSON.readTree(get(app, "/subscribers/" + SUBSCRIBER, null).body()).get("buckets").get(0);
            assertEquals(10_000_000, bucket.get("amount").asLong(), bucket.toString());
            assertEquals(0, bucket.get("reserved").asLong(), bucket.toString());

            // granted where the core would give its default (no MSCC, no RSU): the rule's amount
            assertEquals(200, send(app, "DELETE", "/behaviours", null).statusCode());
            assertEquals(201, send(app, "POST", "/behaviours", """
                    [{"match": {"request": "INITIAL"}, "times": 1, "answer": {"granted": 1000, "validity-time": 30}},
                     {"match": {"subscriber": "491766666666"}, "answer": {"result-code": 5002, "delay-ms": 300}}]""")
                    .statusCode());
            DiameterMessage granted = peer.request(GyRequests.ccr(peer.nextHopByHop(),
                    GyRequests.header("pcef.refuse.test;g;" + mock, 1, 0)));
            assertEquals(2001, GyRequests.resultCode(granted));
            assertEquals(1000, child(granted.avp(GRANTED_SERVICE_UNIT), CC_TOTAL_OCTETS).unsigned64());
            assertEquals(30, granted.avp(VALIDITY_TIME).unsigned32());
            // a 5002 of the rule's own is delayed like any answer, and is no error of the node's
            long sent = System.nanoTime();
            DiameterMessage unknown = peer.request(ccr(peer, "pcef.refuse.test;u;" + mock, 1, 0, "491766666666"));
            assertEquals(5002, GyRequests.resultCode(unknown));
            assertTrue(System.nanoTime() - sent >= 250_000_000L, "delayed");
            assertEquals(0, sample(get(app, "/metrics", null).body(), "gyocs_errors_total", ""));
        } finally {
            app.stop();
        }
    }

    /**
     * A stop waits for an answer a behaviour holds back (it goes out before the DPR); an answer
     * whose peer left before it was due is not sent and not counted.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void lateAnswersAtStopAndToAPeerGone(boolean mock) throws Exception {
        GyDiameterApplication app = node(mock, null);
        app.start(false);
        assertEquals(201, send(app, "POST", "/behaviours",
                "{\"match\": {\"request\": \"INITIAL\"}, \"answer\": {\"delay-ms\": 800}}").statusCode());
        TestPeer back = null;
        try (TestPeer gone = new TestPeer(app.getPort()); TestPeer stays = new TestPeer(app.getPort())) {
            assertEquals(2001, GyRequests.resultCode(gone.handshake("pcef.gone.test")));
            gone.awaitOpen();
            assertEquals(2001, GyRequests.resultCode(stays.handshake("pcef.stays.test")));
            stays.awaitOpen();
            gone.send(ccr(gone, "pcef.gone.test;" + mock, 1, 0, SUBSCRIBER));
            DiameterMessage i = ccr(stays, "pcef.stays.test;" + mock, 1, 0, SUBSCRIBER);
            stays.send(i);
            Thread.sleep(100);
            gone.socket().close(); // the peer leaves before its answer is due, and comes back
            back = connect(app, "pcef.gone.test");
            Thread.sleep(1_000); // the late answers fall due
            Thread stopper = new Thread(app::stop);
            stopper.start();
            DiameterMessage first = nextAnswer(stays);
            assertEquals(i.hopByHop(), first.hopByHop(), "the late CCA before the DPR");
            assertEquals(2001, GyRequests.resultCode(first));
            DiameterMessage dpr = stays.read();
            assertEquals(CommandCodes.DISCONNECT_PEER, dpr.commandCode());
            stays.answer(dpr);
            DiameterMessage toBack = nextAnswer(back);
            assertEquals(CommandCodes.DISCONNECT_PEER, toBack.commandCode(),
                    "the answer to the request of the closed connection is not sent on its successor");
            back.answer(toBack);
            stopper.join(20_000);
        } finally {
            app.stop();
            if (back != null) {
                back.close();
            }
        }
        @SuppressWarnings("unchecked")
        java.util.Map<Long, Long> answers = (java.util.Map<Long, Long>) app.getStatistics().get("answers_by_result_code");
        assertEquals(1L, answers.get(2001L), "the answer to the peer gone is not counted: " + answers);
    }

    /** The next message that is not a watchdog request. */
    private static DiameterMessage nextAnswer(TestPeer peer) throws Exception {
        while (true) {
            DiameterMessage m = peer.read();
            if (m.isRequest() && m.commandCode() == CommandCodes.DEVICE_WATCHDOG) {
                peer.answer(m);
                continue;
            }
            return m;
        }
    }

    private static JsonNode find(JsonNode avps, String name) {
        for (JsonNode a : avps) {
            if (name.equals(a.path("name").asText())) {
                return a;
            }
        }
        throw new AssertionError(name + " not in " + avps);
    }

    /** Bad rules are refused naming their field, over HTTP and from the file; nothing is half added. */
    @Test
    void badRulesAreRefusedNamingTheField() throws Exception {
        GyDiameterApplication app = node(true, null);
        app.start(false);
        try {
            String[][] bad = {
                    {"{\"answer\": {\"result_code\": 4012}}", "answer.result_code: unknown field"},
                    {"{\"answer\": {\"final-unit-action\": \"REDIRECT\"}}", "answer.redirect-address"},
                    {"{\"answer\": {\"drop\": true, \"result-code\": 4012}}", "answer.result-code"},
                    {"{\"answer\": {\"result-code\": 5030, \"granted\": 5}}", "answer.granted"},
                    {"{\"answer\": {\"delay-ms\": -1}}", "answer.delay-ms"},
                    {"{\"match\": {\"request\": \"START\"}, \"answer\": {\"drop\": true}}", "match.request"},
                    {"{\"match\": {\"subscriber\": \"49*17\"}, \"answer\": {\"drop\": true}}", "match.subscriber"},
                    {"{\"times\": 0, \"answer\": {\"drop\": true}}", "times"},
                    {"{\"match\": {}}", "answer: missing"},
                    {"[{\"answer\": {\"drop\": true}}, {\"answer\": {}}]", "behaviour 2: answer"},
                    {"{\"match\": {\"origin-host\": \"pgw*\"}, \"answer\": {\"drop\": true}}", "match.origin-host"},
                    {"{\"match\": {\"request\": \"TERMINATE\"}, \"answer\": {\"reauth-after-ms\": 10}}",
                            "answer.reauth-after-ms: no session is open after a CCR-T"},
                    {"{\"match\": {\"request\": \"INITIAL\"}, \"answer\": {\"result-code\": 5030, "
                            + "\"abort-after-ms\": 10}}", "answer.abort-after-ms"},
                    {"{\"answer\": {\"mscc-result-code\": 2001}}", "answer.mscc-result-code"},
                    {"{\"answer\": {\"delay-ms\": 0}}", "answer.delay-ms"},
                    {"{\"answer\": {\"drop\": false}}", "answer: changes nothing"},
                    {"[{\"id\": \"d\", \"answer\": {\"drop\": true}}, {\"id\": \"e\", \"answer\": {}}]",
                            "behaviour 2: answer"},
                    {"not json", "not JSON"}};
            for (String[] b : bad) {
                HttpResponse<String> r = send(app, "POST", "/behaviours", b[0]);
                assertEquals(400, r.statusCode(), b[0] + " -> " + r.body());
                assertTrue(JSON.readTree(r.body()).get("error").asText().contains(b[1]), b[0] + " -> " + r.body());
            }
            assertEquals(0, JSON.readTree(get(app, "/behaviours", null).body()).size(), "nothing half added");

            assertEquals(201, send(app, "POST", "/behaviours",
                    "{\"id\": \"x\", \"answer\": {\"drop\": true, \"delay-ms\": null}}").statusCode());
            assertEquals(409, send(app, "POST", "/behaviours", "{\"id\": \"x\", \"answer\": {\"drop\": true}}").statusCode(),
                    "an id is taken once");
            HttpResponse<String> clash = send(app, "POST", "/behaviours",
                    "[{\"id\": \"y\", \"answer\": {\"drop\": true}}, {\"id\": \"x\", \"answer\": {\"drop\": true}}]");
            assertEquals(409, clash.statusCode());
            assertTrue(clash.body().contains("behaviour 2: id: a behaviour named x exists already"), clash.body());
            assertEquals(404, get(app, "/behaviours/y", null).statusCode(), "nothing of the array added");
            assertEquals("x", JSON.readTree(get(app, "/behaviours/x", null).body()).get("id").asText());
            assertEquals(404, get(app, "/behaviours/y", null).statusCode());
            assertEquals(200, send(app, "DELETE", "/behaviours/x", null).statusCode());
            assertEquals(404, send(app, "DELETE", "/behaviours/x", null).statusCode());
            assertEquals(201, send(app, "POST", "/behaviours", "{\"answer\": {\"drop\": true}}").statusCode());
            assertEquals(1, JSON.readTree(send(app, "DELETE", "/behaviours", null).body()).get("deleted").asInt());
            assertEquals(405, send(app, "PUT", "/behaviours", "{}").statusCode());
        } finally {
            app.stop();
        }
        Path file = tmp.resolve("bad.json");
        Files.writeString(file, "[{\"answer\": {\"drop\": true}}, {\"answer\": {\"delay-ms\": 9999999}}]");
        NodeStartException e = assertThrows(NodeStartException.class, () -> node(true, file).start(false));
        assertTrue(e.getMessage().contains("behaviour 2: answer.delay-ms"), e.getMessage());
        Files.writeString(file, "[{\"id\": \"a\", \"answer\": {\"drop\": true}}, {\"id\": \"a\", \"answer\": {\"drop\": true}}]");
        e = assertThrows(NodeStartException.class, () -> node(true, file).start(false));
        assertTrue(e.getMessage().contains("behaviour 2: id: a names an earlier behaviour too"), e.getMessage());

        GyDiameterApplication off = GyDiameterApplication.builder().host("ocs.test.local").realm("test.local")
                .ip("127.0.0.1").port(0).mock(true).store(Stores.freshEmbeddedFile()).dataDir(tmp.resolve("off"))
                .testControl(false).admin(AdminSettings.onAnyPort("127.0.0.1", null)).build();
        off.start(false);
        try {
            HttpResponse<String> refused = send(off, "POST", "/behaviours", "{\"answer\": {\"drop\": true}}");
            assertEquals(403, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("test-control=false"), refused.body());
        } finally {
            off.stop();
        }
    }
}
