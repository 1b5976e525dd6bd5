package org.gyocs.gy.mock;

import static org.gyocs.codec.AvpCodes.*;

import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.FailedAvp;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.QuotaThresholds;
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
            if (s.finalUnitIndication() != null) {
                mscc.add(finalUnitIndication(s.finalUnitIndication()));
            }
            QuotaThresholds t = s.thresholds();
            if (t != null) {
                // 3GPP TS 32.299 7.2.x: vendor 10415 AVPs after Final-Unit-Indication
                if (t.timeQuotaThreshold() != null) {
                    mscc.add(vendor32(TIME_QUOTA_THRESHOLD, t.timeQuotaThreshold()));
                }
                if (t.volumeQuotaThreshold() != null) {
                    mscc.add(vendor32(VOLUME_QUOTA_THRESHOLD, t.volumeQuotaThreshold()));
                }
                if (t.quotaHoldingTime() != null) {
                    mscc.add(vendor32(QUOTA_HOLDING_TIME, t.quotaHoldingTime()));
                }
            }
            avps.add(Avp.grouped(MULTIPLE_SERVICES_CREDIT_CONTROL, mscc));
        }
        if (a.costInformation()) {
            // no tariffs: a PRICE_ENQUIRY costs nothing (Unit-Value 0, Currency-Code EUR)
            avps.add(Avp.grouped(COST_INFORMATION, Avp.grouped(UNIT_VALUE, Avp.unsigned64(VALUE_DIGITS, 0)),
                    Avp.unsigned32(CURRENCY_CODE, CURRENCY_EUR)));
        }
        if (a.finalUnitIndication() != null) {
            avps.add(finalUnitIndication(a.finalUnitIndication()));
        }
        if (a.checkBalanceResult() != null) {
            avps.add(Avp.unsigned32(CHECK_BALANCE_RESULT, a.checkBalanceResult()));
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
            avps.add(Avp.grouped(FAILED_AVP, new Avp(a.failedAvp().code(), Avp.FLAG_MANDATORY, a.failedAvp().vendorId(),
                    a.failedAvp().data())));
        }
        return request.answer(false, avps);
    }

    /**
     * A CCA refusing a CCR the core never saw (an unsupported or undecodable AVP): the CCA ABNF
     * (RFC 4006 section 3.2) still requires Auth-Application-Id, CC-Request-Type and
     * CC-Request-Number, which are copied when the request carried them readably (freeDiameter
     * flags an answer without them). Protocol errors (3xxx) carry the E-bit.
     */
    static DiameterMessage error(DiameterMessage request, long resultCode, String message, Avp failed,
                                 String originHost, String originRealm) {
        CreditControlAnswer a = new CreditControlAnswer(null, resultCode, readableU32(request, CC_REQUEST_TYPE),
                readableU32(request, CC_REQUEST_NUMBER), null, null, java.util.List.of(),
                failed == null ? null : failedAvp(failed), message);
        DiameterMessage cca = write(request, a, originHost, originRealm);
        boolean protocolError = resultCode >= 3000 && resultCode < 4000;
        return protocolError ? request.answer(true, cca.avps()) : cca;
    }

    /** The core's view of a received AVP, Vendor-ID included (a 3GPP AVP is reported as such). */
    static FailedAvp failedAvp(Avp a) {
        return new FailedAvp(a.code(), a.isVendorSpecific() ? a.vendorId() : 0, a.data());
    }

    private static Long readableU32(DiameterMessage request, int code) {
        Avp a = request.avp(code);
        return a == null || a.data().length != 4 ? null : java.nio.ByteBuffer.wrap(a.data()).getInt() & 0xFFFFFFFFL;
    }

    private static Avp finalUnitIndication(FinalUnitIndication f) {
        List<Avp> g = new ArrayList<>();
        g.add(Avp.unsigned32(FINAL_UNIT_ACTION, f.action().code()));
        if (f.filterId() != null) {
            g.add(Avp.utf8(FILTER_ID, f.filterId()));
        }
        if (f.redirectAddress() != null) {
            g.add(Avp.grouped(REDIRECT_SERVER, Avp.unsigned32(REDIRECT_ADDRESS_TYPE, FinalUnitIndication.REDIRECT_ADDRESS_URL),
                    Avp.utf8(REDIRECT_SERVER_ADDRESS, f.redirectAddress())));
        }
        return Avp.grouped(FINAL_UNIT_INDICATION, g);
    }

    private static Avp vendor32(int code, long value) {
        return Avp.vendor(code, VENDOR_3GPP, java.nio.ByteBuffer.allocate(4).putInt((int) value).array());
    }

    private static Avp granted(UnitAmount g) {
        return Avp.grouped(GRANTED_SERVICE_UNIT, switch (g.type()) {
            case SECONDS -> Avp.unsigned32(CC_TIME, g.amount());
            case OCTETS -> Avp.unsigned64(CC_TOTAL_OCTETS, g.amount());
            case UNITS -> Avp.unsigned64(CC_SERVICE_SPECIFIC_UNITS, g.amount());
        });
    }
}
