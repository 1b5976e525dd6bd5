package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;

/**
 * Cuts what a connection reads into whole Diameter messages (RFC 6733 section 3): several may
 * come in one read, or one over many. Each message's length is checked against the limit before
 * anything is allocated for it. Used by one event loop's thread only.
 */
final class FrameReader {
    private static final int INITIAL_BUFFER = 4096;

    private final int maxMessageBytes;
    private ByteBuffer in = ByteBuffer.allocate(INITIAL_BUFFER);

    FrameReader(int maxMessageBytes) {
        this.maxMessageBytes = maxMessageBytes;
    }

    /** Reads what the wire has; @return the bytes read, 0 for none yet, -1 at the end of the stream */
    int readFrom(Wire wire) throws IOException {
        return wire.read(in);
    }

    /** True while part of a message waits for the rest. */
    boolean holdsPartial() {
        return in.position() > 0;
    }

    /**
     * The next whole message, or null when more bytes are needed.
     *
     * @throws DiameterDecodeException when the bytes are not Diameter or announce a message past the limit
     */
    byte[] next() throws DiameterDecodeException {
        if (in.position() == 0) {
            return null;
        }
        if ((in.get(0) & 0xFF) != DiameterCodec.VERSION) {
            throw DiameterDecodeException.framing("not a Diameter message (first byte 0x"
                    + Integer.toHexString(in.get(0) & 0xFF) + ")");
        }
        if (in.position() < 4) {
            return null;
        }
        int length = DiameterCodec.messageLength(in, 0, maxMessageBytes);
        if (in.position() < length) {
            if (in.capacity() < length) {
                ByteBuffer bigger = ByteBuffer.allocate(length);
                in.flip();
                bigger.put(in);
                in = bigger;
            }
            return null;
        }
        byte[] frame = new byte[length];
        in.flip();
        in.get(frame);
        in.compact();
        if (in.position() == 0 && in.capacity() > INITIAL_BUFFER) {
            in = ByteBuffer.allocate(INITIAL_BUFFER); // a large message does not keep its buffer
        }
        return frame;
    }
}
