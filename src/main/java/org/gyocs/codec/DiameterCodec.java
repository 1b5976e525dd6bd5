package org.gyocs.codec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes Diameter messages (RFC 6733 sections 3 and 4.1): the 20-byte header, AVPs
 * with the V-bit and Vendor-ID, 32-bit padding, grouped AVPs. Decoding never allocates more than
 * the frame it is given and throws nothing but {@link DiameterDecodeException}.
 */
public final class DiameterCodec {
    public static final int HEADER_LENGTH = 20;
    public static final int VERSION = 1;

    private DiameterCodec() {
    }

    /**
     * Checks the first bytes of a frame: version 1 and a length between 20 and {@code maxLength}.
     * Needs at least 4 bytes.
     *
     * @return the message length announced by the header
     */
    public static int messageLength(ByteBuffer buf, int offset, int maxLength) throws DiameterDecodeException {
        int version = buf.get(offset) & 0xFF;
        if (version != VERSION) {
            throw DiameterDecodeException.framing("not a Diameter message (version " + version + ", expected 1)");
        }
        int length = ((buf.get(offset + 1) & 0xFF) << 16) | ((buf.get(offset + 2) & 0xFF) << 8) | (buf.get(offset + 3) & 0xFF);
        if (length < HEADER_LENGTH) {
            throw DiameterDecodeException.framing("message length " + length + " is under the 20-byte header");
        }
        if ((length & 3) != 0) {
            throw DiameterDecodeException.framing("message length " + length + " is not a multiple of 4");
        }
        if (length > maxLength) {
            throw DiameterDecodeException.framing("message length " + length + " is over the maximum of " + maxLength);
        }
        return length;
    }

    /**
     * The UTF-8 value of a top-level AVP (vendor 0) of the whole message at the buffer's position,
     * read in place without decoding the message; null when it has none or its AVPs do not fit.
     */
    public static String topLevelUtf8(ByteBuffer raw, int code) {
        int start = raw.position();
        int end = start + (raw.getInt(start) & 0xFFFFFF);
        if (end > raw.limit()) {
            return null;
        }
        ByteBuffer b = raw.duplicate().limit(end).position(start + HEADER_LENGTH);
        try {
            while (b.hasRemaining()) {
                AvpHeader h = AvpHeader.read(b, null, "message");
                if (h.code() == code && h.vendorId() == 0) {
                    byte[] v = new byte[h.dataLength()];
                    b.get(h.dataStart(), v);
                    return new String(v, StandardCharsets.UTF_8);
                }
                b.position(h.next());
            }
        } catch (DiameterDecodeException e) {
            return null;
        }
        return null;
    }

    /** Decodes one whole message. */
    public static DiameterMessage decode(byte[] frame) throws DiameterDecodeException {
        if (frame.length < HEADER_LENGTH) {
            throw DiameterDecodeException.framing("message of " + frame.length + " bytes is under the 20-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(frame);
        int length = messageLength(b, 0, frame.length);
        if (length != frame.length) {
            throw DiameterDecodeException.framing("header says " + length + " bytes, frame has " + frame.length);
        }
        int flagsAndCode = b.getInt(4);
        int flags = flagsAndCode >>> 24;
        int command = flagsAndCode & 0xFFFFFF;
        long app = b.getInt(8) & 0xFFFFFFFFL;
        int hbh = b.getInt(12);
        int e2e = b.getInt(16);
        b.position(HEADER_LENGTH);
        List<Avp> avps = new ArrayList<>();
        try {
            decodeAvps(b, avps, null);
        } catch (DiameterDecodeException e) {
            throw DiameterDecodeException.withPartial(e, new DiameterMessage(flags, command, app, hbh, e2e, avps));
        }
        return new DiameterMessage(flags, command, app, hbh, e2e, avps);
    }

    /** Decodes the AVPs of a group. */
    static List<Avp> decodeAvps(ByteBuffer b, Avp parent) throws DiameterDecodeException {
        List<Avp> out = new ArrayList<>();
        decodeAvps(b, out, parent);
        return out;
    }

    private static void decodeAvps(ByteBuffer b, List<Avp> out, Avp parent) throws DiameterDecodeException {
        while (b.hasRemaining()) {
            AvpHeader h = AvpHeader.read(b, parent, parent == null ? "message" : "group");
            byte[] data = new byte[h.dataLength()];
            b.get(h.dataStart(), data);
            b.position(h.next());
            out.add(new Avp(h.code(), h.flags(), h.vendorId(), data));
        }
    }

    /**
     * An AVP's header (RFC 6733 section 4.1) and where its data lies, read in place: the one
     * place that checks an AVP's length against what holds it.
     *
     * @param dataStart  the index of its data in the buffer
     * @param next       the index after its padding: the next AVP's header
     */
    record AvpHeader(int code, int flags, long vendorId, int dataStart, int dataLength, int next) {

        /**
         * Reads the header at the buffer's position, up to its limit.
         *
         * @throws DiameterDecodeException 5014 for a header that does not fit, or a length that
         *         runs past the limit ({@code holder} names what holds it, for the message)
         */
        static AvpHeader read(ByteBuffer b, Avp parent, String holder) throws DiameterDecodeException {
            int start = b.position();
            if (b.remaining() < 8) {
                throw DiameterDecodeException.invalidLength(parent != null ? parent : new Avp(0, 0, 0, new byte[0]),
                        b.remaining() + " trailing bytes are no AVP header");
            }
            int code = b.getInt(start);
            int flagsAndLength = b.getInt(start + 4);
            int flags = flagsAndLength >>> 24;
            int length = flagsAndLength & 0xFFFFFF;
            boolean vendorBit = (flags & Avp.FLAG_VENDOR) != 0;
            int headerLength = vendorBit ? 12 : 8;
            long vendor = 0;
            if (vendorBit) {
                if (b.remaining() < 12) {
                    throw DiameterDecodeException.invalidLength(new Avp(code, flags & ~Avp.FLAG_VENDOR, 0, new byte[0]),
                            "AVP " + code + " has the V-bit but no Vendor-ID");
                }
                vendor = b.getInt(start + 8) & 0xFFFFFFFFL;
            }
            int dataLength = length - headerLength;
            if (length < headerLength || dataLength > b.remaining() - headerLength) {
                // RFC 6733 7.5: the header and a zero-filled minimal payload are enough in Failed-AVP
                throw DiameterDecodeException.invalidLength(new Avp(code, flags, vendor, new byte[0]),
                        "AVP " + code + " at offset " + start + " has length " + length + ", which runs past its " + holder);
            }
            int dataStart = start + headerLength;
            int next = Math.min(b.limit(), dataStart + dataLength + ((4 - (length & 3)) & 3));
            return new AvpHeader(code, flags, vendor, dataStart, dataLength, next);
        }
    }

    public static byte[] encode(DiameterMessage m) {
        int length = HEADER_LENGTH;
        for (Avp a : m.avps()) {
            length += a.paddedLength();
        }
        ByteBuffer b = ByteBuffer.allocate(length);
        b.putInt(VERSION << 24 | length);
        b.putInt(m.flags() << 24 | (m.commandCode() & 0xFFFFFF));
        b.putInt((int) m.applicationId());
        b.putInt(m.hopByHop());
        b.putInt(m.endToEnd());
        for (Avp a : m.avps()) {
            put(b, a);
        }
        return b.array();
    }

    /** The encoded AVPs, padded: the data of a Grouped AVP. */
    public static byte[] encodeAvps(List<Avp> avps) {
        int length = 0;
        for (Avp a : avps) {
            length += a.paddedLength();
        }
        ByteBuffer b = ByteBuffer.allocate(length);
        for (Avp a : avps) {
            put(b, a);
        }
        return b.array();
    }

    private static void put(ByteBuffer b, Avp a) {
        b.putInt(a.code());
        b.putInt(a.flags() << 24 | a.length());
        if (a.isVendorSpecific()) {
            b.putInt((int) a.vendorId());
        }
        b.put(a.data());
        for (int i = a.length(); i < a.paddedLength(); i++) {
            b.put((byte) 0);
        }
    }
}
