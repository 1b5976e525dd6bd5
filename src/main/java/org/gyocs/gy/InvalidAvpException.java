package org.gyocs.gy;

import org.gyocs.core.FailedAvp;
import org.gyocs.core.ResultCode;

/**
 * An AVP of a received CCR that cannot be read: data that does not fit its type (an Unsigned32
 * of 3 bytes: 5004 DIAMETER_INVALID_AVP_VALUE) or a Grouped AVP whose inner lengths do not add
 * up (5014 DIAMETER_INVALID_AVP_LENGTH). Answered with that Result-Code and the AVP as Failed-AVP.
 */
public final class InvalidAvpException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient FailedAvp failedAvp;
    private final long resultCode;

    public InvalidAvpException(long resultCode, FailedAvp failedAvp, String message) {
        super(message);
        this.resultCode = resultCode;
        this.failedAvp = failedAvp;
    }

    /** 5004: the AVP's data does not fit its type. */
    public static InvalidAvpException invalidValue(FailedAvp failed, String why) {
        return new InvalidAvpException(ResultCode.INVALID_AVP_VALUE, failed,
                "AVP " + failed.code() + " " + why);
    }

    public FailedAvp failedAvp() {
        return failedAvp;
    }

    public long resultCode() {
        return resultCode;
    }
}
