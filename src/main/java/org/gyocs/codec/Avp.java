package org.gyocs.codec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * One AVP (RFC 6733 section 4.1): code, flags, Vendor-ID when the V-bit is set, and its data
 * (without padding). Grouped AVPs keep their encoded data; {@link #group()} decodes it.
 */
public record Avp(int code, int flags, long vendorId, byte[] data) {
    public static final int FLAG_VENDOR = 0x80;
    public static final int FLAG_MANDATORY = 0x40;
    public static final int FLAG_PROTECTED = 0x20;

    public Avp {
        if (vendorId != 0) {
            flags |= FLAG_VENDOR;
        }
    }

    public boolean isMandatory() {
        return (flags & FLAG_MANDATORY) != 0;
    }

    public boolean isVendorSpecific() {
        return (flags & FLAG_VENDOR) != 0;
    }

    /** Header plus data, without padding: the AVP Length field. */
    public int length() {
        return (isVendorSpecific() ? 12 : 8) + data.length;
    }

    /** Length on the wire, padded to 32 bits. */
    public int paddedLength() {
        return (length() + 3) & ~3;
    }

    // ---- builders: M-bit set unless said otherwise (RFC 4006 marks its AVPs "must") ----

    public static Avp of(int code, byte[] data) {
        return new Avp(code, FLAG_MANDATORY, 0, data);
    }

    public static Avp unsigned32(int code, long value) {
        return of(code, ByteBuffer.allocate(4).putInt((int) value).array());
    }

    public static Avp unsigned64(int code, long value) {
        return of(code, ByteBuffer.allocate(8).putLong(value).array());
    }

    public static Avp utf8(int code, String value) {
        return of(code, value.getBytes(StandardCharsets.UTF_8));
    }

    /** An AVP with the M-bit clear (e.g. Product-Name, Firmware-Revision, Error-Message). */
    public Avp optional() {
        return new Avp(code, flags & ~FLAG_MANDATORY, vendorId, data);
    }

    public static Avp vendor(int code, long vendorId, byte[] data) {
        return new Avp(code, FLAG_VENDOR | FLAG_MANDATORY, vendorId, data);
    }

    public static Avp grouped(int code, List<Avp> children) {
        return of(code, DiameterCodec.encodeAvps(children));
    }

    public static Avp grouped(int code, Avp... children) {
        return grouped(code, List.of(children));
    }

    /** An Address AVP (RFC 6733 section 4.3.1) of an IPv4 or IPv6 address. */
    public static Avp address(int code, java.net.InetAddress a) {
        byte[] ip = a.getAddress();
        ByteBuffer b = ByteBuffer.allocate(2 + ip.length);
        b.putShort((short) (ip.length == 4 ? 1 : 2)).put(ip);
        return of(code, b.array());
    }

    // ---- readers ----

    /** Unsigned32, Enumerated or Integer32 data. */
    public long unsigned32() throws DiameterDecodeException {
        if (data.length != 4) {
            throw DiameterDecodeException.invalidAvp(this, "AVP " + code + " must have 4 bytes of data, not " + data.length);
        }
        return ByteBuffer.wrap(data).getInt() & 0xFFFFFFFFL;
    }

    public long unsigned64() throws DiameterDecodeException {
        if (data.length != 8) {
            throw DiameterDecodeException.invalidAvp(this, "AVP " + code + " must have 8 bytes of data, not " + data.length);
        }
        long v = ByteBuffer.wrap(data).getLong();
        if (v < 0) {
            // above 2^63-1: no real amount, and capping it once let a report be read as something else
            throw DiameterDecodeException.invalidAvp(this, "AVP " + code + " exceeds 2^63-1");
        }
        return v;
    }

    public String utf8() {
        return new String(data, StandardCharsets.UTF_8);
    }

    /** The AVPs inside a Grouped AVP. */
    public List<Avp> group() throws DiameterDecodeException {
        return DiameterCodec.decodeAvps(ByteBuffer.wrap(data), this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Avp a && a.code == code && a.flags == flags && a.vendorId == vendorId
                && Arrays.equals(a.data, data);
    }

    @Override
    public int hashCode() {
        return (code * 31 + flags) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Avp[" + code + (vendorId != 0 ? "/" + vendorId : "") + " flags=" + Integer.toHexString(flags)
                + " len=" + data.length + "]";
    }
}
