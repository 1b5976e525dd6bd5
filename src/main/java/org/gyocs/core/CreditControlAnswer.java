package org.gyocs.core;

import java.util.List;

/**
 * A Credit-Control-Answer as the core decided it. Transports add Origin-Host/Realm and
 * Auth-Application-Id and encode it; they do not change it.
 *
 * @param sessionId        copied from the request (null only when the request had none)
 * @param resultCode       top-level Result-Code
 * @param requestTypeCode  CC-Request-Type copied from the request (null when it was missing)
 * @param requestNumber    CC-Request-Number copied from the request (null when it was missing)
 * @param granted          top-level Granted-Service-Unit, for a CCR without MSCC; null otherwise
 * @param validityTime     top-level Validity-Time, sent with a top-level grant; null otherwise
 * @param services         one MSCC per MSCC of the request
 * @param failedAvp        Failed-AVP for protocol errors, null otherwise
 * @param errorMessage     Error-Message for protocol errors, null otherwise
 * @param finalUnitIndication  top-level Final-Unit-Indication with a top-level last grant, else null
 * @param checkBalanceResult   Check-Balance-Result (422) of a CHECK_BALANCE event, else null
 * @param costInformation      Cost-Information (423): a PRICE_ENQUIRY's price, a CCA-T's cost when
 *                             advice of charge was asked; else null
 * @param failover             CC-Session-Failover and Credit-Control-Failure-Handling of a CCA-I, else null
 */
public record CreditControlAnswer(String sessionId, long resultCode, Long requestTypeCode, Long requestNumber,
                                  UnitAmount granted, Long validityTime, List<ServiceCreditAnswer> services,
                                  FailedAvp failedAvp, String errorMessage, FinalUnitIndication finalUnitIndication,
                                  Integer checkBalanceResult, CostInformation costInformation, Failover failover) {

    public CreditControlAnswer {
        services = services == null ? List.of() : List.copyOf(services);
    }

    /**
     * What a CCA-I tells the PCEF about failing over (RFC 4006 section 5.7).
     *
     * @param sessionFailover  CC-Session-Failover (418): 1 SUPPORTED (another OCS may continue the
     *                         session), 0 NOT_SUPPORTED; null: not sent (NOT_SUPPORTED)
     * @param failureHandling  Credit-Control-Failure-Handling (427): 0 TERMINATE, 1 CONTINUE,
     *                         2 RETRY_AND_TERMINATE; null: not sent (TERMINATE)
     */
    public record Failover(Integer sessionFailover, Integer failureHandling) {
        public static final int SUPPORTED = 1;
        public static final int RETRY_AND_TERMINATE = 2;
    }

    /** An answer without failover advice. */
    public CreditControlAnswer(String sessionId, long resultCode, Long requestTypeCode, Long requestNumber,
                               UnitAmount granted, Long validityTime, List<ServiceCreditAnswer> services,
                               FailedAvp failedAvp, String errorMessage, FinalUnitIndication finalUnitIndication,
                               Integer checkBalanceResult, CostInformation costInformation) {
        this(sessionId, resultCode, requestTypeCode, requestNumber, granted, validityTime, services, failedAvp,
                errorMessage, finalUnitIndication, checkBalanceResult, costInformation, null);
    }

    /** An answer without Final-Unit-Indication, Check-Balance-Result or Cost-Information. */
    public CreditControlAnswer(String sessionId, long resultCode, Long requestTypeCode, Long requestNumber,
                               UnitAmount granted, Long validityTime, List<ServiceCreditAnswer> services,
                               FailedAvp failedAvp, String errorMessage) {
        this(sessionId, resultCode, requestTypeCode, requestNumber, granted, validityTime, services, failedAvp,
                errorMessage, null, null, null);
    }

    /** A protocol error answer (5xxx) for a request the core could not process. */
    public static CreditControlAnswer error(CreditControlRequest request, long resultCode, FailedAvp failedAvp,
                                            String message) {
        return new CreditControlAnswer(request.sessionId(), resultCode, request.requestTypeCode(),
                request.requestNumber(), null, null, List.of(), failedAvp, message);
    }

    /** The same answer with Cost-Information. */
    public CreditControlAnswer withCost(CostInformation cost) {
        return new CreditControlAnswer(sessionId, resultCode, requestTypeCode, requestNumber, granted, validityTime,
                services, failedAvp, errorMessage, finalUnitIndication, checkBalanceResult, cost, failover);
    }

    /** The same answer with failover advice. */
    public CreditControlAnswer withFailover(Failover advice) {
        return new CreditControlAnswer(sessionId, resultCode, requestTypeCode, requestNumber, granted, validityTime,
                services, failedAvp, errorMessage, finalUnitIndication, checkBalanceResult, costInformation, advice);
    }

    /**
     * RFC 4006 section 5.1.2: a failure of one service is reported in its MSCC; the request fails
     * as a whole only when every service failed (with the code they share, else the first).
     */
    public static long topLevelResultCode(List<ServiceCreditAnswer> services) {
        for (ServiceCreditAnswer a : services) {
            if (ResultCode.isSuccess(a.resultCode())) {
                return ResultCode.SUCCESS;
            }
        }
        return services.get(0).resultCode();
    }

    /** A short description of what was granted, for logs: "1048576 octets", "rg100=1048576 octets", or "-". */
    public String grantsForLog() {
        if (granted != null) {
            return granted.toString();
        }
        StringBuilder sb = new StringBuilder();
        for (ServiceCreditAnswer s : services) {
            if (s.granted() != null) {
                if (sb.length() > 0) {
                    sb.append(", ");
                }
                if (s.ratingGroup() != null) {
                    sb.append("rg").append(s.ratingGroup()).append('=');
                }
                sb.append(s.granted());
            }
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }
}
