package org.gyocs.core;

import java.time.Instant;
import java.util.List;

/**
 * An open credit-control session as the operator sees it (GET /sessions): who, from which peer,
 * how far, and what its last answer granted per service, until when.
 *
 * @param sessionId         its Session-Id
 * @param subscriber        the provisioned subscriber charged, or null (granted by policy)
 * @param subscriptionIds   the data of the Subscription-Ids its CCR-I carried (who it is, provisioned or not)
 * @param peer              the peer that opened it (Origin-Host of its connection)
 * @param lastRequestNumber the CC-Request-Number answered last
 * @param lastAnswerAt      when that answer was made
 * @param services          per MSCC of that answer: its grant and how long it is valid
 */
public record SessionView(String sessionId, String subscriber, List<String> subscriptionIds, String peer,
                          long lastRequestNumber, Instant lastAnswerAt, List<Grant> services) {

    /**
     * @param ratingGroup       the MSCC's Rating-Group, or null
     * @param serviceIdentifier its Service-Identifier, or null
     * @param unit              octets, seconds or units; null when nothing is granted
     * @param granted           what is granted (and reserved, for a provisioned subscriber); 0 when nothing
     * @param validUntil        the end of its Validity-Time, or null without one
     * @param resultCode        the MSCC's Result-Code (4012 when the balance is spent)
     */
    public record Grant(Long ratingGroup, Long serviceIdentifier, String unit, long granted, Instant validUntil,
                        long resultCode) {
    }
}
