package org.gyocs.gy;

import static org.gyocs.codec.AvpCodes.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.FailedAvp;
import org.gyocs.core.ServiceCreditRequest;
import org.gyocs.core.ServiceUnits;
import org.gyocs.core.SubscriptionId;

/**
 * Turns a received CCR, through its transport's {@link AvpReader}, into the core's
 * {@link CreditControlRequest}. Every number is checked against its type here, once for both
 * transports: an Unsigned32 has 4 bytes, an Unsigned64 has 8 and stays below 2^63 (no real
 * amount is larger, and reading one as negative once credited a balance).
 */
public final class CcrReader {

    /** Tariff-Change-Usage (RFC 4006 8.27): the units of a report used after the tariff changed. */
    private static final long UNIT_AFTER_TARIFF_CHANGE = 1;

    private CcrReader() {
    }

    /**
     * Only the AVPs RFC 4006 makes mandatory (no Subscription-Id, no MSCC): enough to screen a
     * request before jDiameter's session state machine, at a fraction of the cost of {@link #read}.
     */
    public static CreditControlRequest readMandatory(AvpReader avps) throws InvalidAvpException {
        return new CreditControlRequest(utf8(avps, SESSION_ID), utf8(avps, ORIGIN_HOST), utf8(avps, ORIGIN_REALM),
                utf8(avps, DESTINATION_REALM), u32(avps, AUTH_APPLICATION_ID), utf8(avps, SERVICE_CONTEXT_ID),
                u32(avps, CC_REQUEST_TYPE), u32(avps, CC_REQUEST_NUMBER), List.of(), null, List.of(), null, null);
    }

    /**
     * @param retransmitted the T-bit of the request's header
     * @param peer          the Origin-Host of the connection's CER, or null when the transport
     *                      does not know it (the core then binds sessions to the request's own)
     */
    public static CreditControlRequest read(AvpReader avps, boolean retransmitted, String peer)
            throws InvalidAvpException {
        List<SubscriptionId> ids = new ArrayList<>(2);
        for (AvpReader sub : avps.groups(SUBSCRIPTION_ID)) {
            Long type = u32(sub, SUBSCRIPTION_ID_TYPE);
            String data = utf8(sub, SUBSCRIPTION_ID_DATA);
            if (type != null && data != null) {
                ids.add(new SubscriptionId(type.intValue(), data));
            }
        }
        List<ServiceCreditRequest> services = new ArrayList<>(2);
        for (AvpReader mscc : avps.groups(MULTIPLE_SERVICES_CREDIT_CONTROL)) {
            services.add(service(mscc));
        }
        Long action = u32(avps, REQUESTED_ACTION);
        Long aoc = u32(avps, AOC_REQUEST_TYPE, VENDOR_3GPP);
        Long cause = u32(avps, TERMINATION_CAUSE);
        return new CreditControlRequest(utf8(avps, SESSION_ID), utf8(avps, ORIGIN_HOST), utf8(avps, ORIGIN_REALM),
                utf8(avps, DESTINATION_REALM), u32(avps, AUTH_APPLICATION_ID), utf8(avps, SERVICE_CONTEXT_ID),
                u32(avps, CC_REQUEST_TYPE), u32(avps, CC_REQUEST_NUMBER), ids,
                action == null ? null : action.intValue(), services, units(avps.group(REQUESTED_SERVICE_UNIT)),
                units(avps.group(USED_SERVICE_UNIT)), retransmitted, peer, aoc == null ? null : aoc.intValue(),
                cause == null ? null : cause.intValue());
    }

    /** The value of a 4-byte AVP, or null when it is missing or not 4 bytes (for error answers). */
    public static Long readableU32(AvpReader avps, int code) {
        try {
            return u32(avps, code);
        } catch (InvalidAvpException e) {
            return null;
        }
    }

    /** A top-level UTF8String or DiameterIdentity, or null (for logs and error answers). */
    public static String utf8(AvpReader avps, int code) {
        byte[] d = avps.data(code);
        return d == null ? null : new String(d, StandardCharsets.UTF_8);
    }

    private static ServiceCreditRequest service(AvpReader g) throws InvalidAvpException {
        Long reason = u32(g, REPORTING_REASON, VENDOR_3GPP);
        return new ServiceCreditRequest(u32(g, RATING_GROUP), u32(g, SERVICE_IDENTIFIER),
                units(g.group(REQUESTED_SERVICE_UNIT)), usedUnits(g, false), reason == null ? null : reason.intValue(),
                usedUnits(g, true));
    }

    /**
     * Several Used-Service-Unit AVPs (one per tariff period, RFC 4006 8.19) are added up; with
     * {@code afterTariffChange}, only those marked Tariff-Change-Usage UNIT_AFTER_TARIFF_CHANGE
     * (null when none is), the part a tariff change prices differently.
     */
    private static ServiceUnits usedUnits(AvpReader mscc, boolean afterTariffChange) throws InvalidAvpException {
        ServiceUnits total = null;
        for (AvpReader usu : mscc.groups(USED_SERVICE_UNIT)) {
            if (afterTariffChange) {
                Long change = u32(usu, TARIFF_CHANGE_USAGE);
                if (change == null || change != UNIT_AFTER_TARIFF_CHANGE) {
                    continue;
                }
            }
            ServiceUnits u = units(usu);
            try {
                total = total == null ? u : total.plus(u);
            } catch (ArithmeticException e) {
                throw InvalidAvpException.invalidValue(usu.origin(), "(Used-Service-Unit) amounts add up past 2^63-1");
            }
        }
        return total;
    }

    private static ServiceUnits units(AvpReader g) throws InvalidAvpException {
        if (g == null) {
            return null;
        }
        AvpReader money = g.group(CC_MONEY);
        Long minorUnits = null;
        Long currency = null;
        if (money != null) {
            currency = u32(money, CURRENCY_CODE);
            minorUnits = minorUnits(money, currency);
        }
        return new ServiceUnits(u32(g, CC_TIME), u64(g, CC_TOTAL_OCTETS), u64(g, CC_INPUT_OCTETS),
                u64(g, CC_OUTPUT_OCTETS), u64(g, CC_SERVICE_SPECIFIC_UNITS), minorUnits,
                currency == null ? null : currency.intValue());
    }

    /**
     * CC-Money's Unit-Value (Value-Digits x 10^Exponent, RFC 4006 8.8) in minor units of its
     * Currency-Code (two decimals when it names none, or one Java does not know), rounded down:
     * what a request asks for is never rounded up. Negative, or past 2^63-1: 5004.
     */
    private static Long minorUnits(AvpReader money, Long currencyCode) throws InvalidAvpException {
        AvpReader value = money.group(UNIT_VALUE);
        if (value == null) {
            throw InvalidAvpException.invalidValue(new FailedAvp(CC_MONEY, new byte[0]), "has no Unit-Value");
        }
        byte[] d = value.data(VALUE_DIGITS);
        if (d == null) {
            throw InvalidAvpException.invalidValue(new FailedAvp(UNIT_VALUE, new byte[0]), "has no Value-Digits");
        }
        if (d.length != 8) {
            throw InvalidAvpException.invalidValue(new FailedAvp(VALUE_DIGITS, d), "must have 8 bytes of data, not " + d.length);
        }
        long digits = java.nio.ByteBuffer.wrap(d).getLong();
        if (digits < 0) {
            throw InvalidAvpException.invalidValue(new FailedAvp(VALUE_DIGITS, d), "a negative amount of money");
        }
        Long exponent = u32(value, EXPONENT);
        // bounded before any arithmetic: an Exponent of 10^8 once made one CCR compute 10^(10^8)
        long scale = (exponent == null ? 0 : exponent.intValue()) + (long) fractionDigits(currencyCode);
        if (digits == 0 || scale < -19) {
            return 0L; // less than one minor unit, rounded down
        }
        if (scale > 18) {
            throw InvalidAvpException.invalidValue(new FailedAvp(UNIT_VALUE, new byte[0]), "(CC-Money) exceeds 2^63-1 minor units");
        }
        java.math.BigDecimal minor = java.math.BigDecimal.valueOf(digits).scaleByPowerOfTen((int) scale)
                .setScale(0, java.math.RoundingMode.DOWN);
        if (minor.toBigInteger().bitLength() > 63) {
            throw InvalidAvpException.invalidValue(new FailedAvp(UNIT_VALUE, new byte[0]), "(CC-Money) exceeds 2^63-1 minor units");
        }
        return minor.longValueExact();
    }

    /** ISO 4217 number to the currency's decimals, made once (not a scan of every currency per CC-Money). */
    private static final java.util.Map<Integer, Integer> FRACTION_DIGITS = java.util.Currency.getAvailableCurrencies()
            .stream().filter(c -> c.getNumericCode() > 0 && c.getDefaultFractionDigits() >= 0)
            .collect(java.util.stream.Collectors.toMap(java.util.Currency::getNumericCode,
                    java.util.Currency::getDefaultFractionDigits, (a, b) -> a));

    private static int fractionDigits(Long currencyCode) {
        Integer digits = currencyCode == null || currencyCode > Integer.MAX_VALUE ? null
                : FRACTION_DIGITS.get(currencyCode.intValue());
        return digits == null ? 2 : digits;
    }

    private static Long u32(AvpReader avps, int code) throws InvalidAvpException {
        return u32(avps, code, 0);
    }

    /** Unsigned32, Enumerated and Integer32 share the 4-byte layout; anything else is invalid. */
    private static Long u32(AvpReader avps, int code, long vendorId) throws InvalidAvpException {
        byte[] d = avps.data(code, vendorId);
        if (d == null) {
            return null;
        }
        if (d.length != 4) {
            throw InvalidAvpException.invalidValue(new FailedAvp(code, vendorId, d),
                    "must have 4 bytes of data, not " + d.length);
        }
        return ((d[0] & 0xFFL) << 24) | ((d[1] & 0xFFL) << 16) | ((d[2] & 0xFFL) << 8) | (d[3] & 0xFFL);
    }

    private static Long u64(AvpReader avps, int code) throws InvalidAvpException {
        byte[] d = avps.data(code);
        if (d == null) {
            return null;
        }
        if (d.length != 8) {
            throw InvalidAvpException.invalidValue(new FailedAvp(code, d), "must have 8 bytes of data, not " + d.length);
        }
        long v = 0;
        for (byte b : d) {
            v = (v << 8) | (b & 0xFFL);
        }
        if (v < 0) {
            // Unsigned64 above 2^63-1 cannot be a real amount (and capping it hid that)
            throw InvalidAvpException.invalidValue(new FailedAvp(code, d), "exceeds 2^63-1");
        }
        return v;
    }
}
