package org.gyocs.core;

import java.util.Arrays;

/**
 * The AVP to report in Failed-AVP (RFC 6733 section 7.5): for a missing AVP, an example of it
 * with a minimal value; for an invalid one, the AVP as received. {@code data} is the AVP's
 * payload, so both transports encode it the same way; {@code vendorId} is 0 for the base and
 * RFC 4006 AVPs, else the Vendor-ID the AVP was received with (3GPP's 10415).
 */
public record FailedAvp(int code, long vendorId, byte[] data) {

    public FailedAvp(int code, byte[] data) {
        this(code, 0, data);
    }

    /** A missing AVP of type Unsigned32, Integer32 or Enumerated: four zero bytes. */
    public static FailedAvp missingNumber(int code) {
        return new FailedAvp(code, new byte[4]);
    }

    /** A missing AVP of a string type (UTF8String, DiameterIdentity): an empty value. */
    public static FailedAvp missingString(int code) {
        return new FailedAvp(code, new byte[0]);
    }

    /** A 64-bit AVP received with an invalid value. */
    public static FailedAvp unsigned64(int code, long value) {
        return new FailedAvp(code, java.nio.ByteBuffer.allocate(8).putLong(value).array());
    }

    /** A 32-bit AVP received with an invalid value. */
    public static FailedAvp invalidNumber(int code, long value) {
        int v = (int) value;
        return new FailedAvp(code, new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FailedAvp f && f.code == code && f.vendorId == vendorId && Arrays.equals(f.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * code + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FailedAvp[code=" + code + (vendorId != 0 ? "/" + vendorId : "") + ", data=" + Arrays.toString(data) + "]";
    }
}
