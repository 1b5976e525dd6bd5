package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * What a connection has to send, written in one gathering write per event-loop turn (the answers
 * to a batch of pipelined requests leave in one system call), and bounded: a peer that does not
 * read its answers must not fill the node's heap. Used by one event loop's thread only.
 */
final class OutboundQueue {
    /** A peer that does not read its answers is closed past this much unsent data. */
    static final int MAX_PENDING_BYTES = 4 * 1024 * 1024;

    private final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    private int pendingBytes;

    /** Queues an encoded message; @return false when the peer now has more than the bound unread */
    boolean add(byte[] encoded) {
        out.add(ByteBuffer.wrap(encoded));
        pendingBytes += encoded.length;
        return pendingBytes <= MAX_PENDING_BYTES;
    }

    boolean isEmpty() {
        return out.isEmpty();
    }

    /**
     * Writes what the socket takes, TLS records the wire still holds included.
     *
     * @return true when everything went out, false when the socket is full (wait for OP_WRITE)
     */
    boolean writeTo(Wire wire) throws IOException {
        while (!out.isEmpty()) {
            long written = wire.write(out.toArray(new ByteBuffer[0]));
            pendingBytes -= written;
            while (!out.isEmpty() && !out.peek().hasRemaining()) {
                out.poll();
            }
            if (!out.isEmpty() && written == 0) {
                return false;
            }
        }
        if (wire.holdsOutput()) {
            wire.write(new ByteBuffer[0]); // TLS records the socket did not take yet
            return !wire.holdsOutput();
        }
        return true;
    }
}
