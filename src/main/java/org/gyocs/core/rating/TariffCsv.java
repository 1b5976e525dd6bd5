package org.gyocs.core.rating;

import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Currency;
import java.util.List;
import java.util.Locale;

import org.gyocs.core.UnitType;

/**
 * The tariff file: header {@code plan,rating_group,unit,price,per,currency[,from,to]}, one row per
 * price; {@code price} minor units of {@code currency} (an ISO 4217 code: EUR, USD, JPY) per
 * {@code per} {@code unit}s (octets, seconds or units); an empty rating group prices every
 * rating group the plan has no row for; {@code from}/{@code to} (HH:MM, the node's time zone)
 * make a row a band of the day. A bad row names its line, a bad whole (bands that overlap or
 * leave part of a day unpriced, two currencies in one plan) names the rows; nothing is taken from
 * a bad file.
 */
public final class TariffCsv {
    public static final String HEADER = "plan,rating_group,unit,price,per,currency,from,to";
    private static final String SHORT_HEADER = "plan,rating_group,unit,price,per,currency";

    private TariffCsv() {
    }

    /** Parses and checks a whole file; @throws IllegalArgumentException naming the file and line */
    public static List<Tariff> parse(List<String> lines, String name) {
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(name + ": line 1: the header must be '" + HEADER + "'");
        }
        String header = lines.get(0).replace("\uFEFF", "").trim().toLowerCase(Locale.ROOT).replace(" ", "");
        if (!header.equals(HEADER) && !header.equals(SHORT_HEADER)) {
            throw new IllegalArgumentException(name + ": line 1: the header must be '" + HEADER + "' (from,to optional)");
        }
        List<Tariff> out = new ArrayList<>();
        List<Integer> lineOf = new ArrayList<>();
        for (int n = 2; n <= lines.size(); n++) {
            String line = lines.get(n - 1).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                out.add(row(line));
                lineOf.add(n);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": line " + n + ": " + e.getMessage(), e);
            }
        }
        try {
            TariffBook.check(out, i -> "line " + lineOf.get(i));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** One row (no header); @throws IllegalArgumentException saying what is wrong */
    public static Tariff row(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 6 && f.length != 8) {
            throw new IllegalArgumentException("expected 6 or 8 fields (" + HEADER + "), found " + f.length);
        }
        String plan = plan(f[0].trim());
        Long ratingGroup = null;
        if (!f[1].isBlank()) {
            ratingGroup = number(f[1], "rating_group");
            if (ratingGroup > 0xFFFFFFFFL) {
                throw new IllegalArgumentException("rating_group must be an Unsigned32");
            }
        }
        UnitType unit = UnitType.named(f[2]);
        if (unit == UnitType.MONEY) {
            throw new IllegalArgumentException("unit must be octets, seconds or units: money is what is paid, not priced");
        }
        long price = number(f[3], "price");
        long per = number(f[4], "per");
        if (per == 0) {
            throw new IllegalArgumentException("per must be at least 1");
        }
        Currency currency = currency(f[5]);
        LocalTime from = null;
        LocalTime to = null;
        if (f.length == 8 && !(f[6].isBlank() && f[7].isBlank())) {
            from = time(f[6], "from");
            to = time(f[7], "to");
            if (from.equals(to)) {
                throw new IllegalArgumentException("from and to must differ (leave both empty for all day)");
            }
        }
        return new Tariff(plan, ratingGroup, unit, price, per, currency, from, to);
    }

    /** A plan's name, checked as every way of naming one checks it; @throws IllegalArgumentException */
    public static String plan(String plan) {
        if (plan == null || !plan.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("plan must be 1 to 64 letters, digits, '_', '.' or '-', not '" + plan + "'");
        }
        return plan;
    }

    /** An ISO 4217 alphabetic code; @throws IllegalArgumentException for anything else */
    public static Currency currency(String code) {
        String c = code == null ? "" : code.trim().toUpperCase(Locale.ROOT);
        try {
            if (c.matches("[A-Z]{3}")) {
                Currency currency = Currency.getInstance(c);
                if (currency.getNumericCode() > 0 && currency.getDefaultFractionDigits() >= 0) {
                    return currency;
                }
            }
        } catch (IllegalArgumentException e) {
            // named below
        }
        throw new IllegalArgumentException("currency must be an ISO 4217 code such as EUR, not '" + code + "'");
    }

    /** The tariffs as the file has them (GET /tariffs, export). */
    public static String write(List<Tariff> tariffs) {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Tariff t : tariffs) {
            sb.append(t.plan()).append(',').append(t.ratingGroup() == null ? "" : t.ratingGroup()).append(',')
                    .append(t.unit().csvName()).append(',').append(t.price()).append(',').append(t.per()).append(',')
                    .append(t.currency().getCurrencyCode()).append(',').append(t.from() == null ? "" : t.from())
                    .append(',').append(t.to() == null ? "" : t.to()).append('\n');
        }
        return sb.toString();
    }

    private static long number(String s, String field) {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) {
                throw new IllegalArgumentException(field + " must not be negative");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a whole number, not '" + s.trim() + "'");
        }
    }

    private static LocalTime time(String s, String field) {
        try {
            String t = s.trim();
            if (!t.matches("\\d{2}:\\d{2}")) {
                throw new DateTimeParseException("", t, 0);
            }
            return LocalTime.parse(t);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(field + " must be a time of day HH:MM (00:00 to 23:59), not '" + s.trim()
                    + "'");
        }
    }
}
