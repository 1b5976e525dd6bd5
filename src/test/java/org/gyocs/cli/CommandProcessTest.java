package org.gyocs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.node.ListeningPorts;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** bin/ocs.sh and bin/ocs-client.sh entry points as separate processes: exit codes, signals, messages. */
class CommandProcessTest {
    @TempDir
    Path tmp;

    record Result(int exit, String out, String err) {
    }

    Process launch(Class<?> main, String... args) throws IOException {
        return launch(java.util.Map.of(), main, args);
    }

    /** The same, with {@code env} added to the environment. */
    Process launch(java.util.Map<String, String> env, Class<?> main, String... args) throws IOException {
        // an installation of its own: the checkout's config/, but never its data/, which a node
        // started by bin/ocs.sh from the same checkout may hold (issue 10, item 4)
        Path home = tmp.resolve("home");
        if (!Files.exists(home)) {
            Files.createDirectories(home);
            Files.createSymbolicLink(home.resolve("config"), Path.of("config").toAbsolutePath());
        }
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Dlog4j2.configurationFile=config/log4j2.xml", "-Dgyocs.home=" + home,
                "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        if (main == OcsCommand.class && !cmd.contains("--admin-port")) {
            // not the default 8080, which a node of this checkout may hold (README: mvn test beside bin/ocs.sh)
            cmd.addAll(List.of("--admin-port", "0"));
        }
        ProcessBuilder b = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out").toFile())
                .redirectError(tmp.resolve("err").toFile());
        b.environment().putAll(env);
        return b.start();
    }

    Result finish(Process p, long seconds) throws Exception {
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), "process did not exit");
        return new Result(p.exitValue(), Files.readString(tmp.resolve("out"), StandardCharsets.UTF_8),
                Files.readString(tmp.resolve("err"), StandardCharsets.UTF_8));
    }

    Result run(Class<?> main, String... args) throws Exception {
        return finish(launch(main, args), 30);
    }

    String output() throws IOException {
        return Files.readString(tmp.resolve("out"), StandardCharsets.UTF_8);
    }

    @Test
    void helpListsOptionsWithDefaults() throws Exception {
        Result r = run(OcsCommand.class, "--help");
        assertEquals(0, r.exit());
        for (String s : List.of("--host", "gy-server.example.com", "--realm", "--ip", "0.0.0.0", "-p,--port",
                "(default 3868)", "--config", "-v,--verbose", "-l,--listen", "--mock")) {
            assertTrue(r.out().contains(s), s + " missing in\n" + r.out());
        }
    }

    @Test
    void badOptionValueExits1WithAMessage() throws Exception {
        Result r = run(OcsCommand.class, "--port", "http");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("Error: --port must be a number, not 'http'"), r.err());
        Result unknown = run(OcsCommand.class, "--colour");
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().startsWith("Error: "), unknown.err());
    }

    @Test
    void portInUseExits1WithoutStackTrace() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Result r = run(OcsCommand.class, "--ip", "127.0.0.1", "--port", String.valueOf(taken.getLocalPort()));
            assertEquals(1, r.exit());
            assertTrue(r.err().contains("Error starting server: Address already in use (127.0.0.1:"
                    + taken.getLocalPort() + ")"), r.err());
            assertFalse((r.out() + r.err()).contains("\tat "), "no stack trace:\n" + r.err());
        }
    }

    /** Issue 10, item 2: `--realm a --realm b` ran with `a` and said nothing. */
    @Test
    void aRepeatedOptionIsAnError() throws Exception {
        Result r = run(OcsCommand.class, "--realm", "a.net", "--realm", "b.net", "--port", "0");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("--realm is given twice"), r.err());
    }

    @Test
    void missingConfigIsAClearError() throws Exception {
        Result r = run(OcsCommand.class, "--config", "/nonexistent/jd.xml", "-p", String.valueOf(ListeningPorts.freePort()));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("Configuration file not found: /nonexistent/jd.xml"), r.err());
    }

    @Test
    void mockModePortInUseIsTheSameClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Result r = run(OcsCommand.class, "--mock", "--ip", "127.0.0.1", "--port", String.valueOf(taken.getLocalPort()));
            assertEquals(1, r.exit());
            assertTrue(r.err().contains("Error starting server: Address already in use (127.0.0.1:"
                    + taken.getLocalPort() + ")"), r.err());
        }
    }

    @Test
    void clientWithoutServerSaysConnectionRefused() throws Exception {
        int port = ListeningPorts.freePort();
        Result r = run(ClientCommand.class, "--port", String.valueOf(port));
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("Error: Connection refused. Is the server running on 127.0.0.1:" + port + "?"), r.err());
    }

    @Test
    void clientNamesTheRequestThatTimedOut() throws Exception {
        // A peer that completes CER/CEA and then never answers a CCR.
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Thread peer = new Thread(() -> {
                while (!silent.isClosed()) {
                    try {
                        java.net.Socket s = silent.accept();
                        Thread conn = new Thread(() -> swallowAfterCea(s));
                        conn.setDaemon(true);
                        conn.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            peer.setDaemon(true);
            peer.start();
            Result r = run(ClientCommand.class, "--port", String.valueOf(silent.getLocalPort()), "--timeout", "1");
            assertEquals(1, r.exit());
            assertTrue(r.err().matches("(?s).*Error: CCR-I #0 of session \\S+: no answer within 1\\.0 s.*"), r.err());
        }
    }

    private static void swallowAfterCea(java.net.Socket s) {
        try (TestPeer node = new TestPeer(s)) {
            node.socket().setSoTimeout(0);
            DiameterMessage cer = node.read();
            node.send(cer.answer(false, List.of(
                    Avp.unsigned32(AvpCodes.RESULT_CODE, 2001), Avp.utf8(AvpCodes.ORIGIN_HOST, "silent.test.local"),
                    Avp.utf8(AvpCodes.ORIGIN_REALM, "test.local"),
                    Avp.address(AvpCodes.HOST_IP_ADDRESS, InetAddress.getLoopbackAddress()),
                    Avp.unsigned32(AvpCodes.VENDOR_ID, 0), Avp.utf8(AvpCodes.PRODUCT_NAME, "silent").optional(),
                    Avp.unsigned32(AvpCodes.AUTH_APPLICATION_ID, 4))));
            while (true) {
                node.readFrame(); // swallow every request
            }
        } catch (IOException | DiameterDecodeException e) {
            // the client went away (or only probed the port)
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jdiameter", "mock"})
    void nodeServesTheClientAndStopsGracefullyOnSigterm(String mode) throws Exception {
        int port = ListeningPorts.freePort();
        List<String> args = new ArrayList<>(List.of("--ip", "127.0.0.1", "-p", String.valueOf(port), "-v", "-l",
                "--store", GyDiameterApplication.embeddedStore(tmp.resolve("data")), "--access-log", "true"));
        if (mode.equals("mock")) {
            args.add("--mock");
        }
        Process node = launch(OcsCommand.class, args.toArray(String[]::new));
        try {
            for (int i = 0; i < 600 && !output().contains("Waiting for connections"); i++) { // 30 s: a busy machine
                Thread.sleep(50);
            }
            String banner = output();
            assertTrue(banner.contains("Listening on: 127.0.0.1:" + port), banner);
            assertTrue(banner.contains("✓ Server started successfully"), banner);
            assertTrue(banner.contains("Host identity: gy-server.example.com"), banner);
            assertTrue(banner.contains(mode.equals("mock") ? "Starting MOCK Gy Diameter Server (Testing Mode)"
                    : "Starting Gy Diameter Server (jDiameter)"), banner);
            assertTrue(ListeningPorts.isListening("127.0.0.1", port));

            Path clientOut = tmp.resolve("client");
            Files.createDirectories(clientOut);
            CommandProcessTest clientRun = new CommandProcessTest();
            clientRun.tmp = clientOut;
            Result session = clientRun.run(ClientCommand.class, "--port", String.valueOf(port), "--count", "2",
                    "--subscriber", "491711111111");
            assertEquals(0, session.exit(), session.out() + session.err());
            assertTrue(session.out().contains("CCR-I #0"), session.out());
            assertTrue(session.out().contains("CCR-T #2"), session.out());
            assertTrue(session.out().contains("Summary: 6 requests, 6 answers {2001=6}"), session.out());
            Result events = clientRun.run(ClientCommand.class, "--port", String.valueOf(port), "--count", "3", "--event");
            assertEquals(0, events.exit(), events.out() + events.err());
            assertTrue(events.out().contains("Summary: 3 requests, 3 answers {2001=3}"), events.out());
        } finally {
            node.destroy(); // SIGTERM
        }
        Result r = finish(node, 20);
        assertEquals(0, r.exit(), "graceful stop exits 0\n" + r.out() + r.err());
        assertTrue(r.out().contains("CCR Initial Received:    2"), r.out());
        assertTrue(r.out().contains("CCR Event Received:      3"), r.out());
        assertTrue(r.out().contains("CCA Sent:                9"), r.out());
        // verbose: each request and answer, timestamped, with the subscriber
        assertTrue(r.out().matches("(?s).*\\[\\d\\d:\\d\\d:\\d\\d\\] Received CCR-I #0 session=\\S+ subscriber=491711111111.*"), r.out());
        assertTrue(r.out().contains("Result-Code=2001 granted=rg100=1048576 octets"), r.out());
        assertTrue(r.out().contains("Peer connected: gy-client.example.com"), r.out());
        assertFalse(r.err().contains("ERROR"), r.err());
        // the same in logs/ocs.log of the installation, the statistics block with its lines
        String file = Files.readString(tmp.resolve("home/logs/ocs.log"));
        assertTrue(file.contains("Peer connected: gy-client.example.com"), file);
        assertTrue(file.contains("\nCCA Sent:                9\n"), file);
        // access-log: one JSON line per answered request, with its subscriber and Result-Code
        List<String> access = Files.readAllLines(tmp.resolve("home/logs/access.log"));
        assertEquals(9, access.size(), String.join("\n", access));
        com.fasterxml.jackson.databind.JsonNode first = new com.fasterxml.jackson.databind.ObjectMapper().readTree(access.get(0));
        assertEquals("INITIAL", first.get("request").asText());
        assertEquals("491711111111", first.get("subscriber").asText());
        assertEquals(2001, first.get("resultCode").asLong());
        assertEquals("gy-client.example.com", first.get("peer").asText());
        assertTrue(first.get("latencyMs").asDouble() > 0, access.get(0));
        assertTrue(access.stream().filter(l -> l.contains("\"request\":\"EVENT\"")).count() == 3, access.toString());
    }

    /**
     * Issue 11, item 6: the container's entry point turns the environment into options (host,
     * realm, port, store, admin port, mock) and runs the node; its HEALTHCHECK's URL answers UP.
     */
    @Test
    void theContainerEntryPointTakesItsSettingsFromTheEnvironment() throws Exception {
        Path home = tmp.resolve("container");
        Files.createDirectories(home);
        Files.createSymbolicLink(home.resolve("config"), Path.of("config").toAbsolutePath());
        int port = ListeningPorts.freePort();
        int admin = ListeningPorts.freePort();
        ProcessBuilder b = new ProcessBuilder("bash", Path.of("docker/entrypoint.sh").toAbsolutePath().toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("container.out").toFile());
        b.environment().putAll(java.util.Map.of("GYOCS_HOME", home.toString(), "GYOCS_CLASSPATH",
                System.getProperty("java.class.path"), "GYOCS_HOST", "ocs.container.test", "GYOCS_REALM",
                "container.test", "GYOCS_PORT", String.valueOf(port), "GYOCS_ADMIN_PORT", String.valueOf(admin),
                "GYOCS_MOCK", "true", "GYOCS_STORE", GyDiameterApplication.embeddedStore(home.resolve("data"))));
        Process node = b.start();
        try {
            String out = "";
            for (int i = 0; i < 600 && !out.contains("Waiting for connections") && node.isAlive(); i++) {
                Thread.sleep(50);
                out = Files.readString(tmp.resolve("container.out"));
            }
            assertTrue(out.contains("Waiting for connections"), out);
            java.net.http.HttpResponse<String> health = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + admin + "/health")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());
            com.fasterxml.jackson.databind.JsonNode h = new com.fasterxml.jackson.databind.ObjectMapper().readTree(health.body());
            assertEquals("ocs.container.test", h.get("originHost").asText());
            assertEquals("container.test", h.get("originRealm").asText());
            assertEquals(port, h.get("diameterPort").asInt());
            assertEquals("mock", h.get("mode").asText());
        } finally {
            node.destroy(); // SIGTERM, as docker stop sends
        }
        assertTrue(node.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, node.exitValue(), Files.readString(tmp.resolve("container.out")));
        assertTrue(Files.exists(home.resolve("logs/ocs.log")), "logs under the container's home");
    }

    /**
     * Issue 13, item 2: the embedded store opens no port (H2's auto-server listened on every
     * interface with empty credentials), data/ is private, and ocs-admin works beside the node
     * through the node's admin socket.
     */
    /**
     * GYOCS_STORE_PASSWORD, set for PostgreSQL and left in the shell, is not the embedded store's
     * password (it made every open fail); and an open that fails (a wrong password given on the
     * command line) leaves the store's clean-stop mark, so that the next open does not read the
     * whole file as after a crash.
     */
    @Test
    void thePasswordInTheEnvironmentIsForADatabaseServerAndAFailedOpenKeepsTheCleanMark() throws Exception {
        Files.writeString(tmp.resolve("subs.csv"), "subscriber,unit,amount,rating_group,expires\n4917011,octets,1000,,\n");
        Result imported = finish(launch(AdminCommand.class, "import", tmp.resolve("subs.csv").toString()), 60);
        assertEquals(0, imported.exit(), imported.err() + imported.out());
        // the store exists, made without a password; the variable is set afterwards, for PostgreSQL
        java.util.Map<String, String> env = java.util.Map.of("GYOCS_STORE_PASSWORD", "meant-for-postgres");
        Result listed = finish(launch(env, AdminCommand.class, "list"), 60);
        assertEquals(0, listed.exit(), listed.err() + listed.out());
        assertTrue(listed.out().contains("4917011"), listed.out());
        Path mark = tmp.resolve("home/data/ocs.clean");
        assertTrue(Files.exists(mark), "closed cleanly");
        Result refused = finish(launch(AdminCommand.class, "--store-password", "wrong", "show", "4917011"), 60);
        assertEquals(1, refused.exit(), refused.out());
        assertTrue(refused.err().contains("Wrong user name or password"), refused.err());
        assertTrue(Files.exists(mark), "a failed open leaves the mark");
        Result shown = finish(launch(env, AdminCommand.class, "show", "4917011"), 60);
        assertEquals(0, shown.exit(), shown.err() + shown.out());
        assertTrue(shown.out().contains("1000"), shown.out());
        assertFalse((shown.out() + shown.err()).contains("not closed cleanly"), shown.out() + shown.err());
    }

    @Test
    void embeddedStoreOpensNoPortIsPrivateAndOcsAdminWorksThroughTheNode() throws Exception {
        int port = ListeningPorts.freePort();
        Path data = tmp.resolve("data");
        String store = GyDiameterApplication.embeddedStore(data);
        Process node = launch(OcsCommand.class, "--ip", "127.0.0.1", "-p", String.valueOf(port), "--mock", "--store", store);
        try {
            for (int i = 0; i < 300 && !output().contains("Waiting for connections"); i++) {
                Thread.sleep(50);
            }
            assertTrue(output().contains("Waiting for connections"), output());
            assertEquals(List.of(port), listeningTcpPorts(node.pid()), "the only port is the Diameter port");

            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(data)));
            try (var files = Files.list(data)) {
                for (Path f : files.toList()) {
                    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(f)), f.toString());
                }
            }

            Path admin = tmp.resolve("admin");
            Files.createDirectories(admin);
            CommandProcessTest adminRun = new CommandProcessTest();
            adminRun.tmp = admin;
            Result add = adminRun.run(AdminCommand.class, "--store", store, "add", "491700000077", "octets", "5000");
            assertEquals(0, add.exit(), add.out() + add.err());
            Result show = adminRun.run(AdminCommand.class, "--store", store, "show", "491700000077");
            assertEquals(0, show.exit(), show.out() + show.err());
            assertTrue(show.out().matches("(?s).*octets\\s+5000\\s+0.*"), show.out());
            Result missing = adminRun.run(AdminCommand.class, "--store", store, "show", "491700000078");
            assertEquals(1, missing.exit());
            assertTrue(missing.err().contains("no subscriber 491700000078"), missing.err());
            assertTrue(output().contains("ocs-admin add 491700000077 octets 5000 (by "), "the node logs who changed what");
            Result status = adminRun.run(AdminCommand.class, "--store", store, "status");
            assertEquals(0, status.exit(), status.out() + status.err());
            assertTrue(status.out().contains("node:     healthy, mock mode"), status.out());
            assertTrue(status.out().contains("store:    changes balances"), status.out());
        } finally {
            node.destroy();
        }
        assertEquals(0, finish(node, 20).exit());
        Result none = run(AdminCommand.class, "--store", store, "status");
        assertEquals(3, none.exit(), "no node runs");
        assertTrue(none.err().contains("no node runs on"), none.err());
        assertFalse(Files.exists(data.resolve("admin.sock")), "the socket goes with the node");
        // without the node, ocs-admin opens the store itself and finds what the node wrote
        Result after = run(AdminCommand.class, "--store", store, "show", "491700000077");
        assertEquals(0, after.exit(), after.out() + after.err());
        assertTrue(after.out().matches("(?s).*octets\\s+5000\\s+0.*"), after.out());
    }

    /** The TCP ports a process listens on: its socket inodes matched against /proc/net/tcp{,6} in state LISTEN. */
    static List<Integer> listeningTcpPorts(long pid) throws IOException {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        try (var fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        java.util.TreeSet<Integer> ports = new java.util.TreeSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table)).subList(1, Files.readAllLines(Path.of(table)).size())) {
                String[] f = line.trim().split("\\s+");
                if (f[3].equals("0A") && inodes.contains(f[9])) {
                    ports.add(Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16));
                }
            }
        }
        return new ArrayList<>(ports);
    }

    /**
     * Issue 13, item 6: a node always starts again after a stop, also one made under load (H2's
     * own shutdown hook once raced the node's close and left a file that would not open), and no
     * acknowledged debit is lost or made twice across the cycles.
     */
    @Test
    void stopAndStartUnderLoadThreeTimes() throws Exception {
        Path data = tmp.resolve("data");
        String store = GyDiameterApplication.embeddedStore(data);
        Path csv = tmp.resolve("s.csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n491700000001,octets,1000000000,,\n");
        long acknowledged = 0;
        for (int cycle = 0; cycle < 3; cycle++) {
            int port = ListeningPorts.freePort();
            List<String> args = new ArrayList<>(List.of("--ip", "127.0.0.1", "-p", String.valueOf(port), "--mock",
                    "--store", store, "--default-octets", "1000", "--max-octets", "1000", "--realm", "test.local"));
            if (cycle == 0) {
                args.addAll(List.of("--subscribers", csv.toString()));
            }
            Files.deleteIfExists(tmp.resolve("out"));
            Process node = launch(OcsCommand.class, args.toArray(String[]::new));
            for (int i = 0; i < 300 && !(Files.exists(tmp.resolve("out")) && output().contains("Waiting for connections")); i++) {
                Thread.sleep(50);
            }
            assertTrue(output().contains("Waiting for connections"), "cycle " + cycle + " started:\n" + output());
            try (TestPeer p = new TestPeer(port)) {
                assertEquals(2001, org.gyocs.testing.GyRequests.resultCode(p.handshake()));
                java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < 2_000; i++) {
                    burst.write(org.gyocs.codec.DiameterCodec.encode(
                            org.gyocs.testing.GyRequests.simple(i, "cycle" + cycle + ";" + i, 4, 0)));
                }
                p.write(burst.toByteArray());
                for (int i = 0; i < 200; i++) { // some answered, the rest still in flight: stop now
                    assertEquals(2001, org.gyocs.testing.GyRequests.resultCode(p.read()));
                    acknowledged++;
                }
                node.destroy(); // SIGTERM
                while (true) {
                    DiameterMessage m = p.read();
                    if (m.isRequest()) {
                        p.answer(m); // the DPR
                        break;
                    }
                    assertEquals(2001, org.gyocs.testing.GyRequests.resultCode(m));
                    acknowledged++;
                }
            }
            Result r = finish(node, 30);
            assertEquals(0, r.exit(), "cycle " + cycle + ": graceful stop\n" + r.out() + r.err());
        }
        Result show = run(AdminCommand.class, "--store", store, "show", "491700000001");
        assertEquals(0, show.exit(), show.out() + show.err());
        assertTrue(show.out().contains(String.valueOf(1_000_000_000L - 1000 * acknowledged)),
                "every acknowledged debit once: " + acknowledged + " of 1000\n" + show.out());
    }

    /** Issue 13, item 15: CR and LF in what a peer sends cannot forge a log line. */
    @ParameterizedTest
    @ValueSource(strings = {"jdiameter", "mock"})
    void aPeerCannotForgeLogLines(String mode) throws Exception {
        int port = ListeningPorts.freePort();
        List<String> args = new ArrayList<>(List.of("--ip", "127.0.0.1", "-p", String.valueOf(port), "-v",
                "--store", GyDiameterApplication.embeddedStore(tmp.resolve("data")),
                "--host", "ocs.test.local", "--realm", "test.local"));
        if (mode.equals("mock")) {
            args.add("--mock");
        }
        Process node = launch(OcsCommand.class, args.toArray(String[]::new));
        try {
            for (int i = 0; i < 300 && !output().contains("Waiting for connections"); i++) {
                Thread.sleep(50);
            }
            String forged = "x\r\n[12:00:00] Peer connected: forged.example.com [10.0.0.1]\n";
            try (TestPeer p = new TestPeer(port)) {
                p.handshake();
                p.awaitOpen();
                List<Avp> avps = org.gyocs.testing.GyRequests.header("fake;" + forged, 4, 0);
                p.request(org.gyocs.testing.GyRequests.ccr(1, avps));
                // and a peer whose very name carries a line
                List<Avp> missing = org.gyocs.testing.GyRequests.header("missing;" + forged, 4, 0);
                missing.removeIf(a -> a.code() == AvpCodes.SERVICE_CONTEXT_ID);
                p.request(org.gyocs.testing.GyRequests.ccr(2, missing));
            }
        } finally {
            node.destroy();
        }
        Result r = finish(node, 20);
        for (String line : (r.out() + r.err()).split("\n")) {
            assertFalse(line.startsWith("[12:00:00] Peer connected: forged"), "a forged line: " + line);
        }
        assertTrue((r.out() + r.err()).contains("\\r\\n[12:00:00] Peer connected: forged"), "escaped instead");
    }

    /**
     * Issue 10, item 5: a bin/ocs.sh killed while it builds itself left a half-written jar that
     * every later start used ("Could not find or load main class"). Only a finished build is used.
     */
    @Test
    void aBuildThatDidNotFinishIsNeverUsed() throws Exception {
        Path home = withCommonSh("install");
        Files.createDirectories(home.resolve("target/run/1/lib"));
        Files.writeString(home.resolve("target/run/1/gy-ocs.jar"), "PK half a jar"); // what a killed build leaves
        Files.createSymbolicLink(home.resolve("target/current"), Path.of("run/1"));
        String stale = ". bin/lib/common.sh && if gyocs_stale; then echo stale; else echo current; fi";
        assertEquals("stale", bash(home, stale), "no finished build: built again");
        Files.writeString(home.resolve("target/.built"), "");
        assertEquals("current", bash(home, stale), "a finished build is used");
        Thread.sleep(1100); // file times in whole seconds on some file systems
        Files.writeString(home.resolve("src/main/Changed.java"), "class Changed {}");
        assertEquals("stale", bash(home, stale), "sources changed since");
    }

    /**
     * The bin/ scripts run the newest Java they find (the node spent less CPU per CCR on Java 25
     * with compact object headers than on Debian's default 17), unless JAVA_HOME or GYOCS_JAVA
     * names one; a Java older than 17, or one named that is not there, is refused with a clear
     * error; a JDK without a release file is passed over, not a silent exit.
     */
    @Test
    void theScriptsRunTheNewestJavaUnlessOneIsNamed() throws Exception {
        Path home = withCommonSh("java");
        Path jdks = Files.createDirectories(tmp.resolve("jdks"));
        Path onPath = fakeJdk(jdks, "jdk-17", "17.0.15");
        fakeJdk(jdks, "jdk-11", "11.0.2");
        fakeJdk(jdks, "jdk-21", "21.0.5");
        Files.delete(fakeJdk(jdks, "jre-bare", "99").resolve("release")); // unpacked without one
        String env = javaEnvironment(onPath, jdks);
        String pick = "; . bin/lib/common.sh && gyocs_java_identity";
        assertEquals(jdks.resolve("jdk-21/bin/java").toRealPath() + " 21.0.5+1", bash(home, env + pick), "the newest");
        fakeJdk(jdks, "jdk-25", "25.0.3");
        assertEquals(jdks.resolve("jdk-25/bin/java").toRealPath() + " 25.0.3+1 -XX:+UseCompactObjectHeaders",
                bash(home, env + pick), "from 25 on, with compact object headers");
        assertEquals(onPath.resolve("bin/java").toRealPath() + " 17.0.15+1",
                bash(home, env + "; export JAVA_HOME=" + onPath + pick), "JAVA_HOME's");
        assertEquals(jdks.resolve("jdk-21/bin/java").toRealPath() + " 21.0.5+1",
                bash(home, env + "; export GYOCS_JAVA=" + jdks.resolve("jdk-21/bin/java") + pick), "GYOCS_JAVA's");
        assertEquals("Error: gy-ocs needs Java 17 or later; " + jdks.resolve("jdk-11/bin/java")
                + " is Java 11 (set JAVA_HOME to a newer one)",
                bash(home, env + "; export JAVA_HOME=" + jdks.resolve("jdk-11") + pick));
        assertEquals("Error: JAVA_HOME=" + tmp + " has no bin/java (unset it to run the newest Java found)",
                bash(home, env + "; export JAVA_HOME=" + tmp + pick), "a JAVA_HOME that is wrong is not passed over");
        assertEquals("Error: GYOCS_JAVA=/nowhere/java is not an executable java",
                bash(home, env + "; export GYOCS_JAVA=/nowhere/java" + pick));
        Path shim = Files.createDirectories(tmp.resolve("shim"));
        Files.copy(jdks.resolve("jdk-17/bin/java"), shim.resolve("java"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        assertEquals(shim.resolve("java").toRealPath().toString(), bash(home, env + "; export PATH=" + shim + ":$PATH" + pick),
                "a java on the PATH of a version unknown (a version manager's shim) is the user's choice");
    }

    /**
     * The build trains its start-up archive with the Java chosen, and records which; a start runs
     * that Java with its options and maps the archive; another Java starts without it and says so.
     */
    @Test
    void theBuildTrainsItsArchiveWithTheJavaChosenAndAStartMapsIt() throws Exception {
        Path home = withCommonSh("trained");
        Files.createDirectories(home.resolve("config"));
        Path jdks = Files.createDirectories(tmp.resolve("trained-jdks"));
        Path jdk = fakeJdk(jdks, "jdk-25", "25.0.3");
        // a java that writes the archive it is asked for, and says what it was given
        Files.writeString(jdk.resolve("bin/java"), """
                #!/bin/bash
                for a in "$@"; do case $a in -XX:ArchiveClassesAtExit=*) echo archive > "${a#*=}" ;; esac; done
                echo "java $*"
                """);
        Path fakeBin = fakeMaven("trained-bin");
        String env = javaEnvironment(jdk, jdks) + "; export PATH=" + fakeBin + ":$PATH";
        String start = "; . bin/lib/common.sh && gyocs_java org.example.Main one 2>&1";
        String started = bash(home, env + start).lines().reduce((a, b) -> b).orElseThrow(); // after the build's
        Path build = home.resolve("target/current").toRealPath();
        assertEquals("archive", Files.readString(build.resolve("gy-ocs.jsa")).trim(), "trained with the Java chosen");
        String identity = jdk.resolve("bin/java").toRealPath() + " 25.0.3+1 -XX:+UseCompactObjectHeaders";
        assertEquals(identity, Files.readString(build.resolve("gy-ocs.jsa.java")).trim());
        assertTrue(started.startsWith("java -XX:+UseCompactObjectHeaders -XX:SharedArchiveFile=" + build + "/gy-ocs.jsa "),
                started);
        assertTrue(started.endsWith(" org.example.Main one"), started);
        Path other = fakeJdk(jdks, "jdk-26", "26.0.1");
        Files.copy(jdk.resolve("bin/java"), other.resolve("bin/java"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String elsewhere = bash(home, env + start);
        assertTrue(elsewhere.startsWith("Note: this build's start-up archive was made for another Java"), elsewhere);
        assertFalse(elsewhere.contains("SharedArchiveFile"), elsewhere);
        assertEquals(build, home.resolve("target/current").toRealPath(), "nothing built for another Java");
    }

    /**
     * A build's start-up archive is used only by the Java it was made for (path, exact version,
     * options): another Java, installed or updated since the build, starts without it and builds
     * nothing (a service's user may not write the build; the jar is the same for every Java).
     */
    @Test
    void aStartUpArchiveIsUsedOnlyByTheJavaThatMadeIt() throws Exception {
        Path home = withCommonSh("archive");
        Path jdks = Files.createDirectories(tmp.resolve("archive-jdks"));
        Path jdk21 = fakeJdk(jdks, "jdk-21", "21.0.5");
        Path build = Files.createDirectories(home.resolve("target/run/1"));
        Files.writeString(build.resolve("gy-ocs.jsa"), "an archive");
        String env = javaEnvironment(jdk21, jdks);
        bash(home, env + "; . bin/lib/common.sh && gyocs_java_identity > target/run/1/gy-ocs.jsa.java");
        String options = "; . bin/lib/common.sh && gyocs_cds_options target/run/1 && echo \"[${GYOCS_CDS[*]}]\"";
        assertEquals("[-XX:SharedArchiveFile=target/run/1/gy-ocs.jsa -Xlog:cds=off -Xlog:cds+dynamic=off]",
                bash(home, env + options), "the Java that made it");
        fakeJdk(jdks, "jdk-25", "25.0.3");
        String note = "Note: this build's start-up archive was made for another Java; starting without it";
        String newer = bash(home, env + options);
        assertTrue(newer.startsWith(note) && newer.endsWith("\n[]"), "a newer JDK installed since: " + newer);
        String named = env + "; export JAVA_HOME=" + jdk21;
        assertTrue(bash(home, named + options).contains("SharedArchiveFile"), "JAVA_HOME names the Java that made it");
        Files.writeString(jdk21.resolve("release"), "JAVA_VERSION=\"21.0.6\"\nJAVA_RUNTIME_VERSION=\"21.0.6+7\"\n");
        String updated = bash(home, named + options);
        assertTrue(updated.startsWith(note) && updated.endsWith("\n[]"), "that JDK updated in place since: " + updated);
    }

    /** The shell's Java settings for a test: the java on the PATH is onPath's, the JDKs are under jdks. */
    private static String javaEnvironment(Path onPath, Path jdks) {
        return "set -euo pipefail; unset JAVA_HOME GYOCS_JAVA; export PATH=" + onPath.resolve("bin") + ":$PATH GYOCS_JVM_DIR=" + jdks;
    }

    /** A JDK as the scripts see it: bin/java and its release file. */
    private static Path fakeJdk(Path dir, String name, String version) throws Exception {
        Path jdk = Files.createDirectories(dir.resolve(name).resolve("bin"));
        executable(jdk.resolve("java"), "#!/bin/sh\necho \"" + name + "\"\n");
        Files.writeString(dir.resolve(name).resolve("release"),
                "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version + "\"\nJAVA_RUNTIME_VERSION=\"" + version + "+1\"\n");
        return dir.resolve(name);
    }

    /**
     * A build goes to a directory of its own that target/current then names, readable by every
     * user though bin/ocs.sh runs under umask 077 (root builds, the service's user runs); a
     * rebuild leaves the directory a running process uses as it is (a rebuild under a running
     * node rewrote its jar, and the node could no longer load the classes it had not loaded yet),
     * and removes the others but the one before. Maven is a stand-in that writes the jar.
     */
    @Test
    void eachBuildRunsFromADirectoryOfItsOwnThatLaterBuildsLeaveAlone() throws Exception {
        Path home = withCommonSh("builds");
        Files.createDirectories(home.resolve("config"));
        Path version = home.resolve("src/main/version");
        Path fakeBin = fakeMaven("fake-bin");
        String build = "export PATH=" + fakeBin + ":$PATH; umask 077; . bin/lib/common.sh && gyocs_ensure_built "
                + "2>/dev/null && readlink -f target/current";
        java.util.List<String> builds = new java.util.ArrayList<>();
        Process running = null;
        try {
            for (int i = 1; i <= 4; i++) {
                Files.writeString(version, String.valueOf(i));
                // newer than the last build's stamp, whatever the file system's time resolution
                Files.setLastModifiedTime(version, java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(5L * i)));
                String dir = bash(home, build);
                builds.add(dir);
                assertEquals("build " + i, Files.readString(Path.of(dir, "gy-ocs.jar")).trim());
                assertEquals("a library", Files.readString(Path.of(dir, "lib/dep.jar")).trim());
                String modes = java.nio.file.attribute.PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(Path.of(dir, "gy-ocs.jar")))
                        + java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(dir)));
                assertEquals("rw-r--r--rwxr-xr-x", modes, "readable by the service's user");
                if (i == 1) { // a process started from the first build, still running (cat waits for its input)
                    running = new ProcessBuilder("cat", "-", dir + "/gy-ocs.jar").start();
                }
            }
            assertEquals(4, new java.util.HashSet<>(builds).size(), "a directory per build: " + builds);
            assertTrue(Files.isDirectory(Path.of(builds.get(0))), "in use: left alone");
            assertEquals("build 1", Files.readString(Path.of(builds.get(0), "gy-ocs.jar")).trim());
            assertFalse(Files.exists(Path.of(builds.get(1))), "neither in use nor the one before the newest");
            assertTrue(Files.isDirectory(Path.of(builds.get(2))), "the one before the newest");
            assertEquals(builds.get(3), home.resolve("target/current").toRealPath().toString());
        } finally {
            if (running != null) {
                running.destroyForcibly();
            }
        }
    }

    /**
     * A folder holding a stand-in Maven: its package, as far as the scripts see it, writes the jar
     * in place ("build" and src/main/version) and a library.
     */
    private Path fakeMaven(String name) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve(name));
        executable(bin.resolve("mvn"), """
                #!/bin/bash
                while [ $# -gt 0 ]; do [ "$1" = -f ] && home=$(dirname "$2"); shift; done
                mkdir -p "$home/target/lib" && echo "a library" > "$home/target/lib/dep.jar" \
                    && echo "build $(cat "$home/src/main/version" 2>/dev/null)" > "$home/target/gy-ocs.jar"
                """);
        return bin;
    }

    private static void executable(Path file, String script) throws Exception {
        Files.writeString(file, script);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** An installation of bin/lib/common.sh and what a build is made from (empty), to run its functions in. */
    private Path withCommonSh(String name) throws Exception {
        Path home = tmp.resolve(name);
        Files.createDirectories(home.resolve("bin/lib"));
        Files.copy(Path.of("bin/lib/common.sh"), home.resolve("bin/lib/common.sh"));
        Files.createDirectories(home.resolve("src/main"));
        Files.createDirectories(home.resolve("dictionary"));
        Files.writeString(home.resolve("pom.xml"), "<project/>");
        return home;
    }

    static String bash(Path dir, String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", script).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return out;
    }

    /**
     * Issue 10, item 3: the client and the load generator address the realm the node gives in its
     * CEA (against --realm lab.net they sent example.com and got only 3003), and a failure says
     * what it was.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void clientAndBenchFindTheNodesRealmAndSayWhatWentWrong(boolean mock) throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.lab.net").realm("lab.net").config(Path.of("config/jdiameter-config.xml"))
                .store(org.gyocs.testing.Stores.freshH2()).build();
        app.start(false);
        try {
            String port = String.valueOf(app.getPort());
            Result client = run(ClientCommand.class, "--port", port, "--count", "1");
            assertEquals(0, client.exit(), client.out() + client.err());
            assertTrue(client.out().contains("PASS"), client.out());
            Result bench = run(BenchCommand.class, "--port", port, "-n", "20", "-m", "session");
            assertEquals(0, bench.exit(), bench.out() + bench.err());
            if (!mock) { // mock mode answers any realm (issue 10, item 2)
                Result wrong = run(ClientCommand.class, "--port", port, "--count", "1", "--destination-realm", "example.com");
                assertEquals(1, wrong.exit());
                assertTrue(wrong.err().contains("3003 DIAMETER_REALM_NOT_SERVED: the node does not serve realm example.com"),
                        wrong.err());
                Result wrongBench = run(BenchCommand.class, "--port", port, "-n", "5", "--destination-realm", "example.com");
                assertEquals(1, wrongBench.exit());
                assertTrue(wrongBench.out().contains("what went wrong: 3003 DIAMETER_REALM_NOT_SERVED: the node serves realm lab.net"),
                        wrongBench.out());
            }
        } finally {
            app.stop();
        }
        GyDiameterApplication strict = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(mock)
                .host("ocs.lab.net").realm("lab.net").config(Path.of("config/jdiameter-config.xml"))
                .store(org.gyocs.testing.Stores.freshH2()).peers(org.gyocs.node.PeerAllowList.parse("pgw.lab.net"))
                .build();
        strict.start(false);
        try {
            Result refused = run(ClientCommand.class, "--port", String.valueOf(strict.getPort()), "--count", "1");
            assertEquals(1, refused.exit());
            assertTrue(refused.err().contains("refused our CER (Origin-Host gy-client.example.com) with Result-Code 3010"),
                    refused.err());
            Result bench = run(BenchCommand.class, "--port", String.valueOf(strict.getPort()), "-n", "5", "-d", "2");
            assertEquals(1, bench.exit());
            assertTrue(bench.out().contains("refused our CER (Origin-Host bench.test.local) with Result-Code 3010"),
                    bench.out());
        } finally {
            strict.stop();
        }
    }
}
