package org.gyocs.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.gyocs.bench.LoadGenerator;
import org.gyocs.bench.LoadResult;
import org.gyocs.bench.LoadSettings;
import org.gyocs.store.Bucket;
import org.gyocs.store.SubscriberCsv;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** {@code bin/ocs-bench.sh}: Gy load with latency percentiles. Exit 0 when every answer was 2xxx. */
public final class BenchCommand {

    private BenchCommand() {
    }

    static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("host").hasArg().desc("target (default 127.0.0.1; 127.0.0.0/8 only unless --allow-remote)").get());
        o.addOption(Option.builder("p").longOpt("port").hasArg().desc("target port (default 3868)").get());
        o.addOption(Option.builder("c").longOpt("connections").hasArg().desc("TCP connections (default 1)").get());
        o.addOption(Option.builder("k").longOpt("in-flight").hasArg().desc("requests in flight, over all connections (default 50)").get());
        o.addOption(Option.builder("n").longOpt("sessions").hasArg().desc("sessions (or events) to run (default: until --duration)").get());
        o.addOption(Option.builder("d").longOpt("duration").hasArg().desc("seconds; no new session after this (default 10, at most 3600)").get());
        o.addOption(Option.builder("m").longOpt("mode").hasArg().desc("session (CCR-I, U..., T) or event (default session)").get());
        // bin/ocs-client.sh's spelling: a user who ran the client's events tries the same flag here
        o.addOption(Option.builder().longOpt("event").desc("events: the same as -m event").get());
        o.addOption(Option.builder("u").longOpt("updates").hasArg().desc("CCR-U per session (default 1)").get());
        o.addOption(Option.builder().longOpt("subscribers").hasArg().desc("CSV of subscribers (ocs-admin format) used in turn").get());
        o.addOption(Option.builder().longOpt("subscriber-range").hasArg().argName("FIRST:COUNT")
                .desc("MSISDNs FIRST..FIRST+COUNT-1 used in turn (default 491720000000:100000)").get());
        o.addOption(Option.builder("r").longOpt("rate").hasArg().desc("sessions or events started per second (open loop; default closed loop)").get());
        o.addOption(Option.builder().longOpt("timeout").hasArg().desc("answer timeout, ms (default 5000)").get());
        o.addOption(Option.builder().longOpt("destination-realm").hasArg()
                .desc("Destination-Realm (default: the realm the node gives in its CEA)").get());
        o.addOption(Option.builder().longOpt("origin-host").hasArg().desc("our Origin-Host (default bench.test.local)").get());
        o.addOption(Option.builder().longOpt("json").hasArg().desc("write the results to this JSON file").get());
        o.addOption(Option.builder().longOpt("warmup").hasArg().argName("N")
                .desc("sessions (or events) run first, on connections of their own, and not counted: the JIT of "
                        + "this client and of the node warms up before the measured run (default 0)").get());
        o.addOption(Option.builder().longOpt("hold").desc("session mode: no CCR-T, the sessions stay open on the node").get());
        o.addOption(Option.builder().longOpt("allow-remote").desc("allow a target outside 127.0.0.0/8").get());
        o.addOption(Option.builder("h").longOpt("help").get());
        return o;
    }

    public static void main(String[] args) {
        CommandLineValues.exit(run(args));
    }

    static int run(String[] args) {
        LoadSettings settings;
        long warmup;
        try {
            CommandLine line = new DefaultParser().parse(options(), args);
            if (line.hasOption("help")) {
                CommandLineValues.printHelp(options(), "ocs-bench.sh [options]",
                        "Gy load generator: CCR/s and latency percentiles.\n\n", "");
                return 0;
            }
            CommandLineValues v = new CommandLineValues(line);
            String host = v.string("host", "127.0.0.1");
            if (!line.hasOption("allow-remote") && !InetAddress.getByName(host).isLoopbackAddress()) {
                throw new CommandLineValues.UsageException("refusing to load " + host
                        + ": load goes to 127.0.0.0/8 only (--allow-remote to override)");
            }
            String mode = v.string("mode", line.hasOption("event") ? "event" : "session");
            if (!mode.equals("session") && !mode.equals("event")) {
                throw new CommandLineValues.UsageException("--mode must be session or event");
            }
            if (line.hasOption("event") && !mode.equals("event")) {
                throw new CommandLineValues.UsageException("--event and --mode " + mode + " disagree");
            }
            long sessions = v.number("sessions", 0, 0, 100_000_000);
            double duration = v.number("duration", sessions > 0 ? 3600 : 10, 1, 3600);
            settings = new LoadSettings(host, (int) v.number("port", 3868, 1, 65535),
                    (int) v.number("connections", 1, 1, 1000), (int) v.number("in-flight", 50, 1, 100_000), sessions,
                    duration, mode.equals("event"), (int) v.number("updates", 1, 0, 1000), subscribers(line),
                    v.number("rate", 0, 0, 10_000_000), v.number("timeout", 5000, 1, 600_000),
                    v.string("destination-realm", null), v.string("origin-host", "bench.test.local"),
                    line.hasOption("json") ? Path.of(line.getOptionValue("json")) : null, line.hasOption("hold"));
            warmup = v.number("warmup", 0, 0, 100_000_000);
        } catch (ParseException | CommandLineValues.UsageException | IllegalArgumentException | IOException e) {
            System.err.println("Error: " + e.getMessage());
            return 2;
        }
        System.out.printf("ocs-bench: %s:%d, %d connection(s), %d in flight, %s mode%s, %s%n", settings.host(),
                settings.port(), settings.connections(), settings.inFlight(), settings.eventMode() ? "event" : "session",
                settings.eventMode() ? "" : " (" + settings.updates() + " update(s))",
                settings.rate() > 0 ? settings.rate() + " per second (open loop)" : "closed loop");
        LoadResult r;
        try {
            if (warmup > 0) {
                // the same load, but a cold client JVM measures mostly its own compilations: a run
                // of 30,000 CCRs had its p99 at 7-9 ms against the kit's C client's 4.3
                LoadResult w = new LoadGenerator(warmedUpBy(settings, warmup), null).run();
                System.out.printf("ocs-bench: warm-up: %d sent, %d answered, %d errors, %.0f CCR/s (not counted)%n",
                        w.sent(), w.answered(), w.errors() + w.timeouts(), w.ccrPerSecond());
                if (w.answered() == 0) {
                    System.out.println("ocs-bench: what went wrong: " + String.join("; ", w.problems()));
                    System.out.println("ocs-bench: FAIL (nothing answered in the warm-up)");
                    return 1;
                }
            }
            r = new LoadGenerator(settings, System.console() != null ? System.out : null).run();
        } catch (IOException e) {
            System.err.println("Error: " + (e instanceof java.net.ConnectException
                    ? "Connection refused. Is the server running on " + settings.host() + ":" + settings.port() + "?"
                    : e.getMessage()));
            return 1;
        }
        System.out.println(r.summary());
        if (settings.json() != null) {
            try {
                Files.writeString(settings.json(), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(r.toMap()));
            } catch (IOException e) {
                System.err.println("Error: cannot write " + settings.json() + ": " + e.getMessage());
                return 1;
            }
        }
        boolean ok = r.answered() == r.sent() && r.timeouts() == 0 && r.errors() == 0 && r.answered() > 0;
        System.out.println("ocs-bench: " + (ok ? "PASS" : "FAIL"));
        return ok ? 0 : 1;
    }

    /**
     * The measured run's settings for {@code sessions} sessions (or events), paced by its rate,
     * without a JSON file; its sessions end (no --hold), so the measured run finds the node as it was.
     */
    private static LoadSettings warmedUpBy(LoadSettings s, long sessions) {
        return new LoadSettings(s.host(), s.port(), s.connections(), s.inFlight(), sessions, 3600, s.eventMode(),
                s.updates(), s.subscribers(), s.rate(), s.timeoutMillis(), s.destinationRealm(), s.originHost(), null,
                false);
    }

    private static List<String> subscribers(CommandLine line) throws IOException {
        List<String> out = new ArrayList<>();
        if (line.hasOption("subscribers")) {
            for (Bucket b : SubscriberCsv.read(Path.of(line.getOptionValue("subscribers"))).buckets()) {
                if (out.isEmpty() || !out.get(out.size() - 1).equals(b.subscriber())) {
                    out.add(b.subscriber());
                }
            }
            if (out.isEmpty()) {
                throw new IllegalArgumentException("no subscriber in " + line.getOptionValue("subscribers"));
            }
            return out;
        }
        String[] range = line.getOptionValue("subscriber-range", "491720000000:100000").split(":");
        try {
            long first = Long.parseLong(range[0]);
            int count = Integer.parseInt(range[1]);
            int width = range[0].length();
            for (int i = 0; i < count; i++) {
                out.add(String.format("%0" + width + "d", first + i));
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--subscriber-range must be FIRST:COUNT, e.g. 491720000000:1000");
        }
        return out;
    }
}
