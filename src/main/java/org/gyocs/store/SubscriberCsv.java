package org.gyocs.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The provisioning file: header {@code subscriber,unit,amount,rating_group,expires[,plan]}, one
 * row per bucket. subscriber = MSISDN or IMSI digits; unit = octets | seconds | units | money
 * (minor units of the plan's currency); rating_group and expires may be empty; expires is an ISO
 * date (2027-01-31, end of that day UTC) or instant (2027-01-31T12:00:00Z); plan, when the
 * header has the column, names the subscriber's tariff plan (empty on all its rows: the default
 * plan); without the column an import keeps each subscriber's plan. A bad row names its line;
 * nothing is imported then.
 */
public final class SubscriberCsv {
    public static final String HEADER = "subscriber,unit,amount,rating_group,expires";
    public static final String HEADER_WITH_PLAN = HEADER + ",plan";

    /**
     * What a file provisions: its buckets, and the plans it sets (subscriber to plan, null for the
     * default plan). A file without the plan column sets none: its subscribers keep theirs.
     */
    public record Provisioning(List<Bucket> buckets, Map<String, String> plans) {
        /** How many subscribers the file gives a named plan (not the default one). */
        public long namedPlans() {
            return plans.values().stream().filter(java.util.Objects::nonNull).count();
        }
    }

    private SubscriberCsv() {
    }

    public static Provisioning read(Path file) throws IOException {
        return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * A CSV read elsewhere, as UTF-8 bytes (ocs-admin sends the file's content to the node, and
     * POST /subscribers is one); {@code name} names it in errors.
     */
    public static Provisioning read(byte[] csv, String name) {
        return parse(new String(csv, StandardCharsets.UTF_8).lines().toList(), name);
    }

    private static Provisioning parse(List<String> lines, String file) {
        List<Bucket> out = new ArrayList<>();
        Map<String, String> plans = new LinkedHashMap<>();
        String header = lines.isEmpty() ? "" : lines.get(0).replace("\uFEFF", "").trim().replace(" ", "");
        boolean withPlan = header.equalsIgnoreCase(HEADER_WITH_PLAN);
        if (!withPlan && !header.equalsIgnoreCase(HEADER)) {
            throw new IllegalArgumentException(file + ": line 1: the header must be '" + HEADER + "' or '"
                    + HEADER_WITH_PLAN + "'");
        }
        for (int n = 2; n <= lines.size(); n++) {
            String line = lines.get(n - 1).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                if (!withPlan) {
                    out.add(row(line));
                    continue;
                }
                int comma = line.lastIndexOf(',');
                if (comma < 0) {
                    throw new IllegalArgumentException("expected 6 fields (" + HEADER_WITH_PLAN + ")");
                }
                Bucket b = row(line.substring(0, comma));
                out.add(b);
                String plan = line.substring(comma + 1).trim();
                if (!plan.isEmpty()) {
                    org.gyocs.core.rating.TariffCsv.plan(plan);
                    String before = plans.putIfAbsent(b.subscriber(), plan);
                    if (before != null && !before.equals(plan)) {
                        throw new IllegalArgumentException("subscriber " + b.subscriber() + " has plan " + before
                                + " on an earlier row, not " + plan);
                    }
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": line " + n + ": " + e.getMessage(), e);
            }
        }
        if (withPlan) { // the column is there: a subscriber whose rows leave it empty gets the default plan
            out.forEach(b -> plans.putIfAbsent(b.subscriber(), null));
        }
        return new Provisioning(out, plans);
    }

    /** One CSV row (no header); @throws IllegalArgumentException saying what is wrong */
    public static Bucket row(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 5) {
            throw new IllegalArgumentException("expected 5 fields (" + HEADER + "), found " + f.length);
        }
        String subscriber = f[0].trim();
        long amount;
        try {
            amount = Long.parseLong(f[2].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("amount must be a whole number, not '" + f[2].trim() + "'");
        }
        Long ratingGroup = null;
        if (!f[3].isBlank()) {
            try {
                ratingGroup = Long.parseLong(f[3].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("rating_group must be a number or empty, not '" + f[3].trim() + "'");
            }
        }
        return bucket(subscriber, f[1], amount, ratingGroup, f[4].trim());
    }

    /**
     * A bucket to provision, checked as every way of provisioning checks it (this file, ocs-admin,
     * the HTTP API): subscriber 5 to 15 digits, a known unit, an amount not negative, a rating
     * group that fits Unsigned32, an expiry that is a date or an instant (or empty).
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static Bucket bucket(String subscriber, String unit, long amount, Long ratingGroup, String expires) {
        if (subscriber == null || !subscriber.matches("\\d{5,15}")) {
            throw new IllegalArgumentException("subscriber must be 5 to 15 digits (MSISDN or IMSI), not '" + subscriber + "'");
        }
        if (unit == null) {
            throw new IllegalArgumentException("unit must be octets, seconds, units or money");
        }
        if (amount < 0) {
            throw new IllegalArgumentException("amount must not be negative");
        }
        if (ratingGroup != null && (ratingGroup < 0 || ratingGroup > 0xFFFFFFFFL)) {
            throw new IllegalArgumentException("rating_group must be an Unsigned32");
        }
        return new Bucket(0, subscriber, Bucket.unitOf(unit), amount, 0, ratingGroup,
                expiry(expires == null ? "" : expires.trim()));
    }

    static Instant expiry(String s) {
        if (s.isEmpty()) {
            return null;
        }
        try {
            return s.contains("T") ? Instant.parse(s) : LocalDate.parse(s).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("expires must be a date (2027-01-31) or an instant (2027-01-31T12:00:00Z), not '" + s + "'");
        }
    }
}
