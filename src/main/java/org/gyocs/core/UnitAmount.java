package org.gyocs.core;

import java.time.Instant;
import java.util.Currency;

/**
 * An amount of one unit type, e.g. a grant of 1048576 octets: what a Granted-Service-Unit carries.
 *
 * @param currency          the currency of a MONEY amount (minor units of it), else null
 * @param tariffTimeChange  Tariff-Time-Change (RFC 4006 8.20): when the price of the granted units
 *                          changes within the grant's validity, else null
 */
public record UnitAmount(UnitType type, long amount, Currency currency, Instant tariffTimeChange) {

    public UnitAmount(UnitType type, long amount) {
        this(type, amount, null, null);
    }

    /** The same amount expressed as a Granted-Service-Unit. */
    public ServiceUnits toServiceUnits() {
        return switch (type) {
            case OCTETS -> ServiceUnits.octets(amount);
            case SECONDS -> ServiceUnits.seconds(amount);
            case UNITS -> ServiceUnits.units(amount);
            case MONEY -> ServiceUnits.money(amount);
        };
    }

    @Override
    public String toString() {
        return amount + " " + (type == UnitType.MONEY && currency != null ? currency.getCurrencyCode() + " minor units"
                : type.csvName());
    }
}
