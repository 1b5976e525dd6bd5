package org.gyocs.node;

import org.gyocs.codec.CommandCodes;

/**
 * A request the node sends to the peer holding one of its sessions: a Re-Auth-Request (RFC 4006
 * section 5.5: the PCEF is to send a CCR-U at once, after a top-up for instance) or an
 * Abort-Session-Request (RFC 6733 section 8.5: the PCEF is to end the session).
 *
 * @param kind      RAR or ASR
 * @param sessionId the session's Session-Id
 * @param peerHost  the Origin-Host of the peer that opened it
 */
public record SessionRequest(Kind kind, String sessionId, String peerHost) {

    public enum Kind {
        RE_AUTH(CommandCodes.RE_AUTH, "RAR"),
        ABORT_SESSION(CommandCodes.ABORT_SESSION, "ASR");

        private final int commandCode;
        private final String shortName;

        Kind(int commandCode, String shortName) {
            this.commandCode = commandCode;
            this.shortName = shortName;
        }

        public int commandCode() {
            return commandCode;
        }

        /** RAR or ASR, for logs and metrics. */
        public String shortName() {
            return shortName;
        }
    }

    /** How long the node waits for the RAA or ASA. */
    public static final long ANSWER_TIMEOUT_MILLIS = 5_000;

    /** The peer is not connected (now): nothing was sent. */
    public static final class PeerNotConnected extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public PeerNotConnected(String peerHost) {
            super("peer " + peerHost + " is not connected");
        }
    }

    /** No answer came within {@link #ANSWER_TIMEOUT_MILLIS}. */
    public static final class NoAnswer extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public NoAnswer(SessionRequest r) {
            super("no " + (r.kind() == Kind.RE_AUTH ? "RAA" : "ASA") + " from " + r.peerHost() + " within "
                    + ANSWER_TIMEOUT_MILLIS + " ms");
        }
    }
}
