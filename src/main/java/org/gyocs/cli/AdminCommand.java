package org.gyocs.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.StoreException;
import org.gyocs.store.SubscriberCsv;

/**
 * {@code bin/ocs-admin.sh}: lists, shows, adds, tops up and deletes subscribers in the balance
 * store, also while the node runs (the embedded store is opened in H2's auto-server mode, so
 * the node and this command share it; PostgreSQL is shared anyway).
 */
public final class AdminCommand {
    static final String USAGE = """
            usage: ocs-admin.sh [--store URL] [--ocs-config FILE] COMMAND
              list                                   subscribers and their balances
              show SUBSCRIBER                        the buckets of one subscriber
              add SUBSCRIBER UNIT AMOUNT [RG] [EXPIRES]
                                                     a new bucket (unit octets|seconds|units; RG, EXPIRES optional)
              topup SUBSCRIBER UNIT AMOUNT [RG]      adds to the bucket of that unit and rating group
              delete SUBSCRIBER                      the subscriber and all its buckets
              import FILE                            a CSV (subscriber,unit,amount,rating_group,expires);
                                                     replaces the buckets of the subscribers it names
            The store is --store, else 'store' of config/ocs.properties, else the embedded store in data/.""";

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
            line = new DefaultParser().parse(o, args);
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
            password = line.getOptionValue("store-password", c.storePassword());
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
        if (url == null || url.isBlank()) {
            url = GyDiameterApplication.embeddedStore(home.resolve("data"));
        }
        try (JdbcBalanceStore store = JdbcBalanceStore.openForAdministration(url, blank(user), blank(password))) {
            return execute(store, a);
        } catch (StoreException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
    }

    private static int execute(JdbcBalanceStore store, List<String> a) throws IOException {
        String cmd = a.get(0);
        switch (cmd) {
            case "list" -> {
                for (String s : store.subscribers()) {
                    System.out.println(s + "  " + summary(store.buckets(s)));
                }
                return 0;
            }
            case "show" -> {
                need(a, 2);
                List<Bucket> buckets = store.buckets(a.get(1));
                if (buckets.isEmpty() && !store.subscribers().contains(a.get(1))) {
                    System.err.println("Error: no subscriber " + a.get(1));
                    return 1;
                }
                System.out.println("subscriber " + a.get(1));
                System.out.printf("%-6s %-8s %15s %15s %12s %s%n", "bucket", "unit", "amount", "reserved", "rating_group", "expires");
                for (Bucket b : buckets) {
                    System.out.printf("%-6d %-8s %15d %15d %12s %s%n", b.id(), Bucket.unitName(b.unit()), b.amount(),
                            b.reserved(), b.ratingGroup() == null ? "-" : b.ratingGroup(),
                            b.expires() == null ? "-" : b.expires());
                }
                return 0;
            }
            case "add" -> {
                need(a, 4);
                String row = a.get(1) + "," + a.get(2) + "," + a.get(3) + "," + (a.size() > 4 ? a.get(4) : "") + ","
                        + (a.size() > 5 ? a.get(5) : "");
                store.add(List.of(SubscriberCsv.row(row)), false);
                System.out.println("added " + row);
                return 0;
            }
            case "topup" -> {
                need(a, 4);
                Bucket b = SubscriberCsv.row(a.get(1) + "," + a.get(2) + "," + a.get(3) + "," + (a.size() > 4 ? a.get(4) : "") + ",");
                store.credit(b.subscriber(), b.unit(), b.ratingGroup(), b.amount());
                System.out.println("topped up " + b.subscriber() + " by " + b.amount() + " " + Bucket.unitName(b.unit()));
                return 0;
            }
            case "delete" -> {
                need(a, 2);
                if (!store.delete(a.get(1))) {
                    System.err.println("Error: no subscriber " + a.get(1));
                    return 1;
                }
                System.out.println("deleted " + a.get(1));
                return 0;
            }
            case "import" -> {
                need(a, 2);
                List<Bucket> buckets = SubscriberCsv.read(Path.of(a.get(1)));
                store.add(buckets, true);
                System.out.println("imported " + buckets.size() + " buckets");
                return 0;
            }
            default -> throw new IllegalArgumentException("unknown command '" + cmd + "'\n" + USAGE);
        }
    }

    private static String summary(List<Bucket> buckets) {
        StringBuilder sb = new StringBuilder();
        for (Bucket b : buckets) {
            sb.append(sb.length() == 0 ? "" : ", ").append(b.amount() - b.reserved()).append(' ')
                    .append(Bucket.unitName(b.unit())).append(b.ratingGroup() == null ? "" : " rg" + b.ratingGroup());
        }
        return sb.length() == 0 ? "(no buckets)" : sb.toString();
    }

    private static void need(List<String> a, int n) {
        if (a.size() < n) {
            throw new IllegalArgumentException("'" + a.get(0) + "' needs more arguments\n" + USAGE);
        }
    }

    private static String blank(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
