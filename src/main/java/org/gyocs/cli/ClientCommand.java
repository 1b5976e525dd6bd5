package org.gyocs.cli;

import java.util.Map;
import java.util.TreeMap;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.gyocs.client.ClientException;
import org.gyocs.client.GyTestClient;
import org.gyocs.core.RequestType;
import org.gyocs.core.ResultCode;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpDataException;
import org.jdiameter.api.AvpSet;

/**
 * {@code bin/ocs-client.sh}: sends N credit-control sessions (CCR-I, CCR-U, CCR-T) or N events
 * to an OCS and prints every answer. Exit 0 only when every answer is 2001.
 */
public final class ClientCommand {
    static final String DEFAULT_SUBSCRIBER = "491700000000";
    static final String DEFAULT_ORIGIN_HOST = "gy-client.example.com";

    private ClientCommand() {
    }

    static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("host").hasArg().argName("ADDRESS").desc("OCS address (default 127.0.0.1)").get());
        o.addOption(Option.builder("p").longOpt("port").hasArg().argName("PORT").desc("OCS port (default 3868)").get());
        o.addOption(Option.builder().longOpt("failover-port").hasArg().argName("PORT")
                .desc("send each session's CCR-U and CCR-T to this port (on the same address), its CCR-I to --port: "
                        + "a PCEF failing over to another node of the same PostgreSQL store").get());
        o.addOption(Option.builder("n").longOpt("count").hasArg().argName("N")
                .desc("number of sessions (CCR-I, CCR-U, CCR-T each) or, with --event, of events (default 1)").get());
        o.addOption(Option.builder().longOpt("event").desc("send CCR-Event (direct debit) instead of sessions").get());
        o.addOption(Option.builder().longOpt("subscriber").hasArg().argName("MSISDN")
                .desc("END_USER_E164 Subscription-Id (default " + DEFAULT_SUBSCRIBER + ")").get());
        o.addOption(Option.builder().longOpt("timeout").hasArg().argName("SECONDS")
                .desc("connect and answer timeout (default 10)").get());
        o.addOption(Option.builder().longOpt("origin-host").hasArg().argName("FQDN")
                .desc("our Origin-Host; the realm is its domain part (default " + DEFAULT_ORIGIN_HOST + ")").get());
        o.addOption(Option.builder().longOpt("destination-realm").hasArg().argName("REALM")
                .desc("Destination-Realm (default: the realm the node gives in its CEA)").get());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").get());
        return o;
    }

    public static void main(String[] args) {
        CommandLineValues.exit(run(args));
    }

    static int run(String[] args) {
        Options options = options();
        String host;
        int port;
        long count;
        boolean event;
        String subscriber;
        long timeoutSeconds;
        String originHost;
        String realm;
        int failoverPort;
        try {
            CommandLine line = new DefaultParser().parse(options, args);
            if (line.hasOption("help")) {
                CommandLineValues.printHelp(options, "ocs-client.sh [options]",
                        "Gy test client: sends credit-control sessions or events and checks every answer is 2001.\n\n",
                        "\nExit status 0 when every answer is 2001, 1 otherwise.");
                return 0;
            }
            CommandLineValues v = new CommandLineValues(line);
            host = v.string("host", "127.0.0.1");
            port = (int) v.number("port", 3868, 1, 65535);
            count = v.number("count", 1, 1, 10_000_000);
            event = v.flag("event");
            subscriber = v.string("subscriber", DEFAULT_SUBSCRIBER);
            timeoutSeconds = v.number("timeout", 10, 1, 3600);
            originHost = v.string("origin-host", DEFAULT_ORIGIN_HOST);
            realm = v.string("destination-realm", null);
            failoverPort = (int) v.number("failover-port", 0, 1, 65535);
            if (failoverPort != 0 && event) {
                throw new CommandLineValues.UsageException("--failover-port moves sessions; events have none");
            }
        } catch (ParseException | CommandLineValues.UsageException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }

        Map<Long, Long> byCode = new TreeMap<>();
        long sent = 0;
        long start = System.nanoTime();
        String nodeRealm = null;
        if (realm == null) {
            try {
                nodeRealm = org.gyocs.client.CapabilitiesProbe.realmOf(host, port, originHost, timeoutSeconds * 1000);
            } catch (ClientException e) {
                System.err.println("Error: " + e.getMessage());
                return 1;
            }
            realm = nodeRealm;
        }
        try (GyTestClient client = new GyTestClient(host, port, originHost, realm, timeoutSeconds * 1000);
             GyTestClient other = failoverPort == 0 ? null
                     : new GyTestClient(host, failoverPort, originHost, realm, timeoutSeconds * 1000)) {
            client.connect();
            System.out.printf("Connected to %s:%d as %s%n", host, port, originHost);
            if (other != null) {
                other.connect();
                System.out.printf("Connected to %s:%d as %s: each session's CCR-U and CCR-T go there%n", host,
                        failoverPort, originHost);
            }
            start = System.nanoTime(); // the summary's time is the requests', not the realm probe's and the CER's
            RequestType[] steps = event ? new RequestType[] {RequestType.EVENT}
                    : new RequestType[] {RequestType.INITIAL, RequestType.UPDATE, RequestType.TERMINATION};
            for (long i = 0; i < count; i++) {
                String sessionId = client.newSessionId();
                for (int number = 0; number < steps.length; number++) {
                    RequestType type = steps[number];
                    Answer answer;
                    try {
                        sent++;
                        GyTestClient to = other != null && type != RequestType.INITIAL ? other : client;
                        answer = to.send(to.creditControlRequest(sessionId, type, number, subscriber));
                    } catch (ClientException e) {
                        System.err.printf("Error: %s #%d of session %s: %s%n", type.shortName(), number, sessionId,
                                e.getMessage());
                        summary(sent, byCode, start, 1);
                        return 1;
                    }
                    long rc = resultCode(answer);
                    byCode.merge(rc, 1L, Long::sum);
                    if (rc == ResultCode.REALM_NOT_SERVED) {
                        System.err.printf("Error: 3003 DIAMETER_REALM_NOT_SERVED: the node does not serve realm %s%s%n",
                                realm, " (leave out --destination-realm to use the realm the node gives in its CEA)");
                    }
                    System.out.printf("%s #%d session=%s Result-Code=%d granted=%s%n", type.shortName(), number,
                            sessionId, rc, granted(answer));
                    if (rc != ResultCode.SUCCESS && type == RequestType.INITIAL) {
                        break; // a refused CCR-I ends the session (RFC 4006 section 5.6)
                    }
                }
            }
        } catch (ClientException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
        long failed = byCode.entrySet().stream().filter(e -> e.getKey() != ResultCode.SUCCESS).mapToLong(Map.Entry::getValue).sum();
        summary(sent, byCode, start, failed);
        return failed == 0 ? 0 : 1;
    }

    private static void summary(long sent, Map<Long, Long> byCode, long start, long failed) {
        double secs = (System.nanoTime() - start) / 1e9;
        long answered = byCode.values().stream().mapToLong(Long::longValue).sum();
        System.out.printf("Summary: %d requests, %d answers %s in %.2f s: %s%n", sent, answered, byCode, secs,
                failed == 0 && answered == sent ? "PASS" : "FAIL");
    }

    private static long resultCode(Answer a) {
        try {
            Avp rc = a.getResultCode();
            return rc == null ? 0 : rc.getUnsigned32();
        } catch (AvpDataException e) {
            return 0;
        }
    }

    /** The granted units, e.g. "rg100: 1048576 octets", or "-". */
    static String granted(Answer a) {
        StringBuilder sb = new StringBuilder();
        try {
            appendGranted(sb, null, a.getAvps().getAvp(Avp.GRANTED_SERVICE_UNIT));
            for (Avp mscc : a.getAvps().getAvps(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL)) {
                AvpSet g = mscc.getGrouped();
                Avp rg = g.getAvp(Avp.RATING_GROUP);
                appendGranted(sb, rg == null ? null : "rg" + rg.getUnsigned32(), g.getAvp(Avp.GRANTED_SERVICE_UNIT));
            }
        } catch (AvpDataException e) {
            return "(undecodable)";
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }

    private static void appendGranted(StringBuilder sb, String label, Avp gsu) throws AvpDataException {
        if (gsu == null) {
            return;
        }
        AvpSet g = gsu.getGrouped();
        String amount = null;
        if (g.getAvp(Avp.CC_TOTAL_OCTETS) != null) {
            amount = g.getAvp(Avp.CC_TOTAL_OCTETS).getUnsigned64() + " octets";
        } else if (g.getAvp(Avp.CC_TIME) != null) {
            amount = g.getAvp(Avp.CC_TIME).getUnsigned32() + " seconds";
        } else if (g.getAvp(Avp.CC_SERVICE_SPECIFIC_UNITS) != null) {
            amount = g.getAvp(Avp.CC_SERVICE_SPECIFIC_UNITS).getUnsigned64() + " units";
        }
        if (amount != null) {
            sb.append(sb.length() == 0 ? "" : ", ").append(label == null ? "" : label + ": ").append(amount);
        }
    }
}
