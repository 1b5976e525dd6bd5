package org.gyocs.core.rating;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Currency;

import org.junit.jupiter.api.Test;

class PriceTest {
    private static final Currency EUR = Currency.getInstance("EUR");
    /** 2 cents per MiB */
    private final Price perMiB = new Price(2, 1_048_576, EUR);

    @Test
    void aCostIsRoundedUpToTheMinorUnitNeverDown() {
        assertEquals(0, perMiB.cost(0));
        assertEquals(1, perMiB.cost(1), "one octet costs a whole cent: the operator never loses a fraction");
        assertEquals(1, perMiB.cost(524_288), "half a MiB: exactly 1 cent");
        assertEquals(2, perMiB.cost(524_289));
        assertEquals(2, perMiB.cost(1_048_576));
        assertEquals(3, perMiB.cost(1_048_577));
        // the subscriber pays at most one minor unit more per report than the exact price
        for (long units : new long[] {1, 7, 1_000_003, 123_456_789}) {
            double exact = units * 2.0 / 1_048_576;
            long charged = perMiB.cost(units);
            assertEquals(true, charged >= exact && charged < exact + 1, units + " octets: " + charged + " for " + exact);
        }
    }

    @Test
    void moneyBuysWholeUnitsRoundedDownSoTheirCostNeverExceedsIt() {
        assertEquals(0, perMiB.unitsFor(0));
        assertEquals(524_288, perMiB.unitsFor(1));
        assertEquals(1_048_576 * 50L, perMiB.unitsFor(100));
        Price threeFor7 = new Price(7, 3, EUR); // 7 cents per 3 units
        for (long money = 0; money < 100; money++) {
            long units = threeFor7.unitsFor(money);
            assertEquals(true, threeFor7.cost(units) <= money, money + " buys " + units);
            assertEquals(true, threeFor7.cost(units + 1) > money, money + " buys no more than " + units);
        }
    }

    @Test
    void productsPast63BitsAreExactOrCappedNeverWrapped() {
        Price dear = new Price(Long.MAX_VALUE / 2, 1, EUR);
        assertEquals(Long.MAX_VALUE, dear.cost(3), "capped: a wrapped product would be a negative cost");
        Price big = new Price(3, 4, EUR);
        long units = Long.MAX_VALUE / 2;
        long exact = java.math.BigInteger.valueOf(units).multiply(java.math.BigInteger.valueOf(3))
                .add(java.math.BigInteger.valueOf(3)).divide(java.math.BigInteger.valueOf(4)).longValueExact();
        assertEquals(exact, big.cost(units), "a product past 63 bits, a cost within: exact through BigInteger");
        assertTrue(big.unitsFor(big.cost(units)) >= units, "what a cost was paid for, money buys again");
        Price cheap = new Price(1, 1_000_000, EUR);
        assertEquals(Long.MAX_VALUE, cheap.unitsFor(Long.MAX_VALUE), "more units than a long holds: capped");
        Price free = new Price(0, 1, EUR);
        assertEquals(0, free.cost(Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, free.unitsFor(0), "a free tariff: any amount");
    }

    @Test
    void aPriceNeedsAPositivePerAndNoNegativePrice() {
        assertThrows(IllegalArgumentException.class, () -> new Price(1, 0, EUR));
        assertThrows(IllegalArgumentException.class, () -> new Price(-1, 1, EUR));
        assertEquals("1.23", Price.decimal(123, EUR));
        assertEquals("123", Price.decimal(123, Currency.getInstance("JPY")));
    }
}
