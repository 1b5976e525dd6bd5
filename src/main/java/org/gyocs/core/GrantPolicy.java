package org.gyocs.core;

/**
 * How much one grant may be: the default grant per unit type (for an empty Requested-Service-Unit),
 * the maximum grant per unit type (a request naming more gets the maximum), and the Validity-Time
 * sent with every grant. A balance can make the grant smaller still.
 *
 * @param defaultOctets   default CC-Total-Octets grant
 * @param defaultSeconds  default CC-Time grant
 * @param defaultUnits    default CC-Service-Specific-Units grant
 * @param maxOctets       maximum CC-Total-Octets grant
 * @param maxSeconds      maximum CC-Time grant
 * @param maxUnits        maximum CC-Service-Specific-Units grant
 * @param validityTime    Validity-Time in seconds (RFC 4006 section 8.33)
 */
public record GrantPolicy(long defaultOctets, long defaultSeconds, long defaultUnits, long maxOctets, long maxSeconds,
                          long maxUnits, long validityTime) {

    public static final GrantPolicy DEFAULT = new GrantPolicy(1_048_576, 3_600, 100, 3_600);

    /** Defaults that are also the maximum grants, as a node without balances behaves. */
    public GrantPolicy(long defaultOctets, long defaultSeconds, long defaultUnits, long validityTime) {
        this(defaultOctets, defaultSeconds, defaultUnits, defaultOctets, defaultSeconds, defaultUnits, validityTime);
    }

    public GrantPolicy {
        if (defaultOctets <= 0 || defaultSeconds <= 0 || defaultUnits <= 0) {
            throw new IllegalArgumentException("default grants must be positive");
        }
        if (maxOctets < defaultOctets || maxSeconds < defaultSeconds || maxUnits < defaultUnits) {
            throw new IllegalArgumentException("maximum grants must be at least the default grants");
        }
        if (validityTime <= 0) {
            throw new IllegalArgumentException("Validity-Time must be positive");
        }
    }

    /** The most one grant may be; money (a request for CC-Money) is bounded by the balance alone. */
    public long maxFor(UnitType type) {
        return switch (type) {
            case OCTETS -> maxOctets;
            case SECONDS -> maxSeconds;
            case UNITS -> maxUnits;
            case MONEY -> Long.MAX_VALUE;
        };
    }

    /** The grant for a Requested-Service-Unit: min(requested, maximum), or the default when it is empty. */
    public UnitAmount grantFor(ServiceUnits requested) {
        UnitAmount asked = requested.requested();
        if (asked == null) {
            return new UnitAmount(UnitType.OCTETS, defaultOctets);
        }
        return new UnitAmount(asked.type(), Math.max(0, Math.min(asked.amount(), maxFor(asked.type()))));
    }
}
