package org.gyocs.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Decides every Credit-Control-Answer, for every transport. It knows RFC 4006 and 3GPP TS 32.299
 * but no transport: records in, records out. Thread-safe (it holds no mutable state).
 */
public final class CreditControlCore implements CreditControl {

    /** RFC 4006 section 1.3: Auth-Application-Id of the Diameter Credit-Control Application. */
    public static final long CREDIT_CONTROL_APPLICATION_ID = 4;

    private final GrantPolicy grantPolicy;

    public CreditControlCore(GrantPolicy grantPolicy) {
        this.grantPolicy = grantPolicy;
    }

    public GrantPolicy grantPolicy() {
        return grantPolicy;
    }

    @Override
    public boolean answersAtOnce(CreditControlRequest request) {
        return true; // no balances: nothing to wait for
    }

    /** Checks in the order of the CCR ABNF (RFC 4006 section 3.1). */
    @Override
    public Optional<CreditControlAnswer> validate(CreditControlRequest r) {
        if (r.sessionId() == null) {
            return missing(r, FailedAvp.missingString(AvpCode.SESSION_ID), "Session-Id");
        }
        if (r.sessionId().length() > MAX_SESSION_ID) {
            // real ones are under 100 characters; the stores key reservations by it
            return invalid(r, new FailedAvp(AvpCode.SESSION_ID, r.sessionId().substring(0, 64)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)), "Session-Id longer than " + MAX_SESSION_ID
                    + " characters");
        }
        if (r.originHost() == null) {
            return missing(r, FailedAvp.missingString(AvpCode.ORIGIN_HOST), "Origin-Host");
        }
        if (r.originRealm() == null) {
            return missing(r, FailedAvp.missingString(AvpCode.ORIGIN_REALM), "Origin-Realm");
        }
        if (r.destinationRealm() == null) {
            return missing(r, FailedAvp.missingString(AvpCode.DESTINATION_REALM), "Destination-Realm");
        }
        if (r.authApplicationId() == null) {
            return missing(r, FailedAvp.missingNumber(AvpCode.AUTH_APPLICATION_ID), "Auth-Application-Id");
        }
        if (r.authApplicationId() != CREDIT_CONTROL_APPLICATION_ID) {
            return invalid(r, FailedAvp.invalidNumber(AvpCode.AUTH_APPLICATION_ID, r.authApplicationId()),
                    "Auth-Application-Id must be 4");
        }
        if (r.serviceContextId() == null) {
            return missing(r, FailedAvp.missingString(AvpCode.SERVICE_CONTEXT_ID), "Service-Context-Id");
        }
        if (r.requestTypeCode() == null) {
            return missing(r, FailedAvp.missingNumber(AvpCode.CC_REQUEST_TYPE), "CC-Request-Type");
        }
        if (r.requestType() == null) {
            return invalid(r, FailedAvp.invalidNumber(AvpCode.CC_REQUEST_TYPE, r.requestTypeCode()),
                    "CC-Request-Type must be 1 to 4");
        }
        if (r.requestNumber() == null) {
            return missing(r, FailedAvp.missingNumber(AvpCode.CC_REQUEST_NUMBER), "CC-Request-Number");
        }
        if (r.services().size() > MAX_SERVICES) {
            // an audit's 1,400 MSCCs per request kept 170 KB per session until Tcc
            return Optional.of(CreditControlAnswer.error(r, ResultCode.AVP_OCCURS_TOO_MANY_TIMES,
                    new FailedAvp(AvpCode.MULTIPLE_SERVICES_CREDIT_CONTROL, new byte[0]),
                    "More than " + MAX_SERVICES + " Multiple-Services-Credit-Control AVPs"));
        }
        return octetsInRange(r);
    }

    /** The longest Session-Id taken (the stores' reservation keys hold 512 characters with the service). */
    public static final int MAX_SESSION_ID = 400;

    /** MSCCs one request may carry: real PCEFs send one per active rating group, a handful. */
    public static final int MAX_SERVICES = 64;

    /**
     * Input plus output octets must fit in 63 bits: a wrapped sum is a negative usage, and a
     * negative settlement would credit the balance (an audit's CCR-U reporting 2^63-1 and
     * 2^63-1-10^9 octets took a 1,000,000-octet bucket to 1,001,000,002).
     */
    private static Optional<CreditControlAnswer> octetsInRange(CreditControlRequest r) {
        ServiceUnits bad = outOfRange(r.requested(), r.used());
        for (int i = 0; bad == null && i < r.services().size(); i++) { // no list per request
            bad = outOfRange(r.services().get(i).requested(), r.services().get(i).used());
        }
        return bad == null ? Optional.empty()
                : invalid(r, FailedAvp.unsigned64(AvpCode.CC_OUTPUT_OCTETS, bad.outputOctets()),
                        "CC-Input-Octets plus CC-Output-Octets exceeds 2^63-1");
    }

    /** The first of the two whose octets do not fit in 63 bits, or null. */
    private static ServiceUnits outOfRange(ServiceUnits requested, ServiceUnits used) {
        return requested != null && !requested.octetsInRange() ? requested
                : used != null && !used.octetsInRange() ? used : null;
    }

    @Override
    public CreditControlAnswer answer(CreditControlRequest r) {
        Optional<CreditControlAnswer> error = validate(r);
        if (error.isPresent()) {
            return error.get();
        }
        RequestType type = r.requestType();
        // RFC 4006 section 5.3: a CCR-T reports the final usage; nothing more is granted.
        boolean grants = type != RequestType.TERMINATION;
        long validity = grantPolicy.validityTime();

        if (r.services().isEmpty()) {
            // RFC 4006 section 5.1.1: without MSCC the single service is granted at top level.
            UnitAmount granted = grants ? grantPolicy.grantFor(r.requested() == null ? ServiceUnits.EMPTY : r.requested()) : null;
            return new CreditControlAnswer(r.sessionId(), ResultCode.SUCCESS, r.requestTypeCode(), r.requestNumber(),
                    granted, granted == null ? null : validity, List.of(), null, null);
        }
        List<ServiceCreditAnswer> services = new ArrayList<>(r.services().size());
        for (ServiceCreditRequest s : r.services()) {
            // 3GPP TS 32.299 section 6.3.4: no Requested-Service-Unit means no quota is asked
            // for this service (a usage report only); an empty one asks for the default.
            UnitAmount granted = grants && s.requested() != null ? grantPolicy.grantFor(s.requested()) : null;
            services.add(new ServiceCreditAnswer(s.ratingGroup(), s.serviceIdentifier(), granted,
                    granted == null ? null : validity, ResultCode.SUCCESS));
        }
        return new CreditControlAnswer(r.sessionId(), ResultCode.SUCCESS, r.requestTypeCode(), r.requestNumber(),
                null, null, services, null, null);
    }

    private static Optional<CreditControlAnswer> missing(CreditControlRequest r, FailedAvp avp, String name) {
        return Optional.of(CreditControlAnswer.error(r, ResultCode.MISSING_AVP, avp, "Missing AVP: " + name));
    }

    private static Optional<CreditControlAnswer> invalid(CreditControlRequest r, FailedAvp avp, String why) {
        return Optional.of(CreditControlAnswer.error(r, ResultCode.INVALID_AVP_VALUE, avp, why));
    }
}
