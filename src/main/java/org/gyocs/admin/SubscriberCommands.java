package org.gyocs.admin;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import org.gyocs.core.rating.Tariff;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.store.Bucket;
import org.gyocs.store.JdbcBalanceStore;
import org.gyocs.store.SubscriberCsv;
import org.gyocs.store.UsageRecords;

/**
 * The subscriber commands of {@code bin/ocs-admin.sh}, run on a balance store: by ocs-admin itself
 * when no node holds the store, by the node (through its {@link AdminChannel}) when one does.
 */
public final class SubscriberCommands {
    public static final String USAGE = """
            usage: ocs-admin.sh [--store URL] [--ocs-config FILE] COMMAND
              list                                   subscribers and their balances
              show SUBSCRIBER                        the buckets of one subscriber
              add SUBSCRIBER UNIT AMOUNT [RG] [EXPIRES]
                                                     a new bucket (unit octets|seconds|units|money; RG, EXPIRES optional)
              topup SUBSCRIBER UNIT AMOUNT [RG]      adds to the bucket of that unit and rating group
              delete SUBSCRIBER                      the subscriber and all its buckets
              import FILE                            a CSV (subscriber,unit,amount,rating_group,expires[,plan]);
                                                     replaces the buckets of the subscribers it names
              plan SUBSCRIBER [PLAN|-]               shows or sets the tariff plan (-: none, the default plan)
              tariffs                                the tariffs, as a CSV
              tariffs import FILE                    a tariff CSV (plan,rating_group,unit,price,per,currency[,from,to]);
                                                     replaces every tariff
              usage SUBSCRIBER [--since TIME] [--csv]
                                                     its rated usage records (TIME: 2026-12-02 or an instant)
              usage --day DATE [--csv]               every record that started that day (UTC): the day's export
              status                                 the running node: healthy or not, sessions, answers
                                                     (exit 0 healthy, 1 its store has failed, 3 no node runs)
            The store is --store, else 'store' of config/ocs.properties, else the embedded store in data/;
            while a node runs on the embedded store, the command runs in the node (data/admin.sock).""";

    private SubscriberCommands() {
    }

    /** A command and what it reads: the CSV of an import travels with it (the node may not read the caller's files). */
    public record Request(List<String> args, byte[] attachment) {
        public Request {
            args = List.copyOf(args);
            attachment = attachment == null ? new byte[0] : attachment;
        }

        /** The arguments as given on the command line; an import's file is read here, by the caller. */
        public static Request of(List<String> args) throws IOException {
            if (!args.isEmpty() && args.get(0).equals("import") && args.size() >= 2) {
                return new Request(args, Files.readAllBytes(Path.of(args.get(1))));
            }
            if (args.size() >= 3 && args.get(0).equals("tariffs") && args.get(1).equals("import")) {
                return new Request(args, Files.readAllBytes(Path.of(args.get(2))));
            }
            return new Request(args, null);
        }
    }

    /**
     * Runs one command.
     *
     * @return the exit status: 0 done, 1 refused (the reason is on {@code err})
     */
    public static int execute(JdbcBalanceStore store, Request request, PrintStream out, PrintStream err) {
        try {
            return run(store, request, out, err);
        } catch (IllegalArgumentException | IOException e) {
            err.println("Error: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) { // a StoreException among others: say it, never a stack trace
            err.println("Error: " + e.getMessage());
            return 1;
        }
    }

    private static int run(JdbcBalanceStore store, Request request, PrintStream out, PrintStream err) throws IOException {
        List<String> a = request.args();
        if (a.isEmpty()) {
            throw new IllegalArgumentException("no command\n" + USAGE);
        }
        String cmd = a.get(0);
        switch (cmd) {
            case "list" -> {
                for (String s : store.subscribers()) {
                    out.println(s + "  " + summary(store.buckets(s)));
                }
                return 0;
            }
            case "show" -> {
                need(a, 2);
                List<Bucket> buckets = store.buckets(a.get(1));
                if (buckets.isEmpty() && !store.subscribers().contains(a.get(1))) {
                    err.println("Error: no subscriber " + a.get(1));
                    return 1;
                }
                out.println("subscriber " + a.get(1) + "  plan " + store.plan(a.get(1)).orElse("(none: default)"));
                out.printf("%-6s %-8s %15s %15s %12s %s%n", "bucket", "unit", "amount", "reserved", "rating_group", "expires");
                for (Bucket b : buckets) {
                    out.printf("%-6d %-8s %15d %15d %12s %s%n", b.id(), Bucket.unitName(b.unit()), b.amount(),
                            b.reserved(), b.ratingGroup() == null ? "-" : b.ratingGroup(),
                            expiry(b.expires()));
                }
                return 0;
            }
            case "add" -> {
                need(a, 4);
                String row = a.get(1) + "," + a.get(2) + "," + a.get(3) + "," + (a.size() > 4 ? a.get(4) : "") + ","
                        + (a.size() > 5 ? a.get(5) : "");
                store.add(List.of(SubscriberCsv.row(row)), false);
                out.println("added " + row);
                return 0;
            }
            case "topup" -> {
                need(a, 4);
                Bucket b = SubscriberCsv.row(a.get(1) + "," + a.get(2) + "," + a.get(3) + "," + (a.size() > 4 ? a.get(4) : "") + ",");
                store.credit(b.subscriber(), b.unit(), b.ratingGroup(), b.amount());
                out.println("topped up " + b.subscriber() + " by " + b.amount() + " " + Bucket.unitName(b.unit()));
                return 0;
            }
            case "delete" -> {
                need(a, 2);
                if (!store.delete(a.get(1))) {
                    err.println("Error: no subscriber " + a.get(1));
                    return 1;
                }
                out.println("deleted " + a.get(1));
                return 0;
            }
            case "import" -> {
                need(a, 2);
                SubscriberCsv.Provisioning p = SubscriberCsv.read(request.attachment(), a.get(1));
                store.add(p.buckets(), p.plans(), true);
                out.println("imported " + p.buckets().size() + " buckets" + (p.namedPlans() == 0 ? "" : ", " + p.namedPlans() + " plans"));
                return 0;
            }
            case "usage" -> {
                need(a, 2);
                String subscriber = null;
                Instant since = Instant.EPOCH;
                Instant until = Instant.now().plusSeconds(86_400);
                boolean csv = false;
                for (int i = 1; i < a.size(); i++) {
                    switch (a.get(i)) {
                        case "--csv" -> csv = true;
                        case "--since" -> since = UsageRecords.time("--since", value(a, ++i));
                        case "--day" -> {
                            since = UsageRecords.time("--day", value(a, ++i));
                            until = since.plusSeconds(86_400);
                        }
                        default -> {
                            if (subscriber != null || a.get(i).startsWith("-")) {
                                throw new IllegalArgumentException("usage takes SUBSCRIBER [--since TIME] [--csv], "
                                        + "or --day DATE [--csv], not '" + a.get(i) + "'");
                            }
                            subscriber = a.get(i);
                        }
                    }
                }
                if (subscriber == null && until.minusSeconds(86_400).isAfter(since)) {
                    throw new IllegalArgumentException("usage needs a SUBSCRIBER, or --day DATE for everyone's records");
                }
                List<UsageRecords.UsageRecord> records = store.usage(subscriber, since, until, MAX_USAGE_RECORDS);
                if (csv) {
                    out.print(UsageRecords.csv(records));
                    return 0;
                }
                for (UsageRecords.UsageRecord r : records) {
                    out.println(r.started() + "  " + r.kind() + "  " + r.sessionId() + "  "
                            + (r.ended() == null ? "open" : "ended " + r.ended() + " " + r.resultCode() + " "
                            + (r.terminationCause() == null ? "" : r.terminationCause())));
                    for (UsageRecords.Line l : r.lines()) {
                        out.println("    rg " + (l.ratingGroup() == null ? "-" : l.ratingGroup()) + "  " + l.units() + " "
                                + l.unit() + (l.currency() == null ? "" : "  " + l.cost() + " " + l.currency() + " minor units"));
                    }
                }
                if (records.isEmpty()) {
                    out.println("(no usage records)");
                }
                return 0;
            }
            case "plan" -> {
                need(a, 2);
                if (a.size() == 2) {
                    if (!store.subscribers().contains(a.get(1))) {
                        err.println("Error: no subscriber " + a.get(1));
                        return 1;
                    }
                    out.println(store.plan(a.get(1)).orElse("(none: default)"));
                    return 0;
                }
                String plan = a.get(2).equals("-") ? null : TariffCsv.plan(a.get(2));
                if (!store.setPlan(a.get(1), plan)) {
                    err.println("Error: no subscriber " + a.get(1));
                    return 1;
                }
                out.println("plan of " + a.get(1) + ": " + (plan == null ? "(none: default)" : plan));
                return 0;
            }
            case "tariffs" -> {
                if (a.size() == 1) {
                    out.print(TariffCsv.write(store.tariffs()));
                    return 0;
                }
                if (!a.get(1).equals("import") || a.size() < 3) {
                    throw new IllegalArgumentException("'tariffs' takes nothing, or import FILE\n" + USAGE);
                }
                List<Tariff> rows = TariffCsv.parse(new String(request.attachment(), StandardCharsets.UTF_8).lines().toList(),
                        a.get(2));
                store.replaceTariffs(rows);
                out.println("imported " + rows.size() + " tariffs of " + rows.stream().map(Tariff::plan).distinct().count()
                        + " plans");
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

    /** The most records one usage command prints (a day's export of a large node: use GET /usage by hours). */
    static final int MAX_USAGE_RECORDS = 1_000_000;

    private static String value(List<String> a, int i) {
        if (i >= a.size()) {
            throw new IllegalArgumentException("'" + a.get(i - 1) + "' needs a value\n" + USAGE);
        }
        return a.get(i);
    }

    private static void need(List<String> a, int n) {
        if (a.size() < n) {
            throw new IllegalArgumentException("'" + a.get(0) + "' needs more arguments\n" + USAGE);
        }
    }

    /**
     * A bucket's expiry as shown: an import's date (2027-12-31: valid through that day, UTC) is
     * stored as the next midnight, which alone reads as the wrong day; so the day goes beside it.
     */
    static String expiry(java.time.Instant expires) {
        if (expires == null) {
            return "-";
        }
        if (expires.getEpochSecond() % 86_400 == 0 && expires.getNano() == 0) {
            return expires + " (through " + java.time.LocalDate.ofInstant(expires.minusSeconds(1), java.time.ZoneOffset.UTC) + ")";
        }
        return expires.toString();
    }
}
