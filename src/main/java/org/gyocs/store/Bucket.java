package org.gyocs.store;

import java.time.Instant;

import org.gyocs.core.UnitType;

/**
 * A balance bucket as provisioned and shown by ocs-admin.
 *
 * @param id          database id (0 for a bucket not stored yet)
 * @param subscriber  MSISDN or IMSI digits
 * @param unit        octets, seconds, units, or money (minor units of the plan's currency)
 * @param amount      what is left
 * @param reserved    what open sessions hold of it
 * @param ratingGroup null: serves every rating group
 * @param expires     null: never
 */
public record Bucket(long id, String subscriber, UnitType unit, long amount, long reserved, Long ratingGroup,
                     Instant expires) {

    /** The name used in the database, the CSV file and ocs-admin. */
    public static String unitName(UnitType unit) {
        return unit.csvName();
    }

    /** @throws IllegalArgumentException for anything but octets, seconds, units, money */
    public static UnitType unitOf(String name) {
        return UnitType.named(name);
    }
}
