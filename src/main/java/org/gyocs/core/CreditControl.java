package org.gyocs.core;

import java.util.Optional;

/** What a transport asks of the credit-control core. Implementations are thread-safe. */
public interface CreditControl {

    /**
     * Checks the AVPs RFC 4006 section 3.1 makes mandatory in a CCR.
     *
     * @return the error answer (5005, 5004) for the first problem, or empty when the request is sound
     */
    Optional<CreditControlAnswer> validate(CreditControlRequest request);

    /** Decides the answer to a request: the validation error if there is one, else the grant. */
    CreditControlAnswer answer(CreditControlRequest request);

    /**
     * Whether this core holds the session open (CCR-I answered, no CCR-T yet), for transports
     * with session state of their own to defer to it. A stateless core says true.
     */
    default boolean holdsOpenSession(String sessionId) {
        return true;
    }

    /** Whether this core holds the session open for requests of {@code sender} (the peer that opened it). */
    default boolean holdsOpenSessionFor(String sessionId, String sender) {
        return holdsOpenSession(sessionId);
    }

    /**
     * Whether deciding this request may wait on the store for more than a sync of its journal
     * (a refund writes the database and reads the balances again): a transport that decides
     * without waiting for the sync ({@link SyncPoints}) decides these where a thread may wait.
     */
    default boolean waitsBeyondTheSync(CreditControlRequest request) {
        return false;
    }

    /**
     * Whether answering this request changes no balance, so that a transport may decide it on
     * the thread that read it; the others may wait for the store (a group commit) and belong on
     * threads that can wait. Must not block.
     */
    default boolean answersAtOnce(CreditControlRequest request) {
        return false;
    }
}
