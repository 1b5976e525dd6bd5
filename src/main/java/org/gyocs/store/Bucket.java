package org.gyocs.store;

import java.time.Instant;

import org.gyocs.core.UnitType;

/**
 * A balance bucket as provisioned and shown by ocs-admin.
 *
 * @param id          database id (0 for a bucket not stored yet)
 * @param subscriber  MSISDN or IMSI digits
 * @param unit        octets, seconds or units
 * @param amount      what is left
 * @param reserved    what open sessions hold of it
 * @param ratingGroup null: serves every rating group
 * @param expires     null: never
 */
public record Bucket(long id, String subscriber, UnitType unit, long amount, long reserved, Long ratingGroup,
                     Instant expires) {

    /** The name used in the database, the CSV file and ocs-admin. */
    public static String unitName(UnitType unit) {
        return switch (unit) {
            case OCTETS -> "octets";
            case SECONDS -> "seconds";
            case UNITS -> "units";
        };
    }

    /** @throws IllegalArgumentException for anything but octets, seconds, units */
    public static UnitType unitOf(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "octets" -> UnitType.OCTETS;
            case "seconds" -> UnitType.SECONDS;
            case "units" -> UnitType.UNITS;
            default -> throw new IllegalArgumentException("unit must be octets, seconds or units, not '" + name + "'");
        };
    }
}
