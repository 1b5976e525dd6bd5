package org.gyocs.codec;

/**
 * The Diameter command codes this node sends and answers, in one place for both transports, the
 * client and the load generator; GyDictionaryTest ties each to dictionary/dictionary.xml.
 */
public final class CommandCodes {
    /** CER/CEA (RFC 6733 section 5.3). */
    public static final int CAPABILITIES_EXCHANGE = 257;
    /** DWR/DWA (RFC 6733 section 5.5). */
    public static final int DEVICE_WATCHDOG = 280;
    /** DPR/DPA (RFC 6733 section 5.4). */
    public static final int DISCONNECT_PEER = 282;
    /** CCR/CCA (RFC 4006 section 3). */
    public static final int CREDIT_CONTROL = 272;
    /** RAR/RAA (RFC 6733 section 8.3, RFC 4006 section 5.5): the node asks a PCEF to re-authorize a session. */
    public static final int RE_AUTH = 258;
    /** ASR/ASA (RFC 6733 section 8.5): the node asks a PCEF to end a session. */
    public static final int ABORT_SESSION = 274;

    private CommandCodes() {
    }
}
