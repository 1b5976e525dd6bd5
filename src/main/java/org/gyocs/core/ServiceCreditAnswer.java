package org.gyocs.core;

/**
 * One Multiple-Services-Credit-Control AVP of an answer.
 *
 * @param ratingGroup       echoed from the request, null when it had none
 * @param serviceIdentifier echoed from the request, null when it had none
 * @param granted           Granted-Service-Unit, null when nothing is granted (CCR-T)
 * @param validityTime      Validity-Time in seconds, null when not sent
 * @param resultCode        the MSCC-level Result-Code
 */
public record ServiceCreditAnswer(Long ratingGroup, Long serviceIdentifier, UnitAmount granted,
                                  Long validityTime, long resultCode) {
}
