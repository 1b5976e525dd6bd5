package org.gyocs.core;

/**
 * One Multiple-Services-Credit-Control AVP of an answer.
 *
 * @param ratingGroup          echoed from the request, null when it had none
 * @param serviceIdentifier    echoed from the request, null when it had none
 * @param granted              Granted-Service-Unit, null when nothing is granted (CCR-T, 4012)
 * @param validityTime         Validity-Time in seconds, null when not sent
 * @param resultCode           the MSCC-level Result-Code
 * @param finalUnitIndication  sent with the last grant of a balance, else null
 * @param thresholds           3GPP Time/Volume-Quota-Threshold and Quota-Holding-Time, or null
 */
public record ServiceCreditAnswer(Long ratingGroup, Long serviceIdentifier, UnitAmount granted, Long validityTime,
                                  long resultCode, FinalUnitIndication finalUnitIndication, QuotaThresholds thresholds) {

    /** An MSCC answer without Final-Unit-Indication or thresholds. */
    public ServiceCreditAnswer(Long ratingGroup, Long serviceIdentifier, UnitAmount granted, Long validityTime,
                               long resultCode) {
        this(ratingGroup, serviceIdentifier, granted, validityTime, resultCode, null, null);
    }
}
