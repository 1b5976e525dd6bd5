package org.gyocs.core.rating;

import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Currency;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;

import org.gyocs.core.UnitType;

/**
 * The tariffs in force, as the core looks them up for every rated request: the price of a unit
 * on a rating group of a plan at an instant, and when that price changes next (a band's end).
 * Immutable: a new import replaces the whole book at once, so a request sees one book or the other.
 *
 * <p>Which row prices a request: the subscriber's plan (a subscriber with none: the plan named
 * {@value #DEFAULT_PLAN}), then the row of the request's rating group, else the plan's row without
 * a rating group; a request without a Rating-Group (Open5GS) takes that row. A plan without any
 * row prices nothing: its subscribers are charged from their unit buckets only.
 */
public final class TariffBook {
    public static final String DEFAULT_PLAN = "default";
    private static final int MINUTES = 24 * 60;

    /** No tariffs: nothing is priced, every balance is in units (how the node charged before rating). */
    public static final TariffBook EMPTY = new TariffBook(List.of(), ZoneId.systemDefault());

    /**
     * A price at an instant.
     *
     * @param price     what the unit costs now
     * @param changesAt when the next band starts (the price may change), or null for an all-day price
     * @param after     the price from {@code changesAt}, or null
     */
    public record Rate(Price price, Instant changesAt, Price after) {

        /**
         * What {@code units} used cost, of which {@code afterChange} were reported as used after
         * the tariff changed (priced at {@link #after}); the units before are taken first (RFC
         * 4006 8.27). Saturates at Long.MAX_VALUE.
         */
        public long cost(long units, long afterChange) {
            if (units <= 0) {
                return 0;
            }
            long late = Math.min(units, Math.max(0, afterChange));
            Price then = after != null ? after : price;
            if (late == 0) {
                return price.cost(units);
            }
            // both sides' exact prices added, then rounded up once: one minor unit at most per report
            BigInteger p1 = BigInteger.valueOf(price.price());
            BigInteger n1 = BigInteger.valueOf(price.per());
            BigInteger p2 = BigInteger.valueOf(then.price());
            BigInteger n2 = BigInteger.valueOf(then.per());
            BigInteger numerator = BigInteger.valueOf(units - late).multiply(p1).multiply(n2)
                    .add(BigInteger.valueOf(late).multiply(p2).multiply(n1));
            BigInteger[] qr = numerator.divideAndRemainder(n1.multiply(n2));
            BigInteger c = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
            return c.bitLength() < 64 ? c.longValue() : Long.MAX_VALUE;
        }
    }

    private record Key(String plan, Long ratingGroup, UnitType unit) {
    }

    /** The price of every minute of the day (bands), or one price. */
    private record Schedule(Price allDay, Price[] byMinute, LocalTime[] endByMinute) {
    }

    private final List<Tariff> rows;
    private final ZoneId zone;
    private final Map<Key, Schedule> schedules = new HashMap<>();
    private final Map<String, Currency> currencies = new HashMap<>();

    /** @throws IllegalArgumentException when the rows do not make a book (see {@link #check}) */
    public TariffBook(List<Tariff> rows, ZoneId zone) {
        check(rows, i -> "row " + (i + 1));
        this.rows = List.copyOf(rows);
        this.zone = Objects.requireNonNull(zone);
        Map<Key, List<Tariff>> byKey = group(this.rows);
        for (Map.Entry<Key, List<Tariff>> e : byKey.entrySet()) {
            List<Tariff> ts = e.getValue();
            if (!ts.get(0).isBand()) {
                schedules.put(e.getKey(), new Schedule(ts.get(0).asPrice(), null, null));
                continue;
            }
            Price[] byMinute = new Price[MINUTES];
            LocalTime[] end = new LocalTime[MINUTES];
            for (Tariff t : ts) {
                Price p = t.asPrice();
                for (int m : minutes(t)) {
                    byMinute[m] = p;
                    end[m] = t.to();
                }
            }
            schedules.put(e.getKey(), new Schedule(null, byMinute, end));
        }
        for (Tariff t : this.rows) {
            currencies.putIfAbsent(t.plan(), t.currency());
        }
    }

    public List<Tariff> rows() {
        return rows;
    }

    public ZoneId zone() {
        return zone;
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    /** The same tariffs in another time zone. */
    public TariffBook inZone(ZoneId z) {
        return new TariffBook(rows, z);
    }

    /** The plan that applies to a subscriber whose plan is {@code plan} (null: none). */
    public static String planOf(String plan) {
        return plan == null || plan.isEmpty() ? DEFAULT_PLAN : plan;
    }

    /** The currency of a plan, or null for a plan without rows. */
    public Currency currency(String plan) {
        return currencies.get(planOf(plan));
    }

    /** The rate of a unit on a rating group (null: none) of a plan at an instant, or null when nothing prices it. */
    public Rate rate(String plan, Long ratingGroup, UnitType unit, Instant at) {
        if (rows.isEmpty() || unit == UnitType.MONEY) {
            return null;
        }
        String p = planOf(plan);
        Schedule s = ratingGroup == null ? null : schedules.get(new Key(p, ratingGroup, unit));
        if (s == null) {
            s = schedules.get(new Key(p, null, unit));
        }
        if (s == null) {
            return null;
        }
        if (s.allDay() != null) {
            return new Rate(s.allDay(), null, null);
        }
        ZonedDateTime now = at.atZone(zone);
        int m = now.getHour() * 60 + now.getMinute();
        LocalTime end = s.endByMinute()[m];
        ZonedDateTime next = ZonedDateTime.of(now.toLocalDate(), end, zone);
        if (!next.isAfter(now)) {
            next = ZonedDateTime.of(now.toLocalDate().plusDays(1), end, zone);
        }
        return new Rate(s.byMinute()[m], next.toInstant(), s.byMinute()[end.getHour() * 60 + end.getMinute()]);
    }

    /**
     * Checks that rows make a book: a plan has one currency; for each plan, rating group and
     * unit, either one all-day row or bands that cover the day once, without overlap.
     *
     * @param where names a row in messages ("line 7")
     * @throws IllegalArgumentException naming the rows at fault
     */
    public static void check(List<Tariff> rows, IntFunction<String> where) {
        Map<String, Integer> currencyRow = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Tariff t = rows.get(i);
            Integer first = currencyRow.putIfAbsent(t.plan(), i);
            if (first != null && !rows.get(first).currency().equals(t.currency())) {
                throw new IllegalArgumentException(where.apply(i) + ": plan " + t.plan() + " is priced in "
                        + rows.get(first).currency() + " at " + where.apply(first) + ", not " + t.currency()
                        + ": one currency per plan");
            }
        }
        Map<Key, List<Integer>> byKey = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Tariff t = rows.get(i);
            byKey.computeIfAbsent(new Key(t.plan(), t.ratingGroup(), t.unit()), k -> new ArrayList<>()).add(i);
        }
        for (Map.Entry<Key, List<Integer>> e : byKey.entrySet()) {
            List<Integer> is = e.getValue();
            String what = "plan " + e.getKey().plan() + ", rating group "
                    + (e.getKey().ratingGroup() == null ? "(any)" : e.getKey().ratingGroup()) + ", " + e.getKey().unit().csvName();
            boolean allDay = false;
            int[] owner = new int[MINUTES];
            java.util.Arrays.fill(owner, -1);
            for (int i : is) {
                Tariff t = rows.get(i);
                if (!t.isBand()) {
                    if (is.size() > 1) {
                        int other = is.get(0) == i ? is.get(1) : i;
                        throw new IllegalArgumentException(where.apply(other) + ": " + what + " is priced already at "
                                + where.apply(is.get(0)) + ", all day: one all-day row, or bands that cover the day");
                    }
                    allDay = true;
                    continue;
                }
                for (int m : minutes(t)) {
                    if (owner[m] >= 0) {
                        throw new IllegalArgumentException(where.apply(i) + ": " + what + ": the band " + t.from() + "-"
                                + t.to() + " overlaps " + where.apply(owner[m]) + " at " + LocalTime.of(m / 60, m % 60));
                    }
                    owner[m] = i;
                }
            }
            if (!allDay) {
                for (int m = 0; m < MINUTES; m++) {
                    if (owner[m] < 0) {
                        int end = m;
                        while (end < MINUTES && owner[end] < 0) {
                            end++;
                        }
                        throw new IllegalArgumentException(where.apply(is.get(0)) + ": " + what
                                + ": the bands leave the day unpriced from " + LocalTime.of(m / 60, m % 60) + " to "
                                + (end == MINUTES ? "24:00" : LocalTime.of(end / 60, end % 60))
                                + " (bands must cover the whole day)");
                    }
                }
            }
        }
    }

    private static Map<Key, List<Tariff>> group(List<Tariff> rows) {
        Map<Key, List<Tariff>> out = new HashMap<>();
        for (Tariff t : rows) {
            out.computeIfAbsent(new Key(t.plan(), t.ratingGroup(), t.unit()), k -> new ArrayList<>()).add(t);
        }
        return out;
    }

    /** The minutes of the day a band covers: from its start up to (not including) its end, past midnight if need be. */
    private static int[] minutes(Tariff t) {
        int from = t.from().getHour() * 60 + t.from().getMinute();
        int to = t.to().getHour() * 60 + t.to().getMinute();
        int n = Math.floorMod(to - from, MINUTES);
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            out[k] = (from + k) % MINUTES;
        }
        return out;
    }
}
