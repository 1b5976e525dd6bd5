package org.gyocs.core;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How the node charges, read once from config/ocs.properties and the command line.
 *
 * @param grants                 default and maximum grants, Validity-Time
 * @param tccSeconds             session supervision Tcc: a session silent this long is released
 *                               (RFC 4006 section 13; 2 x Validity-Time unless configured)
 * @param finalUnitIndication    what the last grant of a balance carries
 * @param rejectUnknown          true: 5030 for an unknown subscriber; false: the default grant, nothing debited
 * @param subscriptionIdPriority Subscription-Id-Type values in the order they are tried (0 E.164, 1 IMSI...)
 * @param thresholds             3GPP quota thresholds and holding time sent with grants
 * @param deniedRatingGroups     rating groups answered 5031 DIAMETER_RATING_FAILED
 * @param maxOpenSessions        sessions held at once; a CCR-I beyond is answered 5012 (each open session
 *                               costs about 800 bytes of heap: the default fits the launcher's 1 GiB)
 * @param refundPeers            Origin-Hosts (exact, *.domain or *) whose REFUND_ACCOUNT events are
 *                               carried out; others get 5003
 * @param failureHandling        Credit-Control-Failure-Handling sent in CCA-I (0 TERMINATE, 1 CONTINUE,
 *                               2 RETRY_AND_TERMINATE), null: the default (RETRY_AND_TERMINATE when
 *                               sessions are shared, none otherwise)
 */
public record ChargingPolicy(GrantPolicy grants, long tccSeconds, FinalUnitIndication finalUnitIndication,
                             boolean rejectUnknown, List<Integer> subscriptionIdPriority, QuotaThresholds thresholds,
                             Set<Long> deniedRatingGroups, int maxOpenSessions, List<String> refundPeers,
                             Integer failureHandling) {

    public ChargingPolicy(GrantPolicy grants, long tccSeconds, FinalUnitIndication finalUnitIndication,
                          boolean rejectUnknown, List<Integer> subscriptionIdPriority, QuotaThresholds thresholds,
                          Set<Long> deniedRatingGroups, int maxOpenSessions, List<String> refundPeers) {
        this(grants, tccSeconds, finalUnitIndication, rejectUnknown, subscriptionIdPriority, thresholds,
                deniedRatingGroups, maxOpenSessions, refundPeers, null);
    }

    public ChargingPolicy(GrantPolicy grants, long tccSeconds, FinalUnitIndication finalUnitIndication,
                          boolean rejectUnknown, List<Integer> subscriptionIdPriority, QuotaThresholds thresholds,
                          Set<Long> deniedRatingGroups, int maxOpenSessions) {
        this(grants, tccSeconds, finalUnitIndication, rejectUnknown, subscriptionIdPriority, thresholds,
                deniedRatingGroups, maxOpenSessions, List.of("*"));
    }

    /** Whether REFUND_ACCOUNT from this peer is carried out. */
    public boolean mayRefund(String peer) {
        for (String p : refundPeers) {
            if (HostPattern.matches(p, peer)) {
                return true;
            }
        }
        return false;
    }

    public static final int DEFAULT_MAX_OPEN_SESSIONS = 500_000;
    public static final ChargingPolicy DEFAULT = of(GrantPolicy.DEFAULT);

    public ChargingPolicy(GrantPolicy grants, long tccSeconds, FinalUnitIndication finalUnitIndication,
                          boolean rejectUnknown, List<Integer> subscriptionIdPriority, QuotaThresholds thresholds,
                          Set<Long> deniedRatingGroups) {
        this(grants, tccSeconds, finalUnitIndication, rejectUnknown, subscriptionIdPriority, thresholds,
                deniedRatingGroups, DEFAULT_MAX_OPEN_SESSIONS);
    }

    public ChargingPolicy {
        Objects.requireNonNull(grants);
        Objects.requireNonNull(finalUnitIndication);
        subscriptionIdPriority = List.copyOf(subscriptionIdPriority);
        deniedRatingGroups = Set.copyOf(deniedRatingGroups);
        refundPeers = refundPeers.stream().map(HostPattern::normalized).toList();
        thresholds = thresholds == null ? QuotaThresholds.NONE : thresholds;
        if (tccSeconds <= 0) {
            throw new IllegalArgumentException("Tcc must be positive");
        }
        if (maxOpenSessions <= 0) {
            throw new IllegalArgumentException("max-sessions must be positive");
        }
        if (failureHandling != null && (failureHandling < 0 || failureHandling > 2)) {
            throw new IllegalArgumentException("Credit-Control-Failure-Handling is 0, 1 or 2");
        }
    }

    /** The defaults of config/ocs.properties around these grants. */
    public static ChargingPolicy of(GrantPolicy grants) {
        return new ChargingPolicy(grants, 2 * grants.validityTime(),
                new FinalUnitIndication(FinalUnitIndication.FinalUnitAction.TERMINATE, null, null), false,
                List.of(SubscriptionId.END_USER_E164, SubscriptionId.END_USER_IMSI), QuotaThresholds.NONE, Set.of(),
                DEFAULT_MAX_OPEN_SESSIONS);
    }
}
