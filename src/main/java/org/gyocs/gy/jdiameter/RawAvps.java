package org.gyocs.gy.jdiameter;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Reads one top-level AVP from a message's raw bytes, without parsing the message. */
final class RawAvps {
    private static final int DESTINATION_REALM = 283;

    private RawAvps() {
    }

    /** The Destination-Realm of a message (vendor 0), or null when it has none or its AVPs do not fit. */
    static String destinationRealm(ByteBuffer raw) {
        int start = raw.position();
        int end = start + (raw.getInt(start) & 0xFFFFFF);
        if (end > raw.limit()) {
            return null;
        }
        int at = start + 20;
        while (at + 8 <= end) {
            int code = raw.getInt(at);
            int flagsAndLength = raw.getInt(at + 4);
            int length = flagsAndLength & 0xFFFFFF;
            boolean vendor = (flagsAndLength >>> 24 & 0x80) != 0;
            int header = vendor ? 12 : 8;
            if (length < header || at + length > end) {
                return null;
            }
            if (code == DESTINATION_REALM && !vendor) {
                byte[] v = new byte[length - header];
                raw.get(at + header, v);
                return new String(v, StandardCharsets.UTF_8);
            }
            at += (length + 3) & ~3;
        }
        return null;
    }
}
