package org.gyocs.gy;

import static org.gyocs.codec.AvpCodes.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CostInformation;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.FailedAvp;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.QuotaThresholds;
import org.gyocs.core.ServiceCreditAnswer;
import org.gyocs.core.UnitAmount;

/**
 * The CCA as both transports send it: the core's answer in the order of the CCA ABNF of RFC 4006
 * section 3.2, every AVP with its flags, written once; each transport only supplies its
 * {@link CcaBuilder}. A test compares the two modes' answers byte for byte.
 */
public final class CcaLayout {
    private static final boolean MANDATORY = true;

    private CcaLayout() {
    }

    public static <A> A write(CcaBuilder<A> b, CreditControlAnswer a, String originHost, String originRealm) {
        u32(b, RESULT_CODE, a.resultCode());
        utf8(b, ORIGIN_HOST, originHost, MANDATORY);
        utf8(b, ORIGIN_REALM, originRealm, MANDATORY);
        u32(b, AUTH_APPLICATION_ID, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID);
        if (a.requestTypeCode() != null) {
            u32(b, CC_REQUEST_TYPE, a.requestTypeCode());
        }
        if (a.requestNumber() != null) {
            u32(b, CC_REQUEST_NUMBER, a.requestNumber());
        }
        CreditControlAnswer.Failover failover = a.failover();
        if (failover != null && failover.sessionFailover() != null) {
            u32(b, CC_SESSION_FAILOVER, failover.sessionFailover());
        }
        if (a.granted() != null) {
            granted(b, a.granted());
        }
        for (ServiceCreditAnswer s : a.services()) {
            b.addGroup(MULTIPLE_SERVICES_CREDIT_CONTROL, mscc -> service(mscc, s));
        }
        CostInformation c = a.costInformation();
        if (c != null) {
            // RFC 4006 8.7: Unit-Value, Currency-Code, Cost-Unit
            b.addGroup(COST_INFORMATION, cost -> {
                unitValue(cost, c.valueDigits(), c.exponent());
                u32(cost, CURRENCY_CODE, c.currencyCode());
                if (c.costUnit() != null) {
                    utf8(cost, COST_UNIT, c.costUnit(), MANDATORY);
                }
            });
        }
        if (a.finalUnitIndication() != null) {
            finalUnitIndication(b, a.finalUnitIndication());
        }
        if (a.checkBalanceResult() != null) {
            u32(b, CHECK_BALANCE_RESULT, a.checkBalanceResult());
        }
        if (failover != null && failover.failureHandling() != null) {
            u32(b, CREDIT_CONTROL_FAILURE_HANDLING, failover.failureHandling());
        }
        if (a.validityTime() != null) {
            u32(b, VALIDITY_TIME, a.validityTime());
        }
        if (a.errorMessage() != null) {
            // RFC 6733 7.3: Error-Message MUST NOT have the M-bit set.
            utf8(b, ERROR_MESSAGE, a.errorMessage(), false);
        }
        b.addProxyInfo();
        FailedAvp f = a.failedAvp();
        if (f != null) {
            b.addGroup(FAILED_AVP, failed -> failed.add(f.code(), f.vendorId(), MANDATORY, f.data()));
        }
        return b.build(a.resultCode() >= 3000 && a.resultCode() < 4000);
    }

    private static void service(AnswerAvps mscc, ServiceCreditAnswer s) {
        if (s.granted() != null) {
            granted(mscc, s.granted());
        }
        if (s.serviceIdentifier() != null) {
            u32(mscc, SERVICE_IDENTIFIER, s.serviceIdentifier());
        }
        if (s.ratingGroup() != null) {
            u32(mscc, RATING_GROUP, s.ratingGroup());
        }
        if (s.validityTime() != null) {
            u32(mscc, VALIDITY_TIME, s.validityTime());
        }
        u32(mscc, RESULT_CODE, s.resultCode());
        if (s.finalUnitIndication() != null) {
            finalUnitIndication(mscc, s.finalUnitIndication());
        }
        QuotaThresholds t = s.thresholds();
        if (t != null) {
            // 3GPP TS 32.299 7.2.x: the vendor 10415 AVPs after Final-Unit-Indication
            if (t.timeQuotaThreshold() != null) {
                mscc.add(TIME_QUOTA_THRESHOLD, VENDOR_3GPP, MANDATORY, u32(t.timeQuotaThreshold()));
            }
            if (t.volumeQuotaThreshold() != null) {
                mscc.add(VOLUME_QUOTA_THRESHOLD, VENDOR_3GPP, MANDATORY, u32(t.volumeQuotaThreshold()));
            }
            if (t.quotaHoldingTime() != null) {
                mscc.add(QUOTA_HOLDING_TIME, VENDOR_3GPP, MANDATORY, u32(t.quotaHoldingTime()));
            }
        }
    }

    private static void finalUnitIndication(AnswerAvps parent, FinalUnitIndication f) {
        parent.addGroup(FINAL_UNIT_INDICATION, fui -> {
            u32(fui, FINAL_UNIT_ACTION, f.action().code());
            if (f.filterId() != null) {
                utf8(fui, FILTER_ID, f.filterId(), MANDATORY);
            }
            if (f.redirectAddress() != null) {
                fui.addGroup(REDIRECT_SERVER, rs -> {
                    u32(rs, REDIRECT_ADDRESS_TYPE, FinalUnitIndication.REDIRECT_ADDRESS_URL);
                    utf8(rs, REDIRECT_SERVER_ADDRESS, f.redirectAddress(), MANDATORY);
                });
            }
        });
    }

    /** RFC 4006 8.17: [Tariff-Time-Change] [CC-Time] [CC-Money] [CC-Total-Octets] ... [CC-Service-Specific-Units]. */
    private static void granted(AnswerAvps parent, UnitAmount g) {
        parent.addGroup(GRANTED_SERVICE_UNIT, gsu -> {
            if (g.tariffTimeChange() != null) {
                u32(gsu, TARIFF_TIME_CHANGE, g.tariffTimeChange().getEpochSecond() + NTP_EPOCH_OFFSET);
            }
            switch (g.type()) {
                case SECONDS -> u32(gsu, CC_TIME, g.amount());
                case MONEY -> gsu.addGroup(CC_MONEY, money -> {
                    // minor units: Exponent minus the currency's decimals (EUR cents: -2)
                    int digits = g.currency() == null ? 2 : Math.max(0, g.currency().getDefaultFractionDigits());
                    unitValue(money, g.amount(), -digits);
                    if (g.currency() != null) {
                        u32(money, CURRENCY_CODE, g.currency().getNumericCode());
                    }
                });
                case OCTETS -> u64(gsu, CC_TOTAL_OCTETS, g.amount());
                case UNITS -> u64(gsu, CC_SERVICE_SPECIFIC_UNITS, g.amount());
            }
        });
    }

    /** Seconds from 1900 (the Time format, RFC 6733 4.3.1) to 1970. */
    private static final long NTP_EPOCH_OFFSET = 2_208_988_800L;

    /** Unit-Value (RFC 4006 8.8): Value-Digits, then Exponent when there is one. */
    private static void unitValue(AnswerAvps parent, long digits, Integer exponent) {
        parent.addGroup(UNIT_VALUE, unit -> {
            u64(unit, VALUE_DIGITS, digits);
            if (exponent != null) {
                u32(unit, EXPONENT, exponent);
            }
        });
    }

    static void u32(AnswerAvps to, int code, long value) {
        to.add(code, 0, MANDATORY, u32(value));
    }

    private static byte[] u32(long value) {
        int v = (int) value;
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    private static void u64(AnswerAvps to, int code, long value) {
        to.add(code, 0, MANDATORY, ByteBuffer.allocate(8).putLong(value).array());
    }

    static void utf8(AnswerAvps to, int code, String value, boolean mandatory) {
        to.add(code, 0, mandatory, value.getBytes(StandardCharsets.UTF_8));
    }
}
