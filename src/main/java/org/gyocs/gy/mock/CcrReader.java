package org.gyocs.gy.mock;

import static org.gyocs.codec.AvpCodes.*;

import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.ServiceCreditRequest;
import org.gyocs.core.ServiceUnits;
import org.gyocs.core.SubscriptionId;

/** Turns a decoded CCR into the core's {@link CreditControlRequest}; the mock-mode twin of the jDiameter reader. */
final class CcrReader {

    private CcrReader() {
    }

    /** @param peer the Origin-Host of the connection's CER */
    static CreditControlRequest read(DiameterMessage m, String peer) throws DiameterDecodeException {
        List<Avp> avps = m.avps();
        List<SubscriptionId> ids = new ArrayList<>();
        for (Avp sub : m.all(SUBSCRIPTION_ID)) {
            List<Avp> g = sub.group();
            Long type = u32(g, SUBSCRIPTION_ID_TYPE);
            String data = utf8(g, SUBSCRIPTION_ID_DATA);
            if (type != null && data != null) {
                ids.add(new SubscriptionId(type.intValue(), data));
            }
        }
        List<ServiceCreditRequest> services = new ArrayList<>();
        for (Avp mscc : m.all(MULTIPLE_SERVICES_CREDIT_CONTROL)) {
            services.add(service(mscc.group()));
        }
        Long action = u32(avps, REQUESTED_ACTION);
        return new CreditControlRequest(utf8(avps, SESSION_ID), utf8(avps, ORIGIN_HOST), utf8(avps, ORIGIN_REALM),
                utf8(avps, DESTINATION_REALM), u32(avps, AUTH_APPLICATION_ID), utf8(avps, SERVICE_CONTEXT_ID),
                u32(avps, CC_REQUEST_TYPE), u32(avps, CC_REQUEST_NUMBER), ids,
                action == null ? null : action.intValue(), services, units(avps, REQUESTED_SERVICE_UNIT),
                units(avps, USED_SERVICE_UNIT), (m.flags() & DiameterMessage.FLAG_RETRANSMITTED) != 0, peer);
    }

    private static ServiceCreditRequest service(List<Avp> g) throws DiameterDecodeException {
        Long reason = null;
        for (Avp a : g) {
            if (a.code() == REPORTING_REASON && a.vendorId() == AvpCodes.VENDOR_3GPP) {
                reason = a.unsigned32();
                break;
            }
        }
        return new ServiceCreditRequest(u32(g, RATING_GROUP), u32(g, SERVICE_IDENTIFIER),
                units(g, REQUESTED_SERVICE_UNIT), usedUnits(g), reason == null ? null : reason.intValue());
    }

    /** Several Used-Service-Unit AVPs (one per tariff period, RFC 4006 8.19) are added up. */
    private static ServiceUnits usedUnits(List<Avp> g) throws DiameterDecodeException {
        ServiceUnits total = null;
        for (Avp usu : g) {
            if (usu.code() == USED_SERVICE_UNIT && !usu.isVendorSpecific()) {
                ServiceUnits u = units(usu.group());
                try {
                    total = total == null ? u : total.plus(u);
                } catch (ArithmeticException e) {
                    throw DiameterDecodeException.invalidAvp(usu, "Used-Service-Unit amounts add up past 2^63-1");
                }
            }
        }
        return total;
    }


    private static ServiceUnits units(List<Avp> parent, int code) throws DiameterDecodeException {
        Avp a = DiameterMessage.find(parent, code);
        return a == null ? null : units(a.group());
    }

    private static ServiceUnits units(List<Avp> g) throws DiameterDecodeException {
        return new ServiceUnits(u32(g, CC_TIME), u64(g, CC_TOTAL_OCTETS), u64(g, CC_INPUT_OCTETS),
                u64(g, CC_OUTPUT_OCTETS), u64(g, CC_SERVICE_SPECIFIC_UNITS));
    }

    private static String utf8(List<Avp> avps, int code) {
        Avp a = DiameterMessage.find(avps, code);
        return a == null ? null : a.utf8();
    }

    private static Long u32(List<Avp> avps, int code) throws DiameterDecodeException {
        Avp a = DiameterMessage.find(avps, code);
        return a == null ? null : a.unsigned32();
    }

    private static Long u64(List<Avp> avps, int code) throws DiameterDecodeException {
        Avp a = DiameterMessage.find(avps, code);
        return a == null ? null : a.unsigned64();
    }
}
