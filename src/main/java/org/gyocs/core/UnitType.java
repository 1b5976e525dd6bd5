package org.gyocs.core;

import java.util.Locale;

/** The kinds of service unit RFC 4006 can grant (section 8.17), and money. */
public enum UnitType {
    /** CC-Total-Octets (421); CC-Input/Output-Octets requests are granted as total octets. */
    OCTETS,
    /** CC-Time (420), seconds. */
    SECONDS,
    /** CC-Service-Specific-Units (417). */
    UNITS,
    /**
     * CC-Money (413), in minor units of a currency (cents of EUR): a monetary balance, and
     * what a request for CC-Money is granted in.
     */
    MONEY;

    /** Made once: a usage record names its unit on every line. */
    private final String csvName = name().toLowerCase(Locale.ROOT);

    /** The name used in the database, the CSV files, ocs-admin and the API: octets, seconds, units, money. */
    public String csvName() {
        return csvName;
    }

    /** @throws IllegalArgumentException for anything but octets, seconds, units, money */
    public static UnitType named(String name) {
        return switch (name == null ? "" : name.trim().toLowerCase(Locale.ROOT)) {
            case "octets" -> OCTETS;
            case "seconds" -> SECONDS;
            case "units" -> UNITS;
            case "money" -> MONEY;
            default -> throw new IllegalArgumentException("unit must be octets, seconds, units or money, not '" + name + "'");
        };
    }
}
