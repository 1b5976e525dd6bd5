package org.gyocs.codec;

import java.util.List;

/**
 * The AVPs this node understands: base protocol (RFC 6733), Credit-Control (RFC 4006) and the 3GPP
 * Gy AVPs of TS 32.299 (vendor 10415). An unknown AVP with the M-bit set is answered 5001
 * DIAMETER_AVP_UNSUPPORTED (RFC 6733 section 4.1). Which AVPs are known, and which are grouped,
 * comes from dictionary/dictionary.xml ({@link GyDictionary}); the constants here name the ones the
 * node reads or writes, and a test checks each against the dictionary.
 */
public final class AvpCodes {
    public static final long VENDOR_3GPP = 10415;

    public static final int USER_NAME = 1;
    public static final int FILTER_ID = 11;
    public static final int PROXY_STATE = 33;
    public static final int CALLED_STATION_ID = 30;
    public static final int EVENT_TIMESTAMP = 55;
    public static final int HOST_IP_ADDRESS = 257;
    public static final int AUTH_APPLICATION_ID = 258;
    public static final int ACCT_APPLICATION_ID = 259;
    public static final int VENDOR_SPECIFIC_APPLICATION_ID = 260;
    public static final int SESSION_ID = 263;
    public static final int ORIGIN_HOST = 264;
    public static final int SUPPORTED_VENDOR_ID = 265;
    public static final int VENDOR_ID = 266;
    public static final int FIRMWARE_REVISION = 267;
    public static final int RESULT_CODE = 268;
    public static final int PRODUCT_NAME = 269;
    public static final int DISCONNECT_CAUSE = 273;
    public static final int AUTH_SESSION_STATE = 277;
    public static final int ORIGIN_STATE_ID = 278;
    public static final int FAILED_AVP = 279;
    public static final int PROXY_HOST = 280;
    public static final int ERROR_MESSAGE = 281;
    public static final int ROUTE_RECORD = 282;
    public static final int DESTINATION_REALM = 283;
    public static final int PROXY_INFO = 284;
    public static final int RE_AUTH_REQUEST_TYPE = 285;
    public static final int DESTINATION_HOST = 293;
    public static final int ERROR_REPORTING_HOST = 294;
    public static final int TERMINATION_CAUSE = 295;
    public static final int ORIGIN_REALM = 296;
    public static final int EXPERIMENTAL_RESULT = 297;
    public static final int EXPERIMENTAL_RESULT_CODE = 298;
    public static final int INBAND_SECURITY_ID = 299;
    public static final int CC_CORRELATION_ID = 411;
    public static final int CC_INPUT_OCTETS = 412;
    public static final int CC_MONEY = 413;
    public static final int CC_OUTPUT_OCTETS = 414;
    public static final int CC_REQUEST_NUMBER = 415;
    public static final int CC_REQUEST_TYPE = 416;
    public static final int CC_SERVICE_SPECIFIC_UNITS = 417;
    public static final int CC_SESSION_FAILOVER = 418;
    public static final int CREDIT_CONTROL_FAILURE_HANDLING = 427;
    public static final int CC_SUB_SESSION_ID = 419;
    public static final int CC_TIME = 420;
    public static final int CC_TOTAL_OCTETS = 421;
    public static final int CHECK_BALANCE_RESULT = 422;
    public static final int COST_INFORMATION = 423;
    public static final int COST_UNIT = 424;
    public static final int CURRENCY_CODE = 425;
    public static final int EXPONENT = 429;
    public static final int FINAL_UNIT_INDICATION = 430;
    public static final int GRANTED_SERVICE_UNIT = 431;
    public static final int REDIRECT_ADDRESS_TYPE = 433;
    public static final int REDIRECT_SERVER = 434;
    public static final int REDIRECT_SERVER_ADDRESS = 435;
    public static final int UNIT_VALUE = 445;
    public static final int VALUE_DIGITS = 447;
    public static final int FINAL_UNIT_ACTION = 449;
    public static final int TARIFF_TIME_CHANGE = 451;
    public static final int TARIFF_CHANGE_USAGE = 452;
    public static final int RATING_GROUP = 432;
    public static final int REQUESTED_ACTION = 436;
    public static final int REQUESTED_SERVICE_UNIT = 437;
    public static final int SERVICE_IDENTIFIER = 439;
    public static final int SUBSCRIPTION_ID = 443;
    public static final int SUBSCRIPTION_ID_DATA = 444;
    public static final int USED_SERVICE_UNIT = 446;
    public static final int VALIDITY_TIME = 448;
    public static final int SUBSCRIPTION_ID_TYPE = 450;
    public static final int MULTIPLE_SERVICES_INDICATOR = 455;
    public static final int MULTIPLE_SERVICES_CREDIT_CONTROL = 456;
    public static final int SERVICE_CONTEXT_ID = 461;
    /** 3GPP (vendor 10415) */
    public static final int REPORTING_REASON = 872;
    public static final int TIME_QUOTA_THRESHOLD = 868;
    public static final int VOLUME_QUOTA_THRESHOLD = 869;
    public static final int QUOTA_HOLDING_TIME = 871;
    public static final int AOC_REQUEST_TYPE = 2055;

    private AvpCodes() {
    }

    /** True for the Grouped AVPs of the dictionary (Failed-AVP excluded: it holds anything). */
    public static boolean isGrouped(Avp a) {
        if (a.code() == FAILED_AVP && !a.isVendorSpecific()) {
            return false;
        }
        return GyDictionary.get().isGrouped(vendorOf(a), a.code());
    }

    /**
     * How deep grouped AVPs may nest. The deepest a Gy CCR goes is about six levels
     * (Service-Information, PS-Information, Traffic-Data-Volumes, QoS-Information,
     * Allocation-Retention-Priority...); a 64 KB CCR nested 8,100 deep once cost a mock-mode
     * event loop over a second of CPU and, another time, its thread (StackOverflowError).
     */
    public static final int MAX_GROUP_DEPTH = 16;

    /**
     * The first AVP with the M-bit set that this node does not know, searching known groups too,
     * or null (RFC 6733 section 4.1: such an AVP must be refused with 5001). The groups are walked
     * in place, without copying their data and without recursion, so the cost is linear in the
     * message's size whatever its nesting.
     *
     * @throws DiameterDecodeException 5014 for an AVP whose length runs past its group, 5004 for
     *         groups nested deeper than {@value #MAX_GROUP_DEPTH}
     */
    public static Avp firstUnsupportedMandatory(List<Avp> avps) throws DiameterDecodeException {
        java.util.ArrayDeque<int[]> groups = new java.util.ArrayDeque<>(); // {index of the top AVP, offset, end, depth}
        for (int i = 0; i < avps.size(); i++) {
            Avp a = avps.get(i);
            if (!isKnown(a)) {
                if (a.isMandatory()) {
                    return a;
                }
            } else if (isGrouped(a)) {
                groups.push(new int[] {i, 0, a.data().length, 1});
                while (!groups.isEmpty()) {
                    int[] g = groups.pop();
                    Avp unsupported = scanGroup(avps.get(g[0]).data(), g[1], g[2], g[3], groups, g[0]);
                    if (unsupported != null) {
                        return unsupported;
                    }
                }
            }
        }
        return null;
    }

    /** Scans one group's AVPs in {@code data[offset, end)}; known groups inside are pushed to be scanned next. */
    private static Avp scanGroup(byte[] data, int offset, int end, int depth, java.util.ArrayDeque<int[]> groups, int top)
            throws DiameterDecodeException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(data, offset, end - offset);
        while (b.remaining() > 0) {
            DiameterCodec.AvpHeader h = DiameterCodec.AvpHeader.read(b, null, "group");
            int code = h.code();
            int flags = h.flags();
            long vendor = h.vendorId();
            int dataStart = h.dataStart();
            int dataLength = h.dataLength();
            GyDictionary d = GyDictionary.get();
            if (!d.isKnown(vendor, code)) {
                if ((flags & Avp.FLAG_MANDATORY) != 0) {
                    return new Avp(code, flags, vendor, java.util.Arrays.copyOfRange(data, dataStart, dataStart + dataLength));
                }
            } else if (d.isGrouped(vendor, code) && !(code == FAILED_AVP && vendor == 0)) {
                if (depth >= MAX_GROUP_DEPTH) {
                    throw DiameterDecodeException.invalidAvp(new Avp(code, flags, vendor, new byte[0]),
                            "grouped AVPs nested deeper than " + MAX_GROUP_DEPTH + " levels");
                }
                groups.push(new int[] {top, dataStart, dataStart + dataLength, depth + 1});
            }
            b.position(h.next());
        }
        return null;
    }

    public static boolean isKnown(Avp a) {
        return GyDictionary.get().isKnown(vendorOf(a), a.code());
    }

    private static long vendorOf(Avp a) {
        return a.isVendorSpecific() ? a.vendorId() : 0;
    }
}
