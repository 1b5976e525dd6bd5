package org.gyocs.core;

/**
 * The 3GPP TS 32.299 quota AVPs sent with a grant when configured; each is null when not.
 *
 * @param timeQuotaThreshold    Time-Quota-Threshold (868), seconds before the time quota runs out
 * @param volumeQuotaThreshold  Volume-Quota-Threshold (869), octets before the volume quota runs out
 * @param quotaHoldingTime      Quota-Holding-Time (871), seconds of idleness after which the quota is returned
 */
public record QuotaThresholds(Long timeQuotaThreshold, Long volumeQuotaThreshold, Long quotaHoldingTime) {

    public static final QuotaThresholds NONE = new QuotaThresholds(null, null, null);

    public boolean isEmpty() {
        return timeQuotaThreshold == null && volumeQuotaThreshold == null && quotaHoldingTime == null;
    }
}
