package org.gyocs.core.rating;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneId;
import java.util.Currency;
import java.util.List;

import org.gyocs.core.UnitType;
import org.junit.jupiter.api.Test;

class TariffBookTest {
    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    static TariffBook book(String csv, ZoneId zone) {
        return new TariffBook(TariffCsv.parse(csv.lines().toList(), "tariffs.csv"), zone);
    }

    private static final String FILE = """
            plan,rating_group,unit,price,per,currency,from,to
            # data: 2 cents per MiB all day; rating group 20 (video) dearer by day
            default,,octets,2,1048576,EUR,,
            default,20,octets,5,1048576,EUR,08:00,20:00
            default,20,octets,1,1048576,EUR,20:00,08:00
            default,,seconds,10,60,EUR,,
            gold,,octets,1,1048576,EUR,,
            """;

    @Test
    void theRowOfTheRatingGroupElseThePlansRowWithoutOne() {
        TariffBook b = book(FILE, PARIS);
        Instant noonParis = Instant.parse("2026-12-02T11:00:00Z");
        assertEquals(2, b.rate(null, 10L, UnitType.OCTETS, noonParis).price().price(), "no plan: the default plan");
        assertEquals(2, b.rate(null, null, UnitType.OCTETS, noonParis).price().price(), "no rating group (Open5GS)");
        assertEquals(5, b.rate("default", 20L, UnitType.OCTETS, noonParis).price().price(), "its own row, by day");
        assertEquals(1, b.rate("gold", 20L, UnitType.OCTETS, noonParis).price().price());
        assertNull(b.rate("gold", 20L, UnitType.SECONDS, noonParis), "gold prices no seconds: units only");
        assertNull(b.rate("silver", 20L, UnitType.OCTETS, noonParis), "a plan without rows prices nothing");
        assertNull(b.rate(null, 20L, UnitType.UNITS, noonParis));
        assertNull(b.rate(null, 20L, UnitType.MONEY, noonParis), "money is not priced");
        assertEquals(Currency.getInstance("EUR"), b.currency(null));
        assertNull(b.currency("silver"));
        assertNull(b.rate(null, 10L, UnitType.OCTETS, noonParis).changesAt(), "all day: no change");
    }

    @Test
    void aBandSaysWhenItEndsAndWhatComesAfterInTheNodesTimeZone() {
        TariffBook b = book(FILE, PARIS);
        TariffBook.Rate day = b.rate(null, 20L, UnitType.OCTETS, Instant.parse("2026-12-02T18:59:00Z"));
        assertEquals(5, day.price().price());
        assertEquals(Instant.parse("2026-12-02T19:00:00Z"), day.changesAt(), "20:00 in Paris (UTC+1 in December)");
        assertEquals(1, day.after().price());
        TariffBook.Rate night = b.rate(null, 20L, UnitType.OCTETS, Instant.parse("2026-12-02T23:30:00Z"));
        assertEquals(1, night.price().price(), "00:30 in Paris: the night band that started at 20:00");
        assertEquals(Instant.parse("2026-12-03T07:00:00Z"), night.changesAt());
        assertEquals(5, night.after().price());
        TariffBook.Rate summer = b.rate(null, 20L, UnitType.OCTETS, Instant.parse("2026-07-01T05:00:00Z"));
        assertEquals(Instant.parse("2026-07-01T06:00:00Z"), summer.changesAt(), "08:00 in Paris in summer is 06:00 UTC");
        TariffBook utc = b.inZone(ZoneId.of("UTC"));
        assertEquals(1, utc.rate(null, 20L, UnitType.OCTETS, Instant.parse("2026-12-02T07:30:00Z")).price().price());
    }

    @Test
    void splitUsageIsPricedOnEachSideOfTheChange() {
        TariffBook.Rate day = book(FILE, PARIS).rate(null, 20L, UnitType.OCTETS, Instant.parse("2026-12-02T18:59:00Z"));
        assertEquals(5 + 1, day.cost(2 * 1_048_576, 1_048_576), "1 MiB before at 5, 1 MiB after at 1");
        assertEquals(10, day.cost(2 * 1_048_576, 0), "not split: the band in force when granted");
        assertEquals(2, day.cost(2 * 1_048_576, 5 * 1_048_576), "more after than used: all of it after");
        assertEquals(0, day.cost(0, 10));
        assertEquals(1, day.cost(2, 1), "1 octet at 5 and 1 at 1 cent per MiB: rounded up once, not on each side");
    }

    @Test
    void badRowsNameTheirLineAndNothingIsTaken() {
        String head = "plan,rating_group,unit,price,per,currency,from,to\n";
        assertEquals("t.csv: line 3: currency must be an ISO 4217 code such as EUR, not 'EURO'", error(head
                + "default,,octets,2,1048576,EUR,,\ndefault,,seconds,1,1,EURO,,\n"));
        assertTrue(error(head + "default,,octets,2,0,EUR,,\n").contains("line 2: per must be at least 1"));
        assertTrue(error(head + "default,,octets,-2,1,EUR,,\n").contains("line 2: price must not be negative"));
        assertTrue(error(head + "default,x,octets,2,1,EUR,,\n").contains("line 2: rating_group must be a whole number"));
        assertTrue(error(head + "default,,money,2,1,EUR,,\n").contains("line 2: unit must be octets, seconds or units"));
        assertTrue(error(head + "default,,octets,2,1,EUR,8:00,20:00\n").contains("line 2: from must be a time of day HH:MM"));
        assertTrue(error(head + "default,,octets,2,1,EUR,08:00\n").contains("line 2: expected 6 or 8 fields"));
        assertTrue(error(head + "default,,octets,2,1,EUR,,\ndefault,,seconds,2,1,USD,,\n")
                .contains("line 3: plan default is priced in EUR at line 2, not USD: one currency per plan"));
        assertTrue(error(head + "default,,octets,2,1,EUR,08:00,20:00\n")
                .contains("line 2: plan default, rating group (any), octets: the bands leave the day unpriced from 00:00 to 08:00"));
        assertTrue(error(head + "default,,octets,2,1,EUR,08:00,20:00\ndefault,,octets,1,1,EUR,19:00,08:00\n")
                .contains("line 3: plan default, rating group (any), octets: the band 19:00-08:00 overlaps line 2 at 19:00"));
        assertTrue(error(head + "default,,octets,2,1,EUR,,\ndefault,,octets,1,1,EUR,,\n").contains("line 3: plan default, rating group (any), octets is priced already at line 2, all day"));
        assertTrue(error("plan,price\n").contains("line 1: the header must be"));
        assertEquals(0, TariffCsv.parse(List.of(head.trim()), "t.csv").size(), "a header alone: no tariffs, nothing priced");
    }

    @Test
    void theFileWrittenBackReadsTheSame() {
        List<Tariff> rows = TariffCsv.parse(FILE.lines().toList(), "a");
        assertEquals(rows, TariffCsv.parse(TariffCsv.write(rows).lines().toList(), "b"));
    }

    private static String error(String csv) {
        return assertThrows(IllegalArgumentException.class, () -> TariffCsv.parse(csv.lines().toList(), "t.csv"))
                .getMessage();
    }
}
