package org.gyocs.store;

import java.time.Instant;
import java.util.Comparator;
import java.util.function.Function;
import java.util.function.ToLongFunction;

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

    /** Whether a bucket of rating group {@code bucketGroup} (null: every one) serves a request's (null: none named). */
    static boolean servesRatingGroup(Long bucketGroup, Long requested) {
        return requested == null || bucketGroup == null || bucketGroup.equals(requested);
    }

    /**
     * The order in which a request's buckets are used, on every store: for a rating group its
     * own before the generic ones (without one, as Open5GS sends, the generic ones first), then
     * the soonest expiry (never last), then the oldest.
     */
    static <T, E extends Comparable<? super E>> Comparator<T> useOrder(Long requested, Function<T, Long> ratingGroup,
                                                                      Function<T, E> expires, ToLongFunction<T> id) {
        return Comparator.<T>comparingInt(b -> (requested == null) == (ratingGroup.apply(b) == null) ? 0 : 1)
                .thenComparing(expires, Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparingLong(id);
    }

    /** @throws IllegalArgumentException for anything but octets, seconds, units, money */
    public static UnitType unitOf(String name) {
        return UnitType.named(name);
    }
}
