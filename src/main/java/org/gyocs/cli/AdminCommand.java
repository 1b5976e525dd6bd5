package org.gyocs.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.gyocs.admin.AdminChannel;
import org.gyocs.admin.SubscriberCommands;
import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.StoreException;

/**
 * {@code bin/ocs-admin.sh}: lists, shows, adds, tops up and deletes subscribers in the balance
 * store, also while the node runs: on the embedded store the command then runs inside the node,
 * through its admin socket (data/admin.sock, only for the node's own user); on PostgreSQL, which
 * is shared anyway, on the database directly.
 */
public final class AdminCommand {
    static final String USAGE = SubscriberCommands.USAGE;

    private AdminCommand() {
    }

    public static void main(String[] args) {
        CommandLineValues.exit(run(args));
    }

    static int run(String[] args) {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("store").hasArg().desc("balance store JDBC URL").get());
        o.addOption(Option.builder().longOpt("store-user").hasArg().get());
        o.addOption(Option.builder().longOpt("store-password").hasArg().get());
        o.addOption(Option.builder().longOpt("ocs-config").hasArg().get());
        o.addOption(Option.builder("h").longOpt("help").get());
        CommandLine line;
        try {
            // the command's own options (usage --since, --csv) follow it: parsing stops at the command
            line = new DefaultParser().parse(o, args, true);
        } catch (ParseException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
        List<String> a = line.getArgList();
        if (line.hasOption("help") || a.isEmpty()) {
            System.out.println(USAGE);
            return a.isEmpty() && !line.hasOption("help") ? 1 : 0;
        }
        Path home = Path.of(System.getProperty("gyocs.home", ""));
        String url;
        String user;
        String password;
        try {
            Path cfg = line.hasOption("ocs-config") ? Path.of(line.getOptionValue("ocs-config"))
                    : home.resolve("config/ocs.properties");
            OcsConfiguration c = OcsConfiguration.load(cfg, line.hasOption("ocs-config"), Map.of());
            url = line.getOptionValue("store", c.store());
            user = line.getOptionValue("store-user", c.storeUser());
            password = line.getOptionValue("store-password", c.storePassword(url));
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
        if (url == null || url.isBlank()) {
            url = GyDiameterApplication.embeddedStore(home.resolve("data"));
        }
        SubscriberCommands.Request request;
        try {
            request = SubscriberCommands.Request.of(a);
        } catch (IOException e) {
            System.err.println("Error: cannot read " + e.getMessage());
            return 1;
        }
        Optional<Path> embedded = JdbcBalanceStore.embeddedDirectory(url);
        if (embedded.isPresent()) {
            Path socket = AdminChannel.socketIn(embedded.get());
            try {
                Optional<AdminChannel.Response> r = AdminChannel.call(socket, request);
                if (r.isPresent()) {
                    System.out.print(r.get().out());
                    System.err.print(r.get().err());
                    return r.get().exitStatus();
                }
            } catch (IOException e) {
                System.err.println("Error: the node on " + embedded.get() + " did not answer on " + socket + ": "
                        + e.getMessage() + " (ocs-admin must run as the node's user)");
                return 1;
            }
        }
        if (a.get(0).equals("status")) {
            // a question for a running node, which answered above when there is one
            if (embedded.isEmpty()) {
                // nodes on a shared store have no socket here: whether one runs is not known
                System.err.println("Error: status asks the node on the embedded store; the nodes of a shared "
                        + "store answer it over HTTP, each on its admin port: GET /health");
                return 2;
            }
            System.err.println("Error: no node runs on " + embedded.get());
            return 3;
        }
        try (JdbcBalanceStore store = JdbcBalanceStore.openForAdministration(url, blank(user), blank(password))) {
            return SubscriberCommands.execute(store, request, System.out, System.err);
        } catch (StoreException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
    }

    private static String blank(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
