package org.gyocs.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A few lines of RFC 6733 framing for tests that must see the bytes a stack hides: whether a DPR
 * really arrives, or what a peer that never answers does to the client. Flat AVPs only.
 */
public final class RawDiameter {
    public static final int CER = 257;
    public static final int DWR = 280;
    public static final int DPR = 282;
    public static final int CCR = 272;

    private RawDiameter() {
    }

    /** A decoded message: header fields and its top-level AVPs (code to data; last one wins). */
    public record Message(int flags, int command, long applicationId, int hopByHop, int endToEnd,
                          Map<Integer, byte[]> avps) {
        public boolean isRequest() {
            return (flags & 0x80) != 0;
        }

        public long u32(int code) {
            return ByteBuffer.wrap(avps.get(code)).getInt() & 0xFFFFFFFFL;
        }
    }

    public static byte[] avp(int code, byte[] data) {
        int len = 8 + data.length;
        ByteBuffer b = ByteBuffer.allocate((len + 3) & ~3);
        b.putInt(code).putInt(0x40 << 24 | len).put(data);
        return b.array();
    }

    public static byte[] avp(int code, String s) {
        return avp(code, s.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] avp(int code, int u32) {
        return avp(code, ByteBuffer.allocate(4).putInt(u32).array());
    }

    public static byte[] message(boolean request, int command, long appId, int hbh, int e2e, byte[]... avps) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] a : avps) {
            body.writeBytes(a);
        }
        ByteBuffer b = ByteBuffer.allocate(20 + body.size());
        b.putInt(1 << 24 | (20 + body.size()));
        b.putInt((request ? 0x80 : 0) << 24 | command);
        b.putInt((int) appId).putInt(hbh).putInt(e2e).put(body.toByteArray());
        return b.array();
    }

    /** A CER from a Gy client (Host-IP-Address 127.0.0.1, Auth-Application-Id 4). */
    public static byte[] cer(String originHost, String realm) {
        return message(true, CER, 0, 1, 1, avp(264, originHost), avp(296, realm),
                avp(257, new byte[] {0, 1, 127, 0, 0, 1}), avp(266, 0), avp(269, "raw-test"), avp(258, 4));
    }

    /** The answer to a request, with Result-Code 2001 and our identity. */
    public static byte[] answer(Message request, String originHost, String realm, byte[]... extra) {
        byte[][] avps = new byte[3 + extra.length][];
        avps[0] = avp(268, 2001);
        avps[1] = avp(264, originHost);
        avps[2] = avp(296, realm);
        System.arraycopy(extra, 0, avps, 3, extra.length);
        return message(false, request.command(), request.applicationId(), request.hopByHop(), request.endToEnd(), avps);
    }

    public static Message read(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int first = d.readInt();
        int length = first & 0xFFFFFF;
        int second = d.readInt();
        long app = d.readInt() & 0xFFFFFFFFL;
        int hbh = d.readInt();
        int e2e = d.readInt();
        byte[] body = new byte[length - 20];
        d.readFully(body);
        Map<Integer, byte[]> avps = new LinkedHashMap<>();
        ByteBuffer b = ByteBuffer.wrap(body);
        while (b.remaining() >= 8) {
            int code = b.getInt();
            int flagsAndLength = b.getInt();
            int avpLength = flagsAndLength & 0xFFFFFF;
            int header = (flagsAndLength >>> 24 & 0x80) != 0 ? 12 : 8;
            if (header == 12) {
                b.getInt();
            }
            byte[] data = new byte[avpLength - header];
            b.get(data);
            b.position(Math.min(b.limit(), b.position() + ((4 - avpLength % 4) % 4)));
            avps.put(code, data);
        }
        return new Message(second >>> 24, second & 0xFFFFFF, app, hbh, e2e, avps);
    }

    public static void write(OutputStream out, byte[] message) throws IOException {
        out.write(message);
        out.flush();
    }
}
