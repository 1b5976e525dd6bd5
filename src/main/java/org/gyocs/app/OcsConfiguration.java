package org.gyocs.app;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.gyocs.core.ChargingPolicy;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.FinalUnitIndication.FinalUnitAction;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.QuotaThresholds;
import org.gyocs.core.SubscriptionId;

/**
 * The charging configuration (config/ocs.properties), each key also a command-line option of the
 * same name that wins over the file. Read once into immutable values.
 */
public final class OcsConfiguration {
    /** One key of config/ocs.properties (and option of bin/ocs.sh): its default ("" = not set) and meaning. */
    public record Setting(String key, String defaultValue, String description) {
    }

    /** Every key, in the order of config/ocs.properties. */
    public static final List<Setting> SETTINGS = List.of(
            new Setting("default-octets", "1048576", "default CC-Total-Octets grant"),
            new Setting("default-seconds", "3600", "default CC-Time grant"),
            new Setting("default-units", "100", "default CC-Service-Specific-Units grant"),
            new Setting("max-octets", "", "maximum CC-Total-Octets grant (default: the default grant)"),
            new Setting("max-seconds", "", "maximum CC-Time grant (default: the default grant)"),
            new Setting("max-units", "", "maximum CC-Service-Specific-Units grant (default: the default grant)"),
            new Setting("validity-time", "3600", "Validity-Time sent with each grant, seconds"),
            new Setting("tcc", "", "seconds of silence after which a session is released (default 2 x validity-time)"),
            new Setting("final-unit-action", "terminate", "with the last grant of a balance: terminate, redirect or restrict"),
            new Setting("redirect-address", "", "Redirect-Server-Address URL for final-unit-action redirect"),
            new Setting("filter-id", "", "Filter-Id for final-unit-action restrict"),
            new Setting("unknown-subscriber", "grant", "grant (default grant, nothing debited) or reject (5030)"),
            new Setting("subscription-id-priority", "e164,imsi", "Subscription-Id types tried in order"),
            new Setting("quota-holding-time", "", "3GPP Quota-Holding-Time sent with grants, seconds"),
            new Setting("volume-quota-threshold", "", "3GPP Volume-Quota-Threshold sent with grants, octets"),
            new Setting("time-quota-threshold", "", "3GPP Time-Quota-Threshold sent with grants, seconds"),
            new Setting("denied-rating-groups", "", "rating groups answered 5031 DIAMETER_RATING_FAILED, comma-separated"),
            new Setting("max-sessions", String.valueOf(ChargingPolicy.DEFAULT_MAX_OPEN_SESSIONS),
                    "sessions held open at once; a CCR-I beyond gets 5012 (about 800 bytes of heap each)"),
            new Setting("allowed-peers", "", "peers that may connect: ORIGIN-HOST[@ADDRESS/PREFIX], comma-separated "
                    + "(*.domain and * allowed); empty: any peer"),
            new Setting("refund-peers", "*", "Origin-Hosts whose REFUND_ACCOUNT events are carried out (others: 5003)"),
            new Setting("failure-handling", "", "Credit-Control-Failure-Handling in CCA-I: what the PCEF does when "
                    + "this OCS does not answer: terminate, continue or retry_and_terminate (default: "
                    + "retry_and_terminate on a shared PostgreSQL store, where another node can continue the "
                    + "session; none on the embedded store)"),
            new Setting("node-timeout", "30", "shared PostgreSQL store: seconds without a node's heartbeat after "
                    + "which another node releases the sessions it answered last"),
            new Setting("tls-port", "", "Diameter over TLS (RFC 6733 section 13) on this port too, e.g. 5868; "
                    + "needs tls-keystore and tls-truststore"),
            new Setting("tls-keystore", "", "PKCS12 file with the node's key and certificate"),
            new Setting("tls-truststore", "", "PKCS12 file with the certificates (or CAs) of the peers it trusts"),
            new Setting("tls-password-file", "", "file (mode 0600) holding the password of both stores; "
                    + "else the environment variable GYOCS_TLS_PASSWORD"),
            new Setting("answer-deadline", "3000", "milliseconds a request may wait for the balance store; "
                    + "then it is answered 5012 (keep it below the PCEF's Tx timer)"),
            new Setting("store", "", "balance store JDBC URL, e.g. jdbc:postgresql://db/ocs (default: embedded H2 under data/)"),
            new Setting("store-user", "", "balance store user"),
            new Setting("store-password", "", "balance store password (visible to local users on a command line: "
                    + "prefer store-password-file or the environment variable GYOCS_STORE_PASSWORD)"),
            new Setting("store-password-file", "", "file holding the balance store password (mode 0600 or 0400)"),
            new Setting("access-log", "false", "true: one JSON line per answered request in logs/access.log"),
            new Setting("test-control", "true", "false: no test behaviours (POST /behaviours refused 403), "
                    + "for a production node"),
            new Setting("behaviours", "", "test behaviours applied from the start: a JSON array of rules "
                    + "(see README, Test control); more through POST /behaviours"),
            new Setting("requests-kept", "1000", "recent requests GET /requests shows, "
                    + "with their AVPs; 0: none kept"),
            new Setting("tariffs", "", "tariff CSV imported at start, replacing the store's tariffs "
                    + "(plan,rating_group,unit,price,per,currency[,from,to]; see README, Rating)"),
            new Setting("time-zone", "", "time zone of the tariffs' from/to bands, e.g. Europe/Paris "
                    + "(default: the machine's)"),
            new Setting("usage-retention-days", "90", "days a rated usage record is kept after it starts"),
            new Setting("admin-port", "8080", "HTTP port of the operator's interface (health, metrics, peers, sessions, subscribers); "
                    + "0: none"),
            new Setting("admin-ip", "127.0.0.1", "address the operator's interface listens on; beyond loopback "
                    + "it needs admin-token-file"),
            new Setting("admin-token-file", "", "file (mode 0600 or 0400) holding the bearer token every request "
                    + "but GET /health must carry"));

    /** Every key with its default. */
    public static final Map<String, String> DEFAULTS = defaults();

    private final Map<String, String> values;
    private org.gyocs.node.TlsSettings tls;
    private boolean tlsRead;

    private OcsConfiguration(Map<String, String> values) {
        this.values = values;
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        for (Setting setting : SETTINGS) {
            d.put(setting.key(), setting.defaultValue());
        }
        return java.util.Collections.unmodifiableMap(d);
    }

    /**
     * The file's values (a missing file is fine when {@code required} is false) overridden by
     * {@code overrides} (the command line).
     *
     * @throws IllegalArgumentException naming the file and key for an unknown key or a bad value
     */
    public static OcsConfiguration load(Path file, boolean required, Map<String, String> overrides) throws IOException {
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        if (file != null) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                Properties p = new Properties();
                p.load(r);
                for (String key : p.stringPropertyNames()) {
                    if (!DEFAULTS.containsKey(key)) {
                        throw new IllegalArgumentException(file + ": unknown key '" + key + "'");
                    }
                    v.put(key, p.getProperty(key).trim());
                }
            } catch (NoSuchFileException e) {
                if (required) {
                    throw new IllegalArgumentException("Charging configuration not found: " + file);
                }
            }
        }
        v.putAll(overrides);
        OcsConfiguration c = new OcsConfiguration(v);
        c.chargingPolicy(); // fail now, with the key's name, not at the first request
        c.answerDeadline();
        c.allowedPeers();
        c.tls();
        return c;
    }

    public static OcsConfiguration of(Map<String, String> values) {
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        v.putAll(values);
        return new OcsConfiguration(v);
    }

    /**
     * Diameter over TLS, or null when tls-port is not set.
     *
     * @throws IllegalArgumentException when a store or its password is missing or unreadable
     */
    public org.gyocs.node.TlsSettings tls() {
        if (!tlsRead) { // the key stores and the password are read once, not again for the node
            tls = readTls();
            tlsRead = true;
        }
        return tls;
    }

    private org.gyocs.node.TlsSettings readTls() {
        if (values.get("tls-port").isBlank()) {
            return null;
        }
        int port = (int) number("tls-port", 1, 65535);
        String keyStore = values.get("tls-keystore");
        String trustStore = values.get("tls-truststore");
        if (keyStore.isBlank() || trustStore.isBlank()) {
            throw new IllegalArgumentException("tls-port needs tls-keystore and tls-truststore");
        }
        String passwordFile = values.get("tls-password-file");
        String password = !passwordFile.isBlank() ? readSecret(Path.of(passwordFile.trim()))
                : System.getenv(TLS_PASSWORD_VARIABLE);
        if (password == null) {
            throw new IllegalArgumentException("tls-port needs the stores' password: tls-password-file or "
                    + TLS_PASSWORD_VARIABLE);
        }
        return org.gyocs.node.TlsSettings.load(port, Path.of(keyStore.trim()), Path.of(trustStore.trim()),
                password.toCharArray());
    }

    /** The environment variable that may hold the TLS stores' password. */
    public static final String TLS_PASSWORD_VARIABLE = "GYOCS_TLS_PASSWORD";

    /** Which peers may connect (allowed-peers). */
    public org.gyocs.node.PeerAllowList allowedPeers() {
        return org.gyocs.node.PeerAllowList.parse(values.get("allowed-peers"));
    }

    /** On a shared store, how long a node's heartbeat may be silent before another releases its sessions. */
    public java.time.Duration nodeTimeout() {
        return java.time.Duration.ofSeconds(number("node-timeout", 2, 86_400));
    }

    /** How long a request may wait for the balance store (answer-deadline). */
    public java.time.Duration answerDeadline() {
        return java.time.Duration.ofMillis(number("answer-deadline", 100, 3_600_000));
    }

    public String store() {
        return values.get("store");
    }

    public String storeUser() {
        return values.get("store-user");
    }

    /**
     * The balance store's password: {@code store-password}, else the content of
     * {@code store-password-file} (which only its owner may read), else the environment variable
     * {@code GYOCS_STORE_PASSWORD}, else none. A password on a command line is visible to every
     * local user in the process list, and config/ocs.properties is often world-readable.
     *
     * @throws IllegalArgumentException when the file cannot be read or others may read it
     */
    public String storePassword() {
        return storePassword(store());
    }

    /**
     * The password for the store at {@code url} (blank: the embedded store). The environment
     * variable is for a database server only: set for PostgreSQL and left in the shell, it was
     * taken as the embedded H2 file's password, which has none, and neither the node nor
     * ocs-admin could open the embedded store ("Wrong user name or password").
     */
    public String storePassword(String url) {
        String direct = values.get("store-password");
        if (!direct.isBlank()) {
            return direct;
        }
        String file = values.get("store-password-file");
        if (!file.isBlank()) {
            return readSecret(Path.of(file.trim()));
        }
        String env = System.getenv(PASSWORD_VARIABLE);
        return env == null || embedded(url) ? "" : env;
    }

    /** Whether {@code url} names the embedded store: none (data/), or an H2 file. */
    private static boolean embedded(String url) {
        return url == null || url.isBlank() || org.gyocs.store.JdbcBalanceStore.embeddedDirectory(url).isPresent();
    }

    /** The environment variable that may hold the balance store's password. */
    public static final String PASSWORD_VARIABLE = "GYOCS_STORE_PASSWORD";

    /** How many recent requests GET /requests shows by default. */
    public static final int DEFAULT_REQUESTS_KEPT = 1_000;

    /** test-control: whether test behaviours may be defined. */
    public boolean testControl() {
        String v = values.get("test-control").trim().toLowerCase(java.util.Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw bad("test-control", "true or false");
        }
        return v.equals("true");
    }

    /** behaviours: the file of test behaviours read at start, or null. */
    public Path behavioursFile() {
        String v = values.get("behaviours").trim();
        return v.isEmpty() ? null : Path.of(v);
    }

    /** tariffs: the tariff file imported at start, or null. */
    public Path tariffsFile() {
        String v = values.get("tariffs").trim();
        return v.isEmpty() ? null : Path.of(v);
    }

    /** time-zone: where the tariffs' bands are read, the machine's when not set. */
    public java.time.ZoneId timeZone() {
        String v = values.get("time-zone").trim();
        if (v.isEmpty()) {
            return java.time.ZoneId.systemDefault();
        }
        try {
            return java.time.ZoneId.of(v);
        } catch (java.time.DateTimeException e) {
            throw bad("time-zone", "a time zone such as Europe/Paris or UTC");
        }
    }

    /** usage-retention-days: how long usage records are kept after they start. */
    public java.time.Duration usageRetention() {
        String v = values.get("usage-retention-days").trim();
        try {
            int n = Integer.parseInt(v);
            if (n >= 1 && n <= 36_500) {
                return java.time.Duration.ofDays(n);
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw bad("usage-retention-days", "a number of days from 1 to 36500");
    }

    /** requests-kept: the size of the record of recent requests. */
    public int requestsKept() {
        String v = values.get("requests-kept").trim();
        try {
            int n = Integer.parseInt(v);
            if (n >= 0 && n <= 100_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw bad("requests-kept", "a number of requests from 0 to 100000");
    }

    /** access-log: one JSON line per answered request. */
    public boolean accessLog() {
        String v = values.get("access-log").trim().toLowerCase(java.util.Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw bad("access-log", "true or false");
        }
        return v.equals("true");
    }

    /** The operator's HTTP interface: port (0: none), address and bearer token (null: none). */
    public org.gyocs.node.AdminSettings admin() {
        String tokenFile = values.get("admin-token-file");
        String token = tokenFile.isBlank() ? null : readSecret(Path.of(tokenFile.trim())).trim();
        if (token != null && token.length() < 16) {
            throw new IllegalArgumentException("admin-token-file: the token must have at least 16 characters");
        }
        return new org.gyocs.node.AdminSettings(values.get("admin-ip").trim(), (int) number("admin-port", 0, 65535),
                token);
    }

    private static String readSecret(Path file) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> p = Files.getPosixFilePermissions(file);
            for (java.nio.file.attribute.PosixFilePermission open : java.util.List.of(
                    java.nio.file.attribute.PosixFilePermission.GROUP_READ,
                    java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                if (p.contains(open)) {
                    throw new IllegalArgumentException("The password file " + file + " may be read by others (mode "
                            + java.nio.file.attribute.PosixFilePermissions.toString(p) + "): chmod 600 it");
                }
            }
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public ChargingPolicy chargingPolicy() {
        long defOctets = number("default-octets", 1);
        // CC-Time, Validity-Time and the 3GPP thresholds are Unsigned32 on the wire
        long defSeconds = number("default-seconds", 1, UNSIGNED32_MAX);
        long defUnits = number("default-units", 1);
        long validity = number("validity-time", 1, UNSIGNED32_MAX);
        GrantPolicy grants = new GrantPolicy(defOctets, defSeconds, defUnits,
                orDefault("max-octets", defOctets), values.get("max-seconds").isBlank() ? defSeconds
                        : number("max-seconds", 1, UNSIGNED32_MAX),
                orDefault("max-units", defUnits), validity);
        long tcc = orDefault("tcc", 2 * validity);
        if (tcc < validity) {
            // RFC 4006 section 13: Tcc supervises the session between grants; shorter than the
            // Validity-Time, it would release a session that is only waiting for its next CCR-U
            throw new IllegalArgumentException("tcc must be at least validity-time (" + validity + " s), not " + tcc);
        }
        int maxSessions = (int) number("max-sessions", 1, Integer.MAX_VALUE);
        FinalUnitAction action = switch (values.get("final-unit-action").toLowerCase(Locale.ROOT)) {
            case "terminate" -> FinalUnitAction.TERMINATE;
            case "redirect" -> FinalUnitAction.REDIRECT;
            case "restrict", "restrict_access", "restrict-access" -> FinalUnitAction.RESTRICT_ACCESS;
            default -> throw bad("final-unit-action", "terminate, redirect or restrict");
        };
        String redirect = emptyToNull(values.get("redirect-address"));
        String filter = emptyToNull(values.get("filter-id"));
        if (action == FinalUnitAction.REDIRECT && redirect == null) {
            throw new IllegalArgumentException("final-unit-action redirect needs redirect-address (a URL)");
        }
        if (action == FinalUnitAction.RESTRICT_ACCESS && filter == null) {
            throw new IllegalArgumentException("final-unit-action restrict needs filter-id");
        }
        FinalUnitIndication fui = new FinalUnitIndication(action,
                action == FinalUnitAction.REDIRECT ? redirect : null, action == FinalUnitAction.RESTRICT_ACCESS ? filter : null);
        boolean reject = switch (values.get("unknown-subscriber").toLowerCase(Locale.ROOT)) {
            case "grant" -> false;
            case "reject" -> true;
            default -> throw bad("unknown-subscriber", "grant or reject");
        };
        List<Integer> priority = new ArrayList<>();
        for (String t : values.get("subscription-id-priority").split(",")) {
            priority.add(switch (t.trim().toLowerCase(Locale.ROOT)) {
                case "e164", "msisdn" -> SubscriptionId.END_USER_E164;
                case "imsi" -> SubscriptionId.END_USER_IMSI;
                case "sip", "sip_uri" -> SubscriptionId.END_USER_SIP_URI;
                case "nai" -> SubscriptionId.END_USER_NAI;
                case "private" -> SubscriptionId.END_USER_PRIVATE;
                default -> throw bad("subscription-id-priority", "a list of e164, imsi, sip, nai, private");
            });
        }
        Set<Long> denied = new HashSet<>();
        for (String rg : values.get("denied-rating-groups").split(",")) {
            if (!rg.isBlank()) {
                try {
                    denied.add(Long.parseLong(rg.trim()));
                } catch (NumberFormatException e) {
                    throw bad("denied-rating-groups", "a comma-separated list of rating groups");
                }
            }
        }
        QuotaThresholds thresholds = new QuotaThresholds(optional("time-quota-threshold"),
                optional("volume-quota-threshold"), optional("quota-holding-time"));
        List<String> refundPeers = new ArrayList<>();
        for (String p : values.get("refund-peers").split(",")) {
            if (!p.isBlank()) {
                refundPeers.add(p.trim());
            }
        }
        Integer failureHandling = switch (values.get("failure-handling").toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "" -> null;
            case "terminate" -> 0;
            case "continue" -> 1;
            case "retry_and_terminate" -> 2;
            default -> throw bad("failure-handling", "terminate, continue or retry_and_terminate");
        };
        return new ChargingPolicy(grants, tcc, fui, reject, priority, thresholds, denied, maxSessions, refundPeers,
                failureHandling);
    }

    private static final long UNSIGNED32_MAX = 0xFFFFFFFFL;

    private long number(String key, long min) {
        return number(key, min, Long.MAX_VALUE);
    }

    private long number(String key, long min, long max) {
        String v = values.get(key);
        try {
            long n = Long.parseLong(v.trim());
            if (n < min || n > max) {
                throw bad(key, max == Long.MAX_VALUE ? "a number of at least " + min : "a number from " + min + " to " + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(key, "a number");
        }
    }

    private long orDefault(String key, long fallback) {
        return values.get(key).isBlank() ? fallback : number(key, 1);
    }

    private Long optional(String key) {
        return values.get(key).isBlank() ? null : number(key, 0, UNSIGNED32_MAX);
    }

    private IllegalArgumentException bad(String key, String expected) {
        return new IllegalArgumentException(key + " must be " + expected + ", not '" + values.get(key) + "'");
    }

    private static String emptyToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
