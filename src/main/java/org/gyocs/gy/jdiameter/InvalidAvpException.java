package org.gyocs.gy.jdiameter;

import org.gyocs.core.FailedAvp;

/** An AVP whose data does not fit its type (e.g. an Unsigned32 of 3 bytes): answered 5004. */
final class InvalidAvpException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient FailedAvp failedAvp;

    InvalidAvpException(int code, long vendorId, byte[] raw, String why, Throwable cause) {
        super("AVP " + code + " " + why, cause);
        this.failedAvp = new FailedAvp(code, vendorId, raw == null ? new byte[0] : raw);
    }

    FailedAvp failedAvp() {
        return failedAvp;
    }
}
