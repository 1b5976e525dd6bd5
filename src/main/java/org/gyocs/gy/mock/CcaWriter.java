package org.gyocs.gy.mock;

import static org.gyocs.codec.AvpCodes.*;

import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.ServiceCreditAnswer;
import org.gyocs.core.UnitAmount;

/**
 * Encodes the core's answer as a CCA, AVP for AVP and flag for flag as the jDiameter mode does
 * (a test compares the two byte for byte): the CCA ABNF order of RFC 4006 section 3.2.
 */
final class CcaWriter {

    private CcaWriter() {
    }

    static DiameterMessage write(DiameterMessage request, CreditControlAnswer a, String originHost, String originRealm) {
        List<Avp> avps = new ArrayList<>();
        Avp sessionId = request.avp(SESSION_ID);
        if (sessionId != null) {
            avps.add(sessionId);
        }
        avps.add(Avp.unsigned32(RESULT_CODE, a.resultCode()));
        avps.add(Avp.utf8(ORIGIN_HOST, originHost));
        avps.add(Avp.utf8(ORIGIN_REALM, originRealm));
        avps.add(Avp.unsigned32(AUTH_APPLICATION_ID, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID));
        if (a.requestTypeCode() != null) {
            avps.add(Avp.unsigned32(CC_REQUEST_TYPE, a.requestTypeCode()));
        }
        if (a.requestNumber() != null) {
            avps.add(Avp.unsigned32(CC_REQUEST_NUMBER, a.requestNumber()));
        }
        if (a.granted() != null) {
            avps.add(granted(a.granted()));
        }
        for (ServiceCreditAnswer s : a.services()) {
            List<Avp> mscc = new ArrayList<>();
            if (s.granted() != null) {
                mscc.add(granted(s.granted()));
            }
            if (s.serviceIdentifier() != null) {
                mscc.add(Avp.unsigned32(SERVICE_IDENTIFIER, s.serviceIdentifier()));
            }
            if (s.ratingGroup() != null) {
                mscc.add(Avp.unsigned32(RATING_GROUP, s.ratingGroup()));
            }
            if (s.validityTime() != null) {
                mscc.add(Avp.unsigned32(VALIDITY_TIME, s.validityTime()));
            }
            mscc.add(Avp.unsigned32(RESULT_CODE, s.resultCode()));
            avps.add(Avp.grouped(MULTIPLE_SERVICES_CREDIT_CONTROL, mscc));
        }
        if (a.validityTime() != null) {
            avps.add(Avp.unsigned32(VALIDITY_TIME, a.validityTime()));
        }
        if (a.errorMessage() != null) {
            // RFC 6733 7.3: Error-Message MUST NOT have the M-bit set.
            avps.add(Avp.utf8(ERROR_MESSAGE, a.errorMessage()).optional());
        }
        avps.addAll(request.all(PROXY_INFO));
        if (a.failedAvp() != null) {
            avps.add(Avp.grouped(FAILED_AVP, Avp.of(a.failedAvp().code(), a.failedAvp().data())));
        }
        return request.answer(false, avps);
    }

    private static Avp granted(UnitAmount g) {
        return Avp.grouped(GRANTED_SERVICE_UNIT, switch (g.type()) {
            case SECONDS -> Avp.unsigned32(CC_TIME, g.amount());
            case OCTETS -> Avp.unsigned64(CC_TOTAL_OCTETS, g.amount());
            case UNITS -> Avp.unsigned64(CC_SERVICE_SPECIFIC_UNITS, g.amount());
        });
    }
}
