package org.gyocs.testing;

import static org.gyocs.codec.AvpCodes.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterMessage;

/**
 * CCRs shaped as Open5GS's SMF sends them (its Gy client, src/smf/gy-path.c): Requested-Action
 * DIRECT_DEBITING and AoC-Request-Type on session requests, Multiple-Services-Indicator 0, one MSCC
 * without Rating-Group whose Requested-Service-Unit is empty (before 2023) or CC-Total-Octets
 * 1000000, a Used-Service-Unit with CC-Time and input/output octets, QoS-Information in the MSCC,
 * and Service-Information/PS-Information with the 3GPP AVPs of TS 29.061, every 3GPP AVP with the
 * V- and M-bits set as freeDiameter's dictionary sends them.
 */
public final class Open5gsRequests {
    private static final int AOC_REQUEST_TYPE = 2055;
    private static final int QOS_INFORMATION = 1016;
    private static final int QOS_CLASS_IDENTIFIER = 1028;
    private static final int ALLOCATION_RETENTION_PRIORITY = 1034;
    private static final int PRIORITY_LEVEL = 1046;
    private static final int PRE_EMPTION_CAPABILITY = 1047;
    private static final int PRE_EMPTION_VULNERABILITY = 1048;
    private static final int APN_AMBR_UL = 1041;
    private static final int APN_AMBR_DL = 1040;
    private static final int SERVICE_INFORMATION = 873;
    private static final int PS_INFORMATION = 874;
    private static final int TGPP_CHARGING_ID = 2;
    private static final int TGPP_PDP_TYPE = 3;
    private static final int PDP_ADDRESS = 1227;
    private static final int SGSN_ADDRESS = 1228;
    private static final int GGSN_ADDRESS = 847;
    private static final int TGPP_SELECTION_MODE = 12;
    private static final int TGPP_CHARGING_CHARACTERISTICS = 13;
    private static final int TGPP_SGSN_MCC_MNC = 18;
    private static final int TGPP_NSAPI = 10;
    private static final int TGPP_MS_TIMEZONE = 23;
    private static final int TGPP_USER_LOCATION_INFO = 22;
    private static final int USER_EQUIPMENT_INFO = 458;
    private static final int USER_EQUIPMENT_INFO_TYPE = 459;
    private static final int USER_EQUIPMENT_INFO_VALUE = 460;
    private static final int TERMINATION_CAUSE = 295;

    private Open5gsRequests() {
    }

    /**
     * @param type          1 initial, 2 update, 3 termination
     * @param totalOctets   CC-Total-Octets of the Requested-Service-Unit, or null for an empty one
     */
    public static DiameterMessage ccr(int hopByHop, String sessionId, int type, int number, Long totalOctets) {
        List<Avp> avps = new ArrayList<>();
        avps.add(Avp.utf8(SESSION_ID, sessionId));
        avps.add(Avp.utf8(ORIGIN_HOST, "smf.localdomain"));
        avps.add(Avp.utf8(ORIGIN_REALM, "localdomain"));
        avps.add(Avp.utf8(DESTINATION_REALM, "test.local"));
        avps.add(Avp.unsigned32(AUTH_APPLICATION_ID, 4));
        avps.add(Avp.utf8(SERVICE_CONTEXT_ID, "open5gs-smfd@open5gs.org"));
        avps.add(Avp.unsigned32(CC_REQUEST_TYPE, type));
        avps.add(Avp.unsigned32(CC_REQUEST_NUMBER, number));
        avps.add(Avp.of(EVENT_TIMESTAMP, new byte[] {(byte) 0xEB, 0x1D, 0x2F, 0x00}));
        avps.add(Avp.grouped(SUBSCRIPTION_ID, Avp.unsigned32(SUBSCRIPTION_ID_TYPE, 1),
                Avp.utf8(SUBSCRIPTION_ID_DATA, "999700000000001")));
        avps.add(Avp.grouped(SUBSCRIPTION_ID, Avp.unsigned32(SUBSCRIPTION_ID_TYPE, 0),
                Avp.utf8(SUBSCRIPTION_ID_DATA, "491799000001")));
        if (type == 3) {
            avps.add(Avp.unsigned32(TERMINATION_CAUSE, 1));
        }
        avps.add(Avp.unsigned32(REQUESTED_ACTION, 0));
        avps.add(vendor32(AOC_REQUEST_TYPE, 2));
        avps.add(Avp.unsigned32(MULTIPLE_SERVICES_INDICATOR, 0));
        avps.add(mscc(type, totalOctets));
        avps.add(serviceInformation(type));
        return GyRequests.ccr(hopByHop, avps);
    }

    private static Avp mscc(int type, Long totalOctets) {
        List<Avp> g = new ArrayList<>();
        if (type == 1 || type == 2) {
            g.add(totalOctets == null ? Avp.grouped(REQUESTED_SERVICE_UNIT)
                    : Avp.grouped(REQUESTED_SERVICE_UNIT, Avp.unsigned64(CC_TOTAL_OCTETS, totalOctets)));
        }
        g.add(Avp.grouped(USED_SERVICE_UNIT, Avp.unsigned32(CC_TIME, type == 1 ? 0 : 12),
                Avp.unsigned64(CC_INPUT_OCTETS, type == 1 ? 0 : 3000), Avp.unsigned64(CC_OUTPUT_OCTETS, type == 1 ? 0 : 7000)));
        if (type != 1) {
            g.add(vendor32(REPORTING_REASON, 4)); // VALIDITY_TIME
        }
        g.add(Avp.vendor(QOS_INFORMATION, VENDOR_3GPP, encode(List.of(
                vendor32(QOS_CLASS_IDENTIFIER, 9),
                Avp.vendor(ALLOCATION_RETENTION_PRIORITY, VENDOR_3GPP, encode(List.of(vendor32(PRIORITY_LEVEL, 8),
                        vendor32(PRE_EMPTION_CAPABILITY, 1), vendor32(PRE_EMPTION_VULNERABILITY, 1)))),
                vendor32(APN_AMBR_UL, 1_000_000_000), vendor32(APN_AMBR_DL, 1_000_000_000)))));
        return Avp.grouped(MULTIPLE_SERVICES_CREDIT_CONTROL, g);
    }

    private static Avp serviceInformation(int type) {
        List<Avp> ps = new ArrayList<>();
        ps.add(vendor32(TGPP_CHARGING_ID, 1));
        if (type == 1) {
            ps.add(vendor32(TGPP_PDP_TYPE, 0)); // IPv4
        }
        ps.add(Avp.vendor(PDP_ADDRESS, VENDOR_3GPP, new byte[] {0, 1, 10, 45, 0, 2}));
        ps.add(Avp.vendor(SGSN_ADDRESS, VENDOR_3GPP, new byte[] {0, 1, 127, 0, 0, 3}));
        ps.add(Avp.vendor(GGSN_ADDRESS, VENDOR_3GPP, new byte[] {0, 1, 127, 0, 0, 4}));
        ps.add(Avp.utf8(CALLED_STATION_ID, "internet"));
        ps.add(Avp.vendor(TGPP_SELECTION_MODE, VENDOR_3GPP, "0".getBytes(StandardCharsets.US_ASCII)));
        ps.add(Avp.vendor(TGPP_CHARGING_CHARACTERISTICS, VENDOR_3GPP, "0800".getBytes(StandardCharsets.US_ASCII)));
        ps.add(Avp.vendor(TGPP_SGSN_MCC_MNC, VENDOR_3GPP, "99970".getBytes(StandardCharsets.US_ASCII)));
        ps.add(Avp.vendor(TGPP_NSAPI, VENDOR_3GPP, new byte[] {5}));
        ps.add(Avp.vendor(TGPP_MS_TIMEZONE, VENDOR_3GPP, new byte[] {0x40, 0}));
        ps.add(Avp.vendor(TGPP_USER_LOCATION_INFO, VENDOR_3GPP,
                new byte[] {(byte) 130, 0x09, (byte) 0xf9, 0x07, 0x00, 0x01, 0x09, (byte) 0xf9, 0x07, 0x00, 0x00, 0x01, 0x02}));
        // Open5GS puts User-Equipment-Info inside PS-Information
        ps.add(Avp.grouped(USER_EQUIPMENT_INFO, Avp.unsigned32(USER_EQUIPMENT_INFO_TYPE, 0),
                Avp.of(USER_EQUIPMENT_INFO_VALUE, "3534900698733190".getBytes(StandardCharsets.US_ASCII))).optional());
        return Avp.vendor(SERVICE_INFORMATION, VENDOR_3GPP, encode(List.of(Avp.vendor(PS_INFORMATION, VENDOR_3GPP, encode(ps)))));
    }

    private static Avp vendor32(int code, long value) {
        return Avp.vendor(code, VENDOR_3GPP, ByteBuffer.allocate(4).putInt((int) value).array());
    }

    private static byte[] encode(List<Avp> avps) {
        return org.gyocs.codec.DiameterCodec.encodeAvps(avps);
    }
}
