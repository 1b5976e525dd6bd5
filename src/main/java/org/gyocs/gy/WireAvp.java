package org.gyocs.gy;

/**
 * One AVP as it arrived (the data of a Grouped AVP still encoded), for the record of received
 * requests: decoded into JSON only when someone reads the record ({@link AvpJson}).
 *
 * @param flags the AVP flags octet (V 0x80, M 0x40, P 0x20)
 */
public record WireAvp(int code, long vendorId, int flags, byte[] data) {
}
