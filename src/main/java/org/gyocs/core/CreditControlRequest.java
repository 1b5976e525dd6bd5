package org.gyocs.core;

import java.util.List;

/**
 * A Credit-Control-Request as the core sees it, whatever transport carried it. Every AVP the
 * request may lack is nullable, so that the core, not the transport, decides which absence is
 * an error (RFC 4006 section 3.1).
 *
 * @param sessionId          Session-Id
 * @param originHost         Origin-Host of the client
 * @param originRealm        Origin-Realm of the client
 * @param destinationRealm   Destination-Realm
 * @param authApplicationId  Auth-Application-Id, 4 for credit control
 * @param serviceContextId   Service-Context-Id, e.g. 32251@3gpp.org for Gy
 * @param requestTypeCode    CC-Request-Type as received (may be out of range)
 * @param requestNumber      CC-Request-Number
 * @param subscriptionIds    every Subscription-Id, in request order
 * @param requestedAction    Requested-Action (CCR-E), null when absent
 * @param services           every Multiple-Services-Credit-Control, in request order
 * @param requested          top-level Requested-Service-Unit (a CCR without MSCC), null when absent
 * @param used               top-level Used-Service-Unit, null when absent
 * @param possiblyRetransmitted the T-bit of the header (RFC 6733 section 3): the client sent it
 *                           before and may not have had the answer; the core then asks the store
 *                           whether its change was made already (RFC 4006 section 5.2)
 * @param peer               the peer the request came from, as its transport knows it (the
 *                           Origin-Host of its capabilities exchange, allowed by the node), null
 *                           when unknown: sessions are bound to it, refunds allowed by it
 * @param aocRequestType     3GPP AoC-Request-Type (TS 32.299 7.2.8): 1 AoC_FULL or 2 AoC_COST_ONLY ask
 *                           for the session's cost in the CCA-T; null when absent
 * @param terminationCause   Termination-Cause of a CCR-T (RFC 6733 8.15), null when absent
 */
public record CreditControlRequest(String sessionId, String originHost, String originRealm, String destinationRealm,
                                   Long authApplicationId, String serviceContextId, Long requestTypeCode,
                                   Long requestNumber, List<SubscriptionId> subscriptionIds, Integer requestedAction,
                                   List<ServiceCreditRequest> services, ServiceUnits requested, ServiceUnits used,
                                   boolean possiblyRetransmitted, String peer, Integer aocRequestType,
                                   Integer terminationCause) {

    /** RFC 6733 8.15's name of the Termination-Cause, for the usage record ("CCR_T" when the CCR-T had none). */
    public String terminationCauseName() {
        if (terminationCause == null) {
            return "CCR_T";
        }
        return switch (terminationCause) {
            case 1 -> "DIAMETER_LOGOUT";
            case 2 -> "DIAMETER_SERVICE_NOT_PROVIDED";
            case 3 -> "DIAMETER_BAD_ANSWER";
            case 4 -> "DIAMETER_ADMINISTRATIVE";
            case 5 -> "DIAMETER_LINK_BROKEN";
            case 6 -> "DIAMETER_AUTH_EXPIRED";
            case 7 -> "DIAMETER_USER_MOVED";
            case 8 -> "DIAMETER_SESSION_TIMEOUT";
            default -> "TERMINATION_CAUSE_" + terminationCause;
        };
    }

    /** A request without AoC-Request-Type. */
    public CreditControlRequest(String sessionId, String originHost, String originRealm, String destinationRealm,
                                Long authApplicationId, String serviceContextId, Long requestTypeCode,
                                Long requestNumber, List<SubscriptionId> subscriptionIds, Integer requestedAction,
                                List<ServiceCreditRequest> services, ServiceUnits requested, ServiceUnits used,
                                boolean possiblyRetransmitted, String peer) {
        this(sessionId, originHost, originRealm, destinationRealm, authApplicationId, serviceContextId, requestTypeCode,
                requestNumber, subscriptionIds, requestedAction, services, requested, used, possiblyRetransmitted, peer,
                null, null);
    }

    /** Whether the client asked for advice of charge: the session's cost in its CCA-T. */
    public boolean wantsCost() {
        return aocRequestType != null && (aocRequestType == 1 || aocRequestType == 2);
    }

    public CreditControlRequest {
        subscriptionIds = subscriptionIds == null ? List.of() : List.copyOf(subscriptionIds);
        services = services == null ? List.of() : List.copyOf(services);
    }

    /** A request without the T-bit, from a peer the transport did not name. */
    public CreditControlRequest(String sessionId, String originHost, String originRealm, String destinationRealm,
                                Long authApplicationId, String serviceContextId, Long requestTypeCode,
                                Long requestNumber, List<SubscriptionId> subscriptionIds, Integer requestedAction,
                                List<ServiceCreditRequest> services, ServiceUnits requested, ServiceUnits used) {
        this(sessionId, originHost, originRealm, destinationRealm, authApplicationId, serviceContextId, requestTypeCode,
                requestNumber, subscriptionIds, requestedAction, services, requested, used, false, null);
    }

    /** The same request with these MSCCs and this top-level Requested-Service-Unit. */
    public CreditControlRequest withServices(List<ServiceCreditRequest> services, ServiceUnits requested) {
        return new CreditControlRequest(sessionId, originHost, originRealm, destinationRealm, authApplicationId,
                serviceContextId, requestTypeCode, requestNumber, subscriptionIds, requestedAction, services, requested,
                used, possiblyRetransmitted, peer, aocRequestType, terminationCause);
    }

    /** Who sent it, for binding sessions: the transport's peer, else the request's own Origin-Host. */
    public String sender() {
        return peer != null ? peer : originHost;
    }

    /** The request type, or null when the AVP is missing or out of range. */
    public RequestType requestType() {
        return requestTypeCode == null ? null : RequestType.fromCode(requestTypeCode);
    }

    /** The subscriber for logs: the first END_USER_E164, else the first Subscription-Id, else "-". */
    public String subscriberForLog() {
        for (SubscriptionId id : subscriptionIds) {
            if (id.type() == SubscriptionId.END_USER_E164) {
                return id.data();
            }
        }
        return subscriptionIds.isEmpty() ? "-" : subscriptionIds.get(0).data();
    }
}
