package org.gyocs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.core.UnitType;
import org.gyocs.store.Bucket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ocs-admin on the embedded store while a node holds it open. */
class AdminCommandTest {
    @TempDir
    Path data;

    String run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, AdminCommand.run(args), String.join(" ", args));
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void provisionWhileTheNodeRuns() throws Exception {
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).mock(true)
                .dataDir(data).build();
        app.start(false);
        try {
            String url = GyDiameterApplication.embeddedStore(data);
            assertTrue(run("--store", url, "import", "config/subscribers.example.csv").contains("imported 5 buckets"));
            // the CSV's 2027-12-31 is valid through that day: stored as the next midnight, shown with the day
            assertTrue(run("--store", url, "show", "491700000001").contains("2028-01-01T00:00:00Z (through 2027-12-31)"));
            run("--store", url, "add", "491700000099", "units", "7", "42");
            run("--store", url, "topup", "491700000099", "units", "3", "42");
            String show = run("--store", url, "show", "491700000099");
            assertTrue(show.matches("(?s).*units\\s+10\\s+0\\s+42.*"), show);
            // the running node sees what the admin wrote
            assertEquals(10, app.subscriberAdmin().buckets("491700000099").stream().mapToLong(Bucket::amount).sum());
            assertEquals(UnitType.UNITS, app.subscriberAdmin().buckets("491700000099").get(0).unit());
            assertTrue(run("--store", url, "list").contains("491700000002  3600 seconds"));
            run("--store", url, "delete", "491700000099");
            assertTrue(app.subscriberAdmin().buckets("491700000099").isEmpty());
            assertEquals(1, AdminCommand.run(new String[] {"--store", url, "delete", "491700000099"}), "no such subscriber");
            assertEquals(1, AdminCommand.run(new String[] {"--store", url, "add", "1", "octets", "5"}), "bad subscriber");
        } finally {
            app.stop();
        }
    }
}
