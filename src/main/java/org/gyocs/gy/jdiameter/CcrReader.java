package org.gyocs.gy.jdiameter;

import static org.gyocs.codec.AvpCodes.REPORTING_REASON;
import static org.gyocs.codec.AvpCodes.VENDOR_3GPP;

import java.util.ArrayList;
import java.util.List;

import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.ServiceCreditRequest;
import org.gyocs.core.ServiceUnits;
import org.gyocs.core.SubscriptionId;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpDataException;
import org.jdiameter.api.AvpSet;
import org.jdiameter.api.Message;

/** Turns a jDiameter CCR into the core's {@link CreditControlRequest}. */
final class CcrReader {
    private CcrReader() {
    }

    /**
     * Only the AVPs RFC 4006 makes mandatory (no Subscription-Id, no MSCC): enough to screen a
     * request before jDiameter's state machine, at a fraction of the cost of {@link #read}.
     */
    static CreditControlRequest readMandatory(Message m) throws InvalidAvpException {
        AvpSet avps = m.getAvps();
        return new CreditControlRequest(utf8(avps, Avp.SESSION_ID), utf8(avps, Avp.ORIGIN_HOST),
                utf8(avps, Avp.ORIGIN_REALM), utf8(avps, Avp.DESTINATION_REALM), u32(avps, Avp.AUTH_APPLICATION_ID),
                utf8(avps, Avp.SERVICE_CONTEXT_ID), u32(avps, Avp.CC_REQUEST_TYPE), u32(avps, Avp.CC_REQUEST_NUMBER),
                List.of(), null, List.of(), null, null);
    }

    static CreditControlRequest read(Message m) throws InvalidAvpException {
        AvpSet avps = m.getAvps();
        List<SubscriptionId> ids = new ArrayList<>();
        for (Avp sub : avps.getAvps(Avp.SUBSCRIPTION_ID)) {
            AvpSet g = grouped(sub);
            Long type = u32(g, Avp.SUBSCRIPTION_ID_TYPE);
            String data = utf8(g, Avp.SUBSCRIPTION_ID_DATA);
            if (type != null && data != null) {
                ids.add(new SubscriptionId(type.intValue(), data));
            }
        }
        List<ServiceCreditRequest> services = new ArrayList<>();
        for (Avp mscc : avps.getAvps(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL)) {
            services.add(service(grouped(mscc)));
        }
        Long action = u32(avps, Avp.REQUESTED_ACTION);
        return new CreditControlRequest(
                utf8(avps, Avp.SESSION_ID),
                utf8(avps, Avp.ORIGIN_HOST),
                utf8(avps, Avp.ORIGIN_REALM),
                utf8(avps, Avp.DESTINATION_REALM),
                u32(avps, Avp.AUTH_APPLICATION_ID),
                utf8(avps, Avp.SERVICE_CONTEXT_ID),
                u32(avps, Avp.CC_REQUEST_TYPE),
                u32(avps, Avp.CC_REQUEST_NUMBER),
                ids,
                action == null ? null : action.intValue(),
                services,
                units(avps, Avp.REQUESTED_SERVICE_UNIT),
                units(avps, Avp.USED_SERVICE_UNIT),
                m instanceof org.jdiameter.api.Request req && req.isReTransmitted(), peerOf(m));
    }

    /**
     * The peer a request came from: the Origin-Host its connection's CER gave, as jDiameter
     * records it on the received message; null when jDiameter did not (then the core binds
     * sessions to the request's own Origin-Host).
     */
    static String peerOf(Message m) {
        try {
            if (m instanceof org.jdiameter.client.api.IMessage im && im.getPeer() != null
                    && im.getPeer().getUri() != null) {
                return im.getPeer().getUri().getFQDN();
            }
        } catch (RuntimeException e) {
            // no peer recorded
        }
        return null;
    }

    private static ServiceCreditRequest service(AvpSet g) throws InvalidAvpException {
        Long reason = null;
        Avp rr = g.getAvp(REPORTING_REASON, VENDOR_3GPP);
        if (rr != null) {
            reason = u32(rr);
        }
        return new ServiceCreditRequest(u32(g, Avp.RATING_GROUP), u32(g, Avp.SERVICE_IDENTIFIER_CCA),
                units(g, Avp.REQUESTED_SERVICE_UNIT), usedUnits(g), reason == null ? null : reason.intValue());
    }

    /** Several Used-Service-Unit AVPs (one per tariff period, RFC 4006 8.19) are added up. */
    private static ServiceUnits usedUnits(AvpSet g) throws InvalidAvpException {
        ServiceUnits total = null;
        for (Avp usu : g.getAvps(Avp.USED_SERVICE_UNIT)) {
            ServiceUnits u = units(grouped(usu));
            try {
                total = total == null ? u : total.plus(u);
            } catch (ArithmeticException e) {
                throw new InvalidAvpException(usu.getCode(), usu.getVendorId(), raw(usu),
                        "(Used-Service-Unit) amounts add up past 2^63-1", e);
            }
        }
        return total;
    }


    private static ServiceUnits units(AvpSet parent, int code) throws InvalidAvpException {
        Avp a = parent.getAvp(code);
        return a == null ? null : units(grouped(a));
    }

    private static ServiceUnits units(AvpSet g) throws InvalidAvpException {
        return new ServiceUnits(u32(g, Avp.CC_TIME), u64(g, Avp.CC_TOTAL_OCTETS), u64(g, Avp.CC_INPUT_OCTETS),
                u64(g, Avp.CC_OUTPUT_OCTETS), u64(g, Avp.CC_SERVICE_SPECIFIC_UNITS));
    }

    private static AvpSet grouped(Avp a) throws InvalidAvpException {
        try {
            return a.getGrouped();
        } catch (AvpDataException e) {
            throw invalid(a, e);
        }
    }

    private static String utf8(AvpSet set, int code) throws InvalidAvpException {
        Avp a = set.getAvp(code);
        if (a == null) {
            return null;
        }
        try {
            return a.getUTF8String();
        } catch (AvpDataException e) {
            throw invalid(a, e);
        }
    }

    private static Long u32(AvpSet set, int code) throws InvalidAvpException {
        Avp a = set.getAvp(code);
        return a == null ? null : u32(a);
    }

    /** Unsigned32 and Enumerated share the 4-byte layout; anything else is invalid. */
    private static Long u32(Avp a) throws InvalidAvpException {
        byte[] raw = raw(a);
        if (raw.length != 4) {
            throw new InvalidAvpException(a.getCode(), a.getVendorId(), raw, "must have 4 bytes of data, not " + raw.length, null);
        }
        return ((raw[0] & 0xFFL) << 24) | ((raw[1] & 0xFFL) << 16) | ((raw[2] & 0xFFL) << 8) | (raw[3] & 0xFFL);
    }

    /** The value of a 4-byte AVP, or null when it is missing or not 4 bytes (for error answers). */
    static Long readableU32(AvpSet set, int code) {
        try {
            return u32(set, code);
        } catch (InvalidAvpException e) {
            return null;
        }
    }

    private static Long u64(AvpSet set, int code) throws InvalidAvpException {
        Avp a = set.getAvp(code);
        if (a == null) {
            return null;
        }
        byte[] raw = raw(a);
        if (raw.length != 8) {
            throw new InvalidAvpException(a.getCode(), a.getVendorId(), raw, "must have 8 bytes of data, not " + raw.length, null);
        }
        long v = 0;
        for (byte b : raw) {
            v = (v << 8) | (b & 0xFFL);
        }
        if (v < 0) {
            // Unsigned64 above 2^63-1 cannot be a real amount (and capping it hid that)
            throw new InvalidAvpException(a.getCode(), a.getVendorId(), raw, "exceeds 2^63-1", null);
        }
        return v;
    }

    private static byte[] raw(Avp a) throws InvalidAvpException {
        try {
            return a.getRaw();
        } catch (AvpDataException e) {
            throw invalid(a, e);
        }
    }

    private static InvalidAvpException invalid(Avp a, Exception cause) {
        byte[] raw;
        try {
            raw = a.getRaw();
        } catch (AvpDataException e) {
            raw = new byte[0];
        }
        return new InvalidAvpException(a.getCode(), a.getVendorId(), raw, "has invalid data", cause);
    }
}
