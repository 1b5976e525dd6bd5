package org.gyocs.core;

/** Subscription-Id (RFC 4006 section 8.46): type 0 END_USER_E164 (MSISDN), 1 IMSI, 2 SIP URI, 3 NAI, 4 private. */
public record SubscriptionId(int type, String data) {
    public static final int END_USER_E164 = 0;
    public static final int END_USER_IMSI = 1;
    public static final int END_USER_SIP_URI = 2;
    public static final int END_USER_NAI = 3;
    public static final int END_USER_PRIVATE = 4;
}
