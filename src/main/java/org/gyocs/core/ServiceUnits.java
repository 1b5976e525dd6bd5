package org.gyocs.core;

/**
 * The content of a Requested-, Used- or Granted-Service-Unit AVP. Each field is null when the
 * AVP did not carry it; a Requested-Service-Unit with every field null is the "empty RSU" that
 * Open5GS sends to ask for the default quota.
 *
 * @param money         CC-Money in minor units of {@code currencyCode} (cents of EUR), null when absent
 * @param currencyCode  the CC-Money's Currency-Code (ISO 4217 number), null when absent or without CC-Money
 */
public record ServiceUnits(Long time, Long totalOctets, Long inputOctets, Long outputOctets, Long serviceSpecificUnits,
                           Long money, Integer currencyCode) {

    public static final ServiceUnits EMPTY = new ServiceUnits(null, null, null, null, null);

    /** Service units without CC-Money. */
    public ServiceUnits(Long time, Long totalOctets, Long inputOctets, Long outputOctets, Long serviceSpecificUnits) {
        this(time, totalOctets, inputOctets, outputOctets, serviceSpecificUnits, null, null);
    }

    public static ServiceUnits octets(long n) {
        return new ServiceUnits(null, n, null, null, null);
    }

    public static ServiceUnits seconds(long n) {
        return new ServiceUnits(n, null, null, null, null);
    }

    public static ServiceUnits units(long n) {
        return new ServiceUnits(null, null, null, null, n);
    }

    /** CC-Money in minor units, of a currency the core fills in where it matters (the plan's). */
    public static ServiceUnits money(long minorUnits) {
        return new ServiceUnits(null, null, null, null, null, minorUnits, null);
    }

    /**
     * Field-wise sum, for several Used-Service-Unit AVPs of one MSCC (one per tariff period, RFC
     * 4006 8.19). Exact: a sum past 2^63-1 throws {@link ArithmeticException}, which the reader
     * answers 5004, since a wrapped sum is a negative usage that would credit the balance.
     */
    public ServiceUnits plus(ServiceUnits o) {
        return new ServiceUnits(sum(time, o.time), sum(totalOctets, o.totalOctets), sum(inputOctets, o.inputOctets),
                sum(outputOctets, o.outputOctets), sum(serviceSpecificUnits, o.serviceSpecificUnits),
                sum(money, o.money), currencyCode != null ? currencyCode : o.currencyCode);
    }

    private static Long sum(Long a, Long b) {
        if (a == null) {
            return b; // (a ternary here once unboxed a null b: two USUs of different units threw NullPointerException)
        }
        return b == null ? a : Long.valueOf(Math.addExact(a, b));
    }

    /** CC-Input-Octets plus CC-Output-Octets, the octets of a report without CC-Total-Octets; exact. */
    public long inputPlusOutputOctets() {
        return Math.addExact(inputOctets == null ? 0 : inputOctets, outputOctets == null ? 0 : outputOctets);
    }

    /** Whether {@link #inputPlusOutputOctets()} fits in 63 bits (the core refuses a request where it does not). */
    public boolean octetsInRange() {
        return inputOctets == null || outputOctets == null || inputOctets <= Long.MAX_VALUE - outputOctets;
    }

    public boolean isEmpty() {
        return time == null && totalOctets == null && inputOctets == null && outputOctets == null
                && serviceSpecificUnits == null && money == null;
    }

    /** This report's amount in one unit: what a reservation of that unit charges (other units are not its). */
    public long amountOf(UnitType unit) {
        return switch (unit) {
            case OCTETS -> totalOctets != null ? totalOctets : inputPlusOutputOctets();
            case SECONDS -> time == null ? 0 : time;
            case UNITS -> serviceSpecificUnits == null ? 0 : serviceSpecificUnits;
            case MONEY -> money == null ? 0 : money;
        };
    }

    /**
     * The unit type and amount a request asks for, or null for an empty RSU. Octets win over
     * time, units and money when a request names several, as the data bearer is what Gy charges first.
     */
    public UnitAmount requested() {
        if (totalOctets != null) {
            return new UnitAmount(UnitType.OCTETS, totalOctets);
        }
        if (inputOctets != null || outputOctets != null) {
            return new UnitAmount(UnitType.OCTETS, inputPlusOutputOctets());
        }
        if (time != null) {
            return new UnitAmount(UnitType.SECONDS, time);
        }
        if (serviceSpecificUnits != null) {
            return new UnitAmount(UnitType.UNITS, serviceSpecificUnits);
        }
        if (money != null) {
            return new UnitAmount(UnitType.MONEY, money);
        }
        return null;
    }
}
