package org.gyocs.behaviour;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.gyocs.core.CreditControlAnswer;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.FinalUnitIndication;
import org.gyocs.core.HostPattern;
import org.gyocs.core.RequestType;
import org.gyocs.core.ResultCode;
import org.gyocs.core.ServiceCreditAnswer;
import org.gyocs.core.ServiceCreditRequest;
import org.gyocs.core.ServiceUnits;
import org.gyocs.core.SubscriptionId;
import org.gyocs.core.UnitAmount;

/**
 * A test behaviour: a rule that changes the node's answer to the requests it matches, so that a
 * lab can make a real OCS misbehave on cue (quota refused on the second update, an answer late or
 * never, a Final-Unit-Indication, a RAR after the answer, a dropped connection). Parsed and checked
 * by {@link BehaviourJson}; applied by the Gy pipeline.
 *
 * @param id     the rule's name, in GET /behaviours and the metrics
 * @param match  which requests it applies to
 * @param times  how many matching requests it changes; null for every one
 * @param answer what it does to them
 */
public record Behaviour(String id, Match match, Long times, Effect answer) {

    /**
     * Which requests a rule applies to; a null field matches any request.
     *
     * @param subscriber  a Subscription-Id of the request, exactly, or a prefix ending in '*'
     * @param request     CC-Request-Type
     * @param number      CC-Request-Number
     * @param ratingGroup an MSCC of the request has this Rating-Group
     * @param originHost  the request's Origin-Host: a name, *.domain or * (without regard to case)
     */
    public record Match(String subscriber, RequestType request, Long number, Long ratingGroup, String originHost) {

        public static final Match ANY = new Match(null, null, null, null, null);

        public boolean matches(CreditControlRequest r) {
            if (request != null && r.requestType() != request) {
                return false;
            }
            if (number != null && !number.equals(r.requestNumber())) {
                return false;
            }
            if (originHost != null && !HostPattern.matches(HostPattern.normalized(originHost), r.originHost())) {
                return false;
            }
            if (ratingGroup != null && r.services().stream().noneMatch(m -> ratingGroup.equals(m.ratingGroup()))) {
                return false;
            }
            return subscriber == null || r.subscriptionIds().stream().anyMatch(id -> subscriberMatches(id));
        }

        private boolean subscriberMatches(SubscriptionId id) {
            if (id.data() == null) {
                return false;
            }
            return subscriber.endsWith("*") ? id.data().startsWith(subscriber.substring(0, subscriber.length() - 1))
                    : id.data().equals(subscriber);
        }

        /** The MSCCs a service-level effect touches: those of {@link #ratingGroup}, or all. */
        boolean touches(Long serviceRatingGroup) {
            return ratingGroup == null || ratingGroup.equals(serviceRatingGroup);
        }
    }

    /**
     * What a rule does to a request it matches; null or false fields change nothing.
     *
     * @param resultCode      the top-level Result-Code; 3xxx-5xxx is answered without asking the
     *                        core (no grant, no balance change), 2xxx replaces the core's
     * @param msccResultCode  the Result-Code of the touched MSCCs, which get no grant and hold nothing
     * @param finalUnit       Final-Unit-Indication added to every grant of the touched MSCCs
     * @param granted         the amount to grant in the requested unit, instead of what was asked
     *                        (still reserved from the balance, still at most the maximum grant)
     * @param validityTime    Validity-Time of the touched grants, in seconds
     * @param delayMs         the answer is sent this long after it is decided
     * @param drop            no answer, and nothing decided: as if the request were lost on the way
     * @param disconnect      the connection is closed instead of answering; nothing decided
     * @param reauthAfterMs   a RAR for the session this long after the answer went out
     * @param abortAfterMs    an ASR for the session this long after the answer went out
     */
    public record Effect(Long resultCode, Long msccResultCode, FinalUnitIndication finalUnit, Long granted,
                         Long validityTime, Long delayMs, boolean drop, boolean disconnect, Long reauthAfterMs,
                         Long abortAfterMs) {

        /** Whether it changes what the answer says (not only when it goes out, or what follows it). */
        public boolean changesContent() {
            return resultCode != null || msccResultCode != null || finalUnit != null || granted != null
                    || validityTime != null;
        }

        /** Whether the core is asked at all: not for a 3xxx-5xxx Result-Code, a drop or a disconnect. */
        public boolean asksCore() {
            return !drop && !disconnect && (resultCode == null || ResultCode.isSuccess(resultCode));
        }
    }

    /** The request as the core is to see it: the grant asked for, or none where an MSCC is refused. */
    public CreditControlRequest before(CreditControlRequest r) {
        Effect e = answer;
        if (e.granted() == null && e.msccResultCode() == null) {
            return r;
        }
        if (r.services().isEmpty()) {
            // the core grants its default for an absent top-level RSU: the rule's grant instead
            ServiceUnits top = r.requested() != null ? r.requested() : ServiceUnits.EMPTY;
            return r.withServices(r.services(), ask(top, match.ratingGroup() == null));
        }
        // an event's MSCC without RSU gets the default grant too; a session's reports usage only
        boolean event = r.requestType() == org.gyocs.core.RequestType.EVENT;
        List<ServiceCreditRequest> services = new ArrayList<>(r.services().size());
        for (ServiceCreditRequest m : r.services()) {
            ServiceUnits requested = m.requested() == null && event ? ServiceUnits.EMPTY : m.requested();
            ServiceUnits asked = ask(requested, match.touches(m.ratingGroup()));
            services.add(new ServiceCreditRequest(m.ratingGroup(), m.serviceIdentifier(), asked, m.used(),
                    m.reportingReason(), m.usedAfterTariffChange()));
        }
        return r.withServices(services, r.requested());
    }

    private ServiceUnits ask(ServiceUnits requested, boolean touched) {
        if (!touched || requested == null && answer.msccResultCode() == null) {
            return requested;
        }
        // refused: a grant of 0 asked, so that the core settles the usage and holds or debits
        // nothing (an absent RSU would be the default grant to an event)
        UnitAmount unit = requested == null ? null : requested.requested();
        long n = answer.msccResultCode() != null ? 0 : answer.granted();
        if (unit == null) {
            return ServiceUnits.octets(n);
        }
        return switch (unit.type()) {
            case OCTETS -> ServiceUnits.octets(n);
            case SECONDS -> ServiceUnits.seconds(n);
            case UNITS -> ServiceUnits.units(n);
            case MONEY -> ServiceUnits.money(n);
        };
    }

    /** The core's answer as this rule changes it. */
    public CreditControlAnswer after(CreditControlAnswer a) {
        Effect e = answer;
        if (e.msccResultCode() == null && e.finalUnit() == null && e.validityTime() == null && e.resultCode() == null) {
            return a;
        }
        if (a.failedAvp() != null || !ResultCode.isSuccess(a.resultCode()) && a.services().isEmpty()) {
            return a; // a protocol error or a refusal of the whole request stays as the core decided it
        }
        boolean implicitTouched = match.ratingGroup() == null;
        UnitAmount granted = a.granted();
        Long validity = a.validityTime();
        FinalUnitIndication fui = a.finalUnitIndication();
        long result = a.resultCode();
        if (a.services().isEmpty() && implicitTouched) {
            if (e.msccResultCode() != null) {
                granted = null;
                validity = null;
                fui = null;
                result = e.msccResultCode();
            } else if (granted != null) {
                validity = e.validityTime() != null ? e.validityTime() : validity;
                fui = e.finalUnit() != null ? e.finalUnit() : fui;
            }
        }
        List<ServiceCreditAnswer> services = new ArrayList<>(a.services().size());
        for (ServiceCreditAnswer m : a.services()) {
            services.add(match.touches(m.ratingGroup()) ? service(m) : m);
        }
        if (!services.isEmpty() && e.msccResultCode() != null) {
            result = CreditControlAnswer.topLevelResultCode(services);
        }
        if (e.resultCode() != null) {
            result = e.resultCode();
        }
        return new CreditControlAnswer(a.sessionId(), result, a.requestTypeCode(), a.requestNumber(), granted, validity,
                services, null, null, fui, a.checkBalanceResult(), a.costInformation(), a.failover());
    }

    private ServiceCreditAnswer service(ServiceCreditAnswer m) {
        Effect e = answer;
        if (e.msccResultCode() != null) {
            return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), null, null, e.msccResultCode(), null,
                    null);
        }
        if (m.granted() == null) {
            return m;
        }
        return new ServiceCreditAnswer(m.ratingGroup(), m.serviceIdentifier(), m.granted(),
                e.validityTime() != null ? e.validityTime() : m.validityTime(), m.resultCode(),
                e.finalUnit() != null ? e.finalUnit() : m.finalUnitIndication(), m.thresholds());
    }

    /** The answer to a request this rule refuses as a whole, without asking the core. */
    public CreditControlAnswer refusal(CreditControlRequest r) {
        return new CreditControlAnswer(r.sessionId(), answer.resultCode(), r.requestTypeCode(), r.requestNumber(), null,
                null, List.of(), null, null);
    }

    /** What the rule does, for log lines: "result-code 4012", "drop"... */
    public String describe() {
        Effect e = answer;
        List<String> parts = new ArrayList<>();
        if (e.drop()) {
            parts.add("drop");
        }
        if (e.disconnect()) {
            parts.add("disconnect");
        }
        if (e.resultCode() != null) {
            parts.add("result-code " + e.resultCode());
        }
        if (e.msccResultCode() != null) {
            parts.add("mscc-result-code " + e.msccResultCode());
        }
        if (e.finalUnit() != null) {
            parts.add("final-unit-action " + e.finalUnit().action().name().toLowerCase(Locale.ROOT));
        }
        if (e.granted() != null) {
            parts.add("granted " + e.granted());
        }
        if (e.validityTime() != null) {
            parts.add("validity-time " + e.validityTime());
        }
        if (e.delayMs() != null) {
            parts.add("delay " + e.delayMs() + " ms");
        }
        if (e.reauthAfterMs() != null) {
            parts.add("RAR after " + e.reauthAfterMs() + " ms");
        }
        if (e.abortAfterMs() != null) {
            parts.add("ASR after " + e.abortAfterMs() + " ms");
        }
        return String.join(", ", parts);
    }
}
