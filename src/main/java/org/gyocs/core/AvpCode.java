package org.gyocs.core;

/**
 * The AVP codes the credit-control decision refers to, for example to name a missing AVP in
 * Failed-AVP. They are protocol facts (RFC 6733, RFC 4006), not transport types.
 */
public final class AvpCode {
    public static final int AUTH_APPLICATION_ID = 258;
    public static final int SESSION_ID = 263;
    public static final int ORIGIN_HOST = 264;
    public static final int DESTINATION_REALM = 283;
    public static final int ORIGIN_REALM = 296;
    public static final int CC_OUTPUT_OCTETS = 414;
    public static final int CC_REQUEST_NUMBER = 415;
    public static final int CC_REQUEST_TYPE = 416;
    public static final int MULTIPLE_SERVICES_CREDIT_CONTROL = 456;
    public static final int SERVICE_CONTEXT_ID = 461;

    private AvpCode() {
    }
}
