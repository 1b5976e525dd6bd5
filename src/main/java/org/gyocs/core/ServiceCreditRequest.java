package org.gyocs.core;

/**
 * One Multiple-Services-Credit-Control AVP of a request (RFC 4006 section 8.16, 3GPP TS 32.299).
 *
 * @param ratingGroup        Rating-Group, null when absent (Open5GS sends none)
 * @param serviceIdentifier  Service-Identifier (439), null when absent
 * @param requested          Requested-Service-Unit, null when absent, {@link ServiceUnits#EMPTY} when empty
 * @param used               Used-Service-Unit, null when absent
 * @param reportingReason    3GPP Reporting-Reason, null when absent
 * @param usedAfterTariffChange the part of {@code used} reported with Tariff-Change-Usage
 *                           UNIT_AFTER_TARIFF_CHANGE (RFC 4006 8.27), null when no report was split
 */
public record ServiceCreditRequest(Long ratingGroup, Long serviceIdentifier, ServiceUnits requested,
                                   ServiceUnits used, Integer reportingReason, ServiceUnits usedAfterTariffChange) {

    public ServiceCreditRequest(Long ratingGroup, Long serviceIdentifier, ServiceUnits requested, ServiceUnits used,
                                Integer reportingReason) {
        this(ratingGroup, serviceIdentifier, requested, used, reportingReason, null);
    }
}
