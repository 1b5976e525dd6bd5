package org.gyocs.core.rating;

import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Currency;

/**
 * A tariff's price: {@code price} minor units of {@code currency} per {@code per} units.
 *
 * <p>Rounding, the rule the README states: a cost is rounded up to the next minor unit (the
 * operator never loses a fraction, the subscriber pays at most one minor unit more per report),
 * and what money buys is rounded down to whole units (so the units granted never cost more than
 * the money held for them). The arithmetic is exact: a product past 63 bits is computed in
 * BigInteger and capped, never wrapped (a wrapped cost would credit a balance).
 */
public record Price(long price, long per, Currency currency) {

    public Price {
        if (price < 0) {
            throw new IllegalArgumentException("price must not be negative");
        }
        if (per <= 0) {
            throw new IllegalArgumentException("per must be positive");
        }
    }

    /** What {@code units} cost, in minor units, rounded up; Long.MAX_VALUE when it does not fit. */
    public long cost(long units) {
        if (units <= 0 || price == 0) {
            return 0;
        }
        long high = Math.multiplyHigh(units, price);
        long low = units * price;
        if (high == 0 && low >= 0) {
            return low / per + (low % per == 0 ? 0 : 1);
        }
        BigInteger[] qr = BigInteger.valueOf(units).multiply(BigInteger.valueOf(price))
                .divideAndRemainder(BigInteger.valueOf(per));
        BigInteger c = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
        return c.bitLength() < 64 ? c.longValue() : Long.MAX_VALUE;
    }

    /** How many whole units {@code money} minor units buy, rounded down; Long.MAX_VALUE for a free tariff. */
    public long unitsFor(long money) {
        if (price == 0) {
            return Long.MAX_VALUE;
        }
        if (money <= 0) {
            return 0;
        }
        long high = Math.multiplyHigh(money, per);
        long low = money * per;
        if (high == 0 && low >= 0) {
            return low / price;
        }
        BigInteger u = BigInteger.valueOf(money).multiply(BigInteger.valueOf(per)).divide(BigInteger.valueOf(price));
        return u.bitLength() < 64 ? u.longValue() : Long.MAX_VALUE;
    }

    /** Whether a unit costs more at this price than at {@code o} (price/per compared exactly). */
    public boolean dearerThan(Price o) {
        return BigInteger.valueOf(price).multiply(BigInteger.valueOf(o.per))
                .compareTo(BigInteger.valueOf(o.price).multiply(BigInteger.valueOf(per))) > 0;
    }

    /** Minor units as a decimal amount of the currency, for people: 123 EUR cents are "1.23". */
    public static String decimal(long minorUnits, Currency currency) {
        int digits = Math.max(0, currency.getDefaultFractionDigits());
        return new java.math.BigDecimal(BigInteger.valueOf(minorUnits), digits).setScale(digits, RoundingMode.UNNECESSARY)
                .toPlainString();
    }
}
