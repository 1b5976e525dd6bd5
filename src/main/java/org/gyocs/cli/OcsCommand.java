package org.gyocs.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.store.SubscriberCsv;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.node.TransportLimits;

/** {@code bin/ocs.sh}: runs the OCS node until SIGINT or SIGTERM. */
public final class OcsCommand {
    private OcsCommand() {
    }

    static Options options(Path defaultConfig) {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("host").hasArg().argName("FQDN")
                .desc("Origin-Host, our Diameter identity (default " + NodeSettings.DEFAULT_HOST + ")").get());
        o.addOption(Option.builder().longOpt("realm").hasArg().argName("REALM")
                .desc("Origin-Realm (default " + NodeSettings.DEFAULT_REALM + ")").get());
        o.addOption(Option.builder().longOpt("ip").hasArg().argName("ADDRESS")
                .desc("address to listen on (default " + NodeSettings.DEFAULT_BIND_ADDRESS + ")").get());
        o.addOption(Option.builder("p").longOpt("port").hasArg().argName("PORT")
                .desc("TCP port (default " + NodeSettings.DEFAULT_PORT + ")").get());
        o.addOption(Option.builder().longOpt("config").hasArg().argName("FILE")
                .desc("jDiameter XML configuration (default " + defaultConfig + ")").get());
        o.addOption(Option.builder().longOpt("ocs-config").hasArg().argName("FILE")
                .desc("charging configuration (default " + defaultConfig.resolveSibling("ocs.properties") + ")").get());
        o.addOption(Option.builder().longOpt("subscribers").hasArg().argName("CSV")
                .desc("import balance buckets at start (header " + SubscriberCsv.HEADER + ")").get());
        for (OcsConfiguration.Setting setting : OcsConfiguration.SETTINGS) {
            String def = setting.defaultValue();
            o.addOption(Option.builder().longOpt(setting.key()).hasArg().argName("VALUE")
                    .desc(setting.description() + (def.isEmpty() ? "" : " (default " + def + ")")).get());
        }
        TransportLimits d = TransportLimits.DEFAULT;
        o.addOption(Option.builder().longOpt("max-message").hasArg().argName("BYTES")
                .desc("larger messages close the connection, before they are read (default " + d.maxMessageBytes() + ")").get());
        o.addOption(Option.builder().longOpt("max-connections").hasArg().argName("N")
                .desc("connections beyond this are closed at once (default " + d.maxConnections() + ")").get());
        o.addOption(Option.builder().longOpt("watchdog").hasArg().argName("SECONDS")
                .desc("mock mode: Tw, DWR after this much silence (default " + d.watchdogMillis() / 1000 + ")").get());
        o.addOption(Option.builder().longOpt("stall-timeout").hasArg().argName("SECONDS")
                .desc("close a peer without CER or with half a message after this (default "
                        + d.stallMillis() / 1000 + ")").get());
        o.addOption(Option.builder().longOpt("stop-timeout").hasArg().argName("SECONDS")
                .desc("on SIGTERM, how long answers still being decided may delay the DPRs (default "
                        + d.drainMillis() / 1000 + "; then up to " + TransportLimits.DPA_WAIT_MILLIS / 1000
                        + " s for the DPAs)").get());
        o.addOption(Option.builder("v").longOpt("verbose").desc("log every request and answer").get());
        o.addOption(Option.builder("l").longOpt("listen").desc("listen for peers (what the node always does; accepted for compatibility)").get());
        o.addOption(Option.builder().longOpt("mock").desc("run on the built-in Diameter codec and NIO server instead of jDiameter").get());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").get());
        return o;
    }

    public static void main(String[] args) {
        CommandLineValues.exit(run(args));
    }

    static int run(String[] args) {
        Path defaultConfig = defaultConfig();
        Options options = options(defaultConfig);
        GyDiameterApplication app;
        try {
            CommandLine line = new DefaultParser().parse(options, args);
            if (line.hasOption("help")) {
                help(options);
                return 0;
            }
            if (!line.getArgList().isEmpty()) {
                throw new CommandLineValues.UsageException("unexpected argument '" + line.getArgList().get(0) + "' (see --help)");
            }
            CommandLineValues v = new CommandLineValues(line);
            if (line.hasOption("store-password")) {
                System.err.println("Warning: --store-password is visible to every local user in the process list; "
                        + "use store-password-file or the environment variable " + OcsConfiguration.PASSWORD_VARIABLE);
            }
            Map<String, String> overrides = new LinkedHashMap<>();
            for (String key : OcsConfiguration.DEFAULTS.keySet()) {
                if (line.hasOption(key)) {
                    overrides.put(key, line.getOptionValue(key));
                }
            }
            Path ocsConfig = line.hasOption("ocs-config") ? Path.of(line.getOptionValue("ocs-config"))
                    : defaultConfig.resolveSibling("ocs.properties");
            OcsConfiguration charging = OcsConfiguration.load(ocsConfig, line.hasOption("ocs-config"), overrides);
            Path home = System.getProperty("gyocs.home") == null ? Path.of("") : Path.of(System.getProperty("gyocs.home"));
            app = GyDiameterApplication.builder()
                    .host(v.string("host", NodeSettings.DEFAULT_HOST))
                    .realm(v.string("realm", NodeSettings.DEFAULT_REALM))
                    .ip(v.string("ip", NodeSettings.DEFAULT_BIND_ADDRESS))
                    .port((int) v.number("port", NodeSettings.DEFAULT_PORT, 1, 65535))
                    .config(Path.of(v.string("config", defaultConfig.toString())))
                    .charging(charging.chargingPolicy())
                    .store(charging.store())
                    .storeCredentials(charging.storeUser(), charging.storePassword())
                    .answerDeadline(charging.answerDeadline())
                    .nodeTimeout(charging.nodeTimeout())
                    .peers(charging.allowedPeers())
                    .tls(charging.tls())
                    .admin(charging.admin())
                    .accessLog(charging.accessLog())
                    .behaviours(charging.behavioursFile())
                    .testControl(charging.testControl())
                    .requestsKept(charging.requestsKept())
                    .tariffs(charging.tariffsFile())
                    .timeZone(charging.timeZone())
                    .usageRetention(charging.usageRetention())
                    .dataDir(home.resolve("data"))
                    .subscribers(line.hasOption("subscribers") ? Path.of(line.getOptionValue("subscribers")) : null)
                    .limits(new TransportLimits(
                            (int) v.number("max-message", TransportLimits.DEFAULT.maxMessageBytes(), 20, 16_777_215),
                            (int) v.number("max-connections", TransportLimits.DEFAULT.maxConnections(), 1, 1_000_000),
                            1000 * v.number("watchdog", TransportLimits.DEFAULT.watchdogMillis() / 1000, 6, 86_400),
                            1000 * v.number("stall-timeout", TransportLimits.DEFAULT.stallMillis() / 1000, 1, 3_600),
                            1000 * v.number("stop-timeout", TransportLimits.DEFAULT.drainMillis() / 1000, 0, 3_600)))
                    .verbose(v.flag("verbose"))
                    .mock(v.flag("mock"))
                    .build();
        } catch (ParseException | CommandLineValues.UsageException | IllegalArgumentException e) {
            System.err.println("Error: " + e.getMessage());
            System.err.println("Try 'ocs.sh --help' for the options.");
            return 1;
        } catch (java.io.IOException e) {
            System.err.println("Error: cannot read the charging configuration: " + e.getMessage());
            return 1;
        }
        // SIGINT/SIGTERM: stop gracefully (DPR to peers, statistics) and exit 0, which a JVM
        // shutdown hook cannot do (the JVM would exit 130/143).
        Signals.onTermination(() -> new Thread(app::stop, "ocs-signal-stop").start());
        try {
            app.start(true);
            if (app.failure() != null) {
                System.err.println("Error: the node stopped: " + app.failure());
                return 1; // systemd restarts it (Restart=always)
            }
            return 0;
        } catch (NodeStartException e) {
            System.err.println("Error starting server: " + e.getMessage());
            return 1;
        }
    }

    /** config/jdiameter-config.xml of the installation (bin/ocs.sh passes gyocs.home), else of the working directory. */
    static Path defaultConfig() {
        String home = System.getProperty("gyocs.home");
        return home == null ? NodeSettings.DEFAULT_CONFIG : Path.of(home).resolve(NodeSettings.DEFAULT_CONFIG);
    }

    private static void help(Options options) {
        CommandLineValues.printHelp(options, "ocs.sh [options]",
                "Runs the gy-ocs Online Charging System node (Diameter Gy, RFC 4006).\n\n",
                "\nCommand-line values override the configuration file. Stop with Ctrl-C or SIGTERM.");
    }
}
