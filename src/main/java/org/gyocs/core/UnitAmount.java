package org.gyocs.core;

/** An amount of one unit type, e.g. a grant of 1048576 octets. */
public record UnitAmount(UnitType type, long amount) {

    /** The same amount expressed as a Granted-Service-Unit. */
    public ServiceUnits toServiceUnits() {
        return switch (type) {
            case OCTETS -> ServiceUnits.octets(amount);
            case SECONDS -> ServiceUnits.seconds(amount);
            case UNITS -> ServiceUnits.units(amount);
        };
    }

    @Override
    public String toString() {
        return amount + " " + type.name().toLowerCase();
    }
}
