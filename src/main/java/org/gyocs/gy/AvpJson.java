package org.gyocs.gy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.GyDictionary;

/**
 * Received AVPs decoded for a person to read, as GET /requests shows them: name, code, vendor and
 * value by the type the dictionary gives (an Enumerated value with its name, a Time as an
 * instant, an Address as text), Grouped AVPs nested, and an AVP the dictionary does not know (or
 * whose data does not fit its type) with its code and its data in hex.
 */
public final class AvpJson {
    /** Nesting deeper than this is shown in hex: no real request comes near it. */
    private static final int MAX_DEPTH = 16;
    /** Seconds from the NTP epoch (1900) to the Unix epoch: a Diameter Time is NTP seconds (RFC 6733 4.3.1). */
    private static final long NTP_TO_UNIX = 2_208_988_800L;

    private AvpJson() {
    }

    public static List<Map<String, Object>> decode(List<WireAvp> avps) {
        return decode(avps, 0);
    }

    private static List<Map<String, Object>> decode(List<WireAvp> avps, int depth) {
        List<Map<String, Object>> out = new ArrayList<>(avps.size());
        for (WireAvp a : avps) {
            out.add(node(a, depth));
        }
        return out;
    }

    private static Map<String, Object> node(WireAvp a, int depth) {
        Map<String, Object> n = new LinkedHashMap<>();
        GyDictionary.AvpDefinition d = GyDictionary.get().definition(a.vendorId(), a.code());
        if (d != null) {
            n.put("name", d.name());
        }
        n.put("code", a.code());
        if (a.vendorId() != 0) {
            n.put("vendor", a.vendorId());
        }
        byte[] data = a.data() == null ? new byte[0] : a.data();
        if (d == null) {
            n.put("hex", HexFormat.of().formatHex(data));
            return n;
        }
        try {
            value(n, d, a, data, depth);
        } catch (IllegalArgumentException | DiameterDecodeException e) {
            n.remove("value");
            n.remove("avps");
            n.put("hex", HexFormat.of().formatHex(data));
            n.put("error", e.getMessage());
        }
        return n;
    }

    private static void value(Map<String, Object> n, GyDictionary.AvpDefinition d, WireAvp a, byte[] data, int depth)
            throws DiameterDecodeException {
        ByteBuffer b = ByteBuffer.wrap(data);
        switch (d.type()) {
            case "Grouped" -> {
                if (depth >= MAX_DEPTH) {
                    throw new IllegalArgumentException("nested deeper than " + MAX_DEPTH);
                }
                List<WireAvp> children = new ArrayList<>();
                for (Avp c : new Avp(a.code(), a.flags(), a.vendorId(), data).group()) {
                    children.add(new WireAvp(c.code(), c.isVendorSpecific() ? c.vendorId() : 0, c.flags(), c.data()));
                }
                n.put("avps", decode(children, depth + 1));
            }
            case "Unsigned32" -> n.put("value", Integer.toUnsignedLong(fixed(b, 4).getInt()));
            case "Integer32" -> n.put("value", fixed(b, 4).getInt());
            case "Enumerated" -> {
                long v = fixed(b, 4).getInt();
                n.put("value", v);
                String name = d.enumNames().get(v);
                if (name != null) {
                    n.put("enum", name);
                }
            }
            case "Unsigned64" -> n.put("value", Long.toUnsignedString(fixed(b, 8).getLong()));
            case "Integer64" -> n.put("value", fixed(b, 8).getLong());
            case "Float32" -> n.put("value", fixed(b, 4).getFloat());
            case "Float64" -> n.put("value", fixed(b, 8).getDouble());
            case "Time" -> n.put("value", Instant.ofEpochSecond(Integer.toUnsignedLong(fixed(b, 4).getInt()) - NTP_TO_UNIX)
                    .toString());
            case "Address" -> n.put("value", address(data));
            case "UTF8String", "DiameterIdentity", "DiameterURI", "IPFilterRule" -> n.put("value", utf8(data));
            default -> {
                n.put("hex", HexFormat.of().formatHex(data));
                String text = printable(data);
                if (text != null) {
                    n.put("value", text);
                }
            }
        }
    }

    private static ByteBuffer fixed(ByteBuffer b, int length) {
        if (b.remaining() != length) {
            throw new IllegalArgumentException("expected " + length + " octets, got " + b.remaining());
        }
        return b;
    }

    private static String utf8(byte[] data) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not UTF-8");
        }
    }

    /** The data as text when it is all printable ASCII (an OctetString often holds an APN or an IMSI). */
    private static String printable(byte[] data) {
        if (data.length == 0) {
            return null;
        }
        for (byte c : data) {
            if (c < 0x20 || c > 0x7e) {
                return null;
            }
        }
        return new String(data, StandardCharsets.US_ASCII);
    }

    /** RFC 6733 4.3.1: a 2-octet address family (1 IPv4, 2 IPv6), then the address. */
    private static String address(byte[] data) {
        if (data.length == 6 && data[0] == 0 && data[1] == 1 || data.length == 18 && data[0] == 0 && data[1] == 2) {
            try {
                return InetAddress.getByAddress(java.util.Arrays.copyOfRange(data, 2, data.length)).getHostAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not an address");
            }
        }
        throw new IllegalArgumentException("not an IPv4 or IPv6 address");
    }
}
