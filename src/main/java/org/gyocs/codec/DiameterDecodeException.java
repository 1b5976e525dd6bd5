package org.gyocs.codec;

/**
 * Bytes that are not a sound Diameter message. When the header was sound and one AVP was not,
 * {@link #failedAvp()} names it and {@link #resultCode()} says how to answer (RFC 6733 section
 * 7.1.5: 5014 DIAMETER_INVALID_AVP_LENGTH, 5004 DIAMETER_INVALID_AVP_VALUE); otherwise the
 * stream cannot be trusted and the connection is closed.
 */
public final class DiameterDecodeException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Avp failedAvp;
    private final long resultCode;
    private final transient DiameterMessage partial;

    private DiameterDecodeException(String message, Avp failedAvp, long resultCode, DiameterMessage partial) {
        super(message);
        this.failedAvp = failedAvp;
        this.resultCode = resultCode;
        this.partial = partial;
    }

    /** The same error, with the header and the AVPs decoded before it, so it can be answered. */
    static DiameterDecodeException withPartial(DiameterDecodeException e, DiameterMessage partial) {
        return new DiameterDecodeException(e.getMessage(), e.failedAvp, e.resultCode, partial);
    }

    /** The header and the AVPs before the error, when the header was sound; null otherwise. */
    public DiameterMessage partial() {
        return partial;
    }

    /** A broken header or framing: no answer is possible. */
    public static DiameterDecodeException framing(String message) {
        return new DiameterDecodeException(message, null, 0, null);
    }

    /** An AVP whose length runs past its message or group. */
    public static DiameterDecodeException invalidLength(Avp failed, String message) {
        return new DiameterDecodeException(message, failed, 5014, null);
    }

    /** An AVP whose data does not fit its type. */
    public static DiameterDecodeException invalidAvp(Avp failed, String message) {
        return new DiameterDecodeException(message, failed, 5004, null);
    }

    /** The AVP to report in Failed-AVP, or null for framing errors. */
    public Avp failedAvp() {
        return failedAvp;
    }

    /** The Result-Code to answer with, 0 when the connection must be closed instead. */
    public long resultCode() {
        return resultCode;
    }
}
