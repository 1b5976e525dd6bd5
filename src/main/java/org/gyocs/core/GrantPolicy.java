package org.gyocs.core;

/**
 * How much the node grants when no balance limits it: the default grant per unit type and the
 * Validity-Time sent with every grant. A request that names an amount gets the smaller of it and
 * the default; an empty Requested-Service-Unit gets the default.
 *
 * @param defaultOctets   default CC-Total-Octets grant
 * @param defaultSeconds  default CC-Time grant
 * @param defaultUnits    default CC-Service-Specific-Units grant
 * @param validityTime    Validity-Time in seconds (RFC 4006 section 8.33); jDiameter sets Tcc to twice it
 */
public record GrantPolicy(long defaultOctets, long defaultSeconds, long defaultUnits, long validityTime) {

    public static final GrantPolicy DEFAULT = new GrantPolicy(1_048_576, 3_600, 100, 3_600);

    public GrantPolicy {
        if (defaultOctets <= 0 || defaultSeconds <= 0 || defaultUnits <= 0) {
            throw new IllegalArgumentException("default grants must be positive");
        }
        if (validityTime <= 0) {
            throw new IllegalArgumentException("Validity-Time must be positive");
        }
    }

    public long defaultFor(UnitType type) {
        return switch (type) {
            case OCTETS -> defaultOctets;
            case SECONDS -> defaultSeconds;
            case UNITS -> defaultUnits;
        };
    }

    /** The grant for a Requested-Service-Unit: min(requested, default), or the default when it is empty. */
    public UnitAmount grantFor(ServiceUnits requested) {
        UnitAmount asked = requested.requested();
        if (asked == null) {
            return new UnitAmount(UnitType.OCTETS, defaultOctets);
        }
        return new UnitAmount(asked.type(), Math.max(0, Math.min(asked.amount(), defaultFor(asked.type()))));
    }
}
