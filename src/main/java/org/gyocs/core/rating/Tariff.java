package org.gyocs.core.rating;

import java.time.LocalTime;
import java.util.Currency;

import org.gyocs.core.UnitType;

/**
 * One row of the tariff file: on {@code plan}, {@code ratingGroup} (null: every rating group the
 * plan names no row for) costs {@code price} minor units of {@code currency} per {@code per}
 * {@code unit}s, all day, or from {@code from} until {@code to} in the node's time zone (a band;
 * {@code to} before {@code from} runs past midnight).
 */
public record Tariff(String plan, Long ratingGroup, UnitType unit, long price, long per, Currency currency,
                     LocalTime from, LocalTime to) {

    public Price asPrice() {
        return new Price(price, per, currency);
    }

    /** Whether this row is a time-of-day band rather than all day. */
    public boolean isBand() {
        return from != null;
    }
}
