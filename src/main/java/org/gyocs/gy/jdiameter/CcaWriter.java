package org.gyocs.gy.jdiameter;

import static org.gyocs.codec.AvpCodes.CURRENCY_EUR;
import static org.gyocs.codec.AvpCodes.FILTER_ID;
import static org.gyocs.codec.AvpCodes.QUOTA_HOLDING_TIME;
import static org.gyocs.codec.AvpCodes.TIME_QUOTA_THRESHOLD;
import static org.gyocs.codec.AvpCodes.VENDOR_3GPP;
import static org.gyocs.codec.AvpCodes.VOLUME_QUOTA_THRESHOLD;

import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.QuotaThresholds;
import org.gyocs.core.ServiceCreditAnswer;
import org.gyocs.core.UnitAmount;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpSet;
import org.jdiameter.api.Request;

/**
 * Encodes the core's {@link CreditControlAnswer} as a jDiameter CCA, with the AVPs in the order of
 * the CCA ABNF of RFC 4006 section 3.2 (jDiameter would append Origin-Host/Realm at the end).
 */
final class CcaWriter {
    private CcaWriter() {
    }

    static Answer write(Request request, CreditControlAnswer a, String originHost, String originRealm) {
        // createAnswer() copies Session-Id, Auth-Application-Id and Proxy-Info; we re-add the
        // last two in their ABNF places.
        Answer answer = request.createAnswer();
        // RFC 6733 section 3: the T-bit MUST NOT be set in answers; jDiameter copies it from the request.
        answer.setReTransmitted(false);
        AvpSet set = answer.getAvps();
        set.removeAvp(Avp.AUTH_APPLICATION_ID);
        AvpSet proxyInfo = set.removeAvp(Avp.PROXY_INFO);
        set.addAvp(Avp.RESULT_CODE, a.resultCode(), true, false, true);
        set.addAvp(Avp.ORIGIN_HOST, originHost, true, false, true);
        set.addAvp(Avp.ORIGIN_REALM, originRealm, true, false, true);
        set.addAvp(Avp.AUTH_APPLICATION_ID, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID, true, false, true);
        if (a.requestTypeCode() != null) {
            set.addAvp(Avp.CC_REQUEST_TYPE, a.requestTypeCode().intValue(), true, false);
        }
        if (a.requestNumber() != null) {
            set.addAvp(Avp.CC_REQUEST_NUMBER, a.requestNumber(), true, false, true);
        }
        if (a.granted() != null) {
            addGranted(set, a.granted());
        }
        for (ServiceCreditAnswer s : a.services()) {
            AvpSet mscc = set.addGroupedAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, true, false);
            if (s.granted() != null) {
                addGranted(mscc, s.granted());
            }
            if (s.serviceIdentifier() != null) {
                mscc.addAvp(Avp.SERVICE_IDENTIFIER_CCA, s.serviceIdentifier(), true, false, true);
            }
            if (s.ratingGroup() != null) {
                mscc.addAvp(Avp.RATING_GROUP, s.ratingGroup(), true, false, true);
            }
            if (s.validityTime() != null) {
                mscc.addAvp(Avp.VALIDITY_TIME, s.validityTime(), true, false, true);
            }
            mscc.addAvp(Avp.RESULT_CODE, s.resultCode(), true, false, true);
            if (s.finalUnitIndication() != null) {
                addFinalUnitIndication(mscc, s.finalUnitIndication());
            }
            QuotaThresholds t = s.thresholds();
            if (t != null) {
                if (t.timeQuotaThreshold() != null) {
                    mscc.addAvp(TIME_QUOTA_THRESHOLD, t.timeQuotaThreshold(), VENDOR_3GPP, true, false, true);
                }
                if (t.volumeQuotaThreshold() != null) {
                    mscc.addAvp(VOLUME_QUOTA_THRESHOLD, t.volumeQuotaThreshold(), VENDOR_3GPP, true, false, true);
                }
                if (t.quotaHoldingTime() != null) {
                    mscc.addAvp(QUOTA_HOLDING_TIME, t.quotaHoldingTime(), VENDOR_3GPP, true, false, true);
                }
            }
        }
        if (a.costInformation()) {
            AvpSet cost = set.addGroupedAvp(Avp.COST_INFORMATION, true, false);
            cost.addGroupedAvp(Avp.UNIT_VALUE, true, false).addAvp(Avp.VALUE_DIGITS, 0L, true, false);
            cost.addAvp(Avp.CURRENCY_CODE, CURRENCY_EUR, true, false, true);
        }
        if (a.finalUnitIndication() != null) {
            addFinalUnitIndication(set, a.finalUnitIndication());
        }
        if (a.checkBalanceResult() != null) {
            set.addAvp(Avp.CHECK_BALANCE_RESULT, a.checkBalanceResult(), true, false);
        }
        if (a.validityTime() != null) {
            set.addAvp(Avp.VALIDITY_TIME, a.validityTime(), true, false, true);
        }
        if (a.errorMessage() != null) {
            // RFC 6733 7.3: Error-Message MUST NOT have the M-bit set.
            set.addAvp(Avp.ERROR_MESSAGE, a.errorMessage(), false, false, false);
        }
        if (proxyInfo != null) {
            set.addAvp(proxyInfo);
        }
        if (a.failedAvp() != null) {
            AvpSet failed = set.addGroupedAvp(Avp.FAILED_AVP, true, false);
            failed.addAvp(a.failedAvp().code(), a.failedAvp().data(), a.failedAvp().vendorId(), true, false);
        }
        return answer;
    }

    private static void addFinalUnitIndication(AvpSet parent, FinalUnitIndication f) {
        AvpSet fui = parent.addGroupedAvp(Avp.FINAL_UNIT_INDICATION, true, false);
        fui.addAvp(Avp.FINAL_UNIT_ACTION, f.action().code(), true, false);
        if (f.filterId() != null) {
            // RFC 6733 Filter-Id (11): ours, since jDiameter names 11 after a 3GPP vendor AVP
            fui.addAvp(FILTER_ID, f.filterId(), true, false, false);
        }
        if (f.redirectAddress() != null) {
            AvpSet rs = fui.addGroupedAvp(Avp.REDIRECT_SERVER, true, false);
            rs.addAvp(Avp.REDIRECT_ADDRESS_TYPE, FinalUnitIndication.REDIRECT_ADDRESS_URL, true, false);
            rs.addAvp(Avp.REDIRECT_ADDRESS, f.redirectAddress(), true, false, false);
        }
    }

    private static void addGranted(AvpSet parent, UnitAmount g) {
        AvpSet gsu = parent.addGroupedAvp(Avp.GRANTED_SERVICE_UNIT, true, false);
        switch (g.type()) {
            case SECONDS -> gsu.addAvp(Avp.CC_TIME, g.amount(), true, false, true);
            // Unsigned64: the long form without the unsigned flag writes 8 bytes
            case OCTETS -> gsu.addAvp(Avp.CC_TOTAL_OCTETS, g.amount(), true, false);
            case UNITS -> gsu.addAvp(Avp.CC_SERVICE_SPECIFIC_UNITS, g.amount(), true, false);
        }
    }
}
