package org.gyocs.http;

import static org.gyocs.http.OperatorHttpTest.get;
import static org.gyocs.http.OperatorHttpTest.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.cli.AdminCommandAccess;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.node.AdminSettings;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Tariffs and plans as an operator sets them, while the node charges: --tariffs at start, GET
 * and PUT /tariffs, a subscriber's plan over HTTP, and ocs-admin's tariffs and plan commands;
 * each change prices the next grant, a bad file changes nothing.
 */
class RatingAdministrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUB = "491700000001"; // the subscriber of GyRequests' CCRs
    private static final String HEADER = "plan,rating_group,unit,price,per,currency,from,to\n";

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void tariffsAndPlansPriceTheNextGrant(boolean mock) throws Exception {
        Path tariffs = tmp.resolve("tariffs.csv");
        Files.writeString(tariffs, HEADER + "default,,octets,1,1048576,EUR,,\ngold,,octets,1,2097152,EUR,,\n");
        Path data = tmp.resolve("data");
        GyDiameterApplication app = GyDiameterApplication.builder().host("ocs.test.local").realm("test.local")
                .ip("127.0.0.1").port(0).mock(mock).dataDir(data).tariffs(tariffs)
                .admin(AdminSettings.onAnyPort("127.0.0.1", null)).build();
        app.start(false);
        try (TestPeer peer = new TestPeer(app.getPort())) {
            assertEquals(2001, GyRequests.resultCode(peer.handshake("pcef.rating.test")));
            peer.awaitOpen();
            assertEquals(HEADER + "default,,octets,1,1048576,EUR,,\ngold,,octets,1,2097152,EUR,,\n",
                    get(app, "/tariffs", null).body(), "GET /tariffs: the file as imported at start");
            HttpResponse<String> put = send(app, "PUT", "/subscribers/" + SUB,
                    "{\"buckets\": [{\"unit\": \"money\", \"amount\": 3}]}");
            assertEquals(200, put.statusCode(), put.body());
            assertEquals("money", JSON.readTree(put.body()).get("buckets").get(0).get("unit").asText());
            assertTrue(JSON.readTree(put.body()).get("plan").isNull(), put.body());

            String id = "pcef.rating.test;" + mock + ";";
            assertEquals(1_048_576, grant(peer, id + "a"), "1 cent buys a MiB (default plan)");
            HttpResponse<String> bad = put(app, HEADER + "default,,octets,2,1048576,EUR,,\ndefault,,octets,3,1,EUR,,\n");
            assertEquals(400, bad.statusCode());
            assertTrue(bad.body().contains("line 3") && bad.body().contains("priced already at line 2"), bad.body());
            assertTrue(get(app, "/tariffs", null).body().contains("default,,octets,1,1048576,EUR"), "nothing changed");
            HttpResponse<String> good = put(app, HEADER + "default,,octets,2,1048576,EUR,,\ngold,,octets,1,2097152,EUR,,\n");
            assertEquals(200, good.statusCode(), good.body());
            assertEquals(2, JSON.readTree(good.body()).get("tariffs").asInt());
            assertEquals(1_048_576, grant(peer, id + "b"), "2 cents left buy a MiB at the new price");
            assertEquals(4012, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), id + "c", 1, 0))),
                    "nothing left: the 3 cents are held");
            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(peer.nextHopByHop(), id + "a", 3, 1))),
                    "CCR-T of a: 512 KiB used at a's price, 0.5 cent: 1 cent paid");
            assertEquals(2, JSON.readTree(get(app, "/subscribers/" + SUB, null).body()).get("buckets").get(0)
                    .get("amount").asLong(), "1 cent paid");

            assertEquals(400, send(app, "PUT", "/subscribers/" + SUB + "/plan", "{\"plan\": \"no spaces\"}").statusCode());
            assertEquals(404, send(app, "PUT", "/subscribers/491799999999/plan", "{\"plan\": \"gold\"}").statusCode());
            HttpResponse<String> plan = send(app, "PUT", "/subscribers/" + SUB + "/plan", "{\"plan\": \"gold\"}");
            assertEquals(200, plan.statusCode(), plan.body());
            assertEquals("gold", JSON.readTree(plan.body()).get("plan").asText());
            // 2 cents left, both held by b: a cent more
            assertEquals(200, send(app, "POST", "/subscribers/" + SUB + "/topup",
                    "{\"unit\": \"money\", \"amount\": 1}").statusCode());
            DiameterMessage rar = OperatorHttpTest.nextRequestFromNode(peer); // the top-up re-authorizes b
            assertEquals(id + "b", OperatorHttpTest.utf8(rar, AvpCodes.SESSION_ID));
            OperatorHttpTest.answerWith(peer, rar, 2001);
            assertEquals(1_048_576, grant(peer, id + "d"), "gold: half a cent for a MiB, rounded up to 1");

            // the usage record of a: ended by its CCR-T (within a second: the embedded store writes back)
            com.fasterxml.jackson.databind.JsonNode usage = null;
            for (int i = 0; i < 100; i++) {
                usage = JSON.readTree(get(app, "/usage?subscriber=" + SUB, null).body());
                if (usage.size() > 0) {
                    break;
                }
                Thread.sleep(50);
            }
            assertEquals(1, usage.size(), usage.toString());
            assertEquals(id + "a", usage.get(0).get("sessionId").asText());
            assertEquals("CCR_T", usage.get(0).get("terminationCause").asText());
            assertEquals(2001, usage.get(0).get("resultCode").asLong());
            com.fasterxml.jackson.databind.JsonNode line = usage.get(0).get("lines").get(0);
            assertEquals(100, line.get("ratingGroup").asLong());
            assertEquals(524_288, line.get("units").asLong());
            assertEquals(1, line.get("cost").asLong());
            assertEquals("EUR", line.get("currency").asText());
            String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
            HttpResponse<String> csv = get(app, "/usage?day=" + today + "&format=csv", null);
            assertEquals(200, csv.statusCode());
            assertTrue(csv.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"));
            assertTrue(csv.body().startsWith(org.gyocs.store.UsageRecords.CSV_HEADER + "\n"), csv.body());
            assertTrue(csv.body().contains("," + id + "a,pcef.rating.test,"), csv.body());
            assertTrue(csv.body().contains(",2001,CCR_T,100,octets,524288,1,EUR\n"), csv.body());
            assertEquals(400, get(app, "/usage?subscriber=" + SUB + "&since=yesterday", null).statusCode());
            assertEquals(400, get(app, "/usage", null).statusCode(), "whose, or which day");
            assertEquals(0, JSON.readTree(get(app, "/usage?subscriber=" + SUB + "&since=2999-01-01", null).body()).size());

            // ocs-admin, through the running node (embedded store)
            String url = GyDiameterApplication.embeddedStore(data);
            Path next = tmp.resolve("next.csv");
            Files.writeString(next, HEADER + "default,,octets,1,1,EUR,,\n");
            assertTrue(admin(0, "--store", url, "tariffs", "import", next.toString()).contains("imported 1 tariffs of 1 plans"));
            assertEquals(HEADER + "default,,octets,1,1,EUR,,\n", admin(0, "--store", url, "tariffs"));
            assertEquals(HEADER + "default,,octets,1,1,EUR,,\n", get(app, "/tariffs", null).body());
            assertTrue(admin(0, "--store", url, "plan", SUB).contains("gold"));
            assertTrue(admin(0, "--store", url, "plan", SUB, "-").contains("(none: default)"));
            assertTrue(admin(0, "--store", url, "show", SUB).contains("plan (none: default)"));
            String printed = admin(0, "--store", url, "usage", SUB);
            assertTrue(printed.contains(id + "a") && printed.contains("rg 100  524288 octets  1 EUR minor units"), printed);
            assertTrue(admin(0, "--store", url, "usage", SUB, "--since", today, "--csv").contains(",CCR_T,100,octets,524288,1,EUR"));
            assertTrue(admin(0, "--store", url, "usage", "--day", today, "--csv").contains(id + "a"));
            admin(1, "--store", url, "usage");
            admin(1, "--store", url, "usage", SUB, "--since", "soon");
            Files.writeString(next, HEADER + "default,,octets,1,1,EURO,,\n");
            admin(1, "--store", url, "tariffs", "import", next.toString());
            assertEquals(HEADER + "default,,octets,1,1,EUR,,\n", get(app, "/tariffs", null).body(), "a bad file: nothing");
        } finally {
            app.stop();
        }
    }

    private static HttpResponse<String> put(GyDiameterApplication app, String csv) throws Exception {
        return send(app, "PUT", "/tariffs", csv);
    }

    /** The octets a CCR-I of this session is granted. */
    private static long grant(TestPeer peer, String session) throws Exception {
        DiameterMessage a = peer.request(GyRequests.simple(peer.nextHopByHop(), session, 1, 0));
        assertEquals(2001, GyRequests.resultCode(a), a.toString());
        return DiameterMessage.find(DiameterMessage.find(a.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group(),
                AvpCodes.GRANTED_SERVICE_UNIT).group(), AvpCodes.CC_TOTAL_OCTETS).unsigned64();
    }

    private static String admin(int status, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(status, AdminCommandAccess.run(args), String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
