package org.gyocs.core;

import java.util.Currency;

/**
 * Cost-Information (RFC 4006 8.7): Unit-Value (Value-Digits x 10^Exponent) of the currency
 * Currency-Code (ISO 4217 number), and Cost-Unit saying what it is the cost of.
 *
 * @param exponent  null: no Exponent AVP (the value is whole units of the currency)
 * @param costUnit  null: no Cost-Unit
 */
public record CostInformation(long valueDigits, Integer exponent, int currencyCode, String costUnit) {

    /** What a node without tariffs answers a PRICE_ENQUIRY: nothing, in euros. */
    public static final CostInformation FREE = new CostInformation(0, null, 978, null);

    /** {@code minorUnits} of {@code currency}: 123 EUR cents are Value-Digits 123, Exponent -2. */
    public static CostInformation of(long minorUnits, Currency currency, String costUnit) {
        int digits = Math.max(0, currency.getDefaultFractionDigits());
        return new CostInformation(minorUnits, -digits, currency.getNumericCode(), costUnit);
    }
}
