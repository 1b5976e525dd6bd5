package org.gyocs.core;

/** The Result-Code values this node sends (RFC 6733 section 7.1, RFC 4006 section 9). */
public final class ResultCode {
    public static final long SUCCESS = 2001;
    public static final long COMMAND_UNSUPPORTED = 3001;
    public static final long UNABLE_TO_DELIVER = 3002;
    public static final long REALM_NOT_SERVED = 3003;
    public static final long TOO_BUSY = 3004;
    public static final long APPLICATION_UNSUPPORTED = 3007;
    public static final long UNKNOWN_PEER = 3010;
    public static final long CREDIT_LIMIT_REACHED = 4012;
    public static final long AVP_UNSUPPORTED = 5001;
    public static final long UNKNOWN_SESSION_ID = 5002;
    public static final long AUTHORIZATION_REJECTED = 5003;
    public static final long INVALID_AVP_VALUE = 5004;
    public static final long MISSING_AVP = 5005;
    public static final long AVP_OCCURS_TOO_MANY_TIMES = 5009;
    public static final long UNABLE_TO_COMPLY = 5012;
    public static final long INVALID_AVP_LENGTH = 5014;
    public static final long USER_UNKNOWN = 5030;
    public static final long RATING_FAILED = 5031;

    private ResultCode() {
    }

    /** RFC 6733 section 7.1.2: 2xxx codes report success. */
    public static boolean isSuccess(long code) {
        return code >= 2000 && code < 3000;
    }

    /** The Error-Message of a 3003: which realm was asked, which one this node serves. */
    public static String realmNotServedMessage(String asked, String served) {
        return "Realm " + asked + " is not served here; this node serves " + served;
    }
}
