package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;

/**
 * What a connection has to send, written in one gathering write per event-loop turn (the answers
 * to a batch of pipelined requests leave in one system call), and bounded: a peer that does not
 * read its answers must not fill the node's heap. Used by one event loop's thread only.
 */
final class OutboundQueue {
    /** A peer that does not read its answers is closed past this much unsent data. */
    static final int MAX_PENDING_BYTES = 4 * 1024 * 1024;

    /**
     * A message to send, and whether the statistics already count it as a sent answer (a CCA):
     * if the connection closes before all of it is written, that count is taken back. Its
     * Result-Code is read from its bytes then, not for every answer sent, and the answer's
     * objects are not kept: a peer that does not read would keep them as well as the bytes.
     */
    private record Queued(ByteBuffer bytes, boolean counted) {
    }

    private final ArrayDeque<Queued> out = new ArrayDeque<>();
    private int pendingBytes;

    /**
     * Queues an encoded message.
     *
     * @param counted whether the statistics count it as a sent answer
     * @return false when the peer now has more than the bound unread
     */
    boolean add(byte[] encoded, boolean counted) {
        out.add(new Queued(ByteBuffer.wrap(encoded), counted));
        pendingBytes += encoded.length;
        return pendingBytes <= MAX_PENDING_BYTES;
    }

    /**
     * Empties the queue of a connection that closed: the Result-Codes of the counted answers
     * among what never went out whole (a part of a message is no message to the peer).
     */
    long[] drop() {
        long[] lost = out.stream().filter(Queued::counted).mapToLong(q -> resultCodeOf(q.bytes().array())).toArray();
        out.clear();
        pendingBytes = 0;
        return lost;
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
            long written = wire.write(buffers());
            pendingBytes -= written;
            while (!out.isEmpty() && !out.peek().bytes().hasRemaining()) {
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

    private static long resultCodeOf(byte[] encoded) {
        try {
            return CcrDispatch.resultCodeOf(DiameterCodec.decode(encoded));
        } catch (DiameterDecodeException e) {
            return 0; // encoded here: not expected
        }
    }

    /** What is queued, for one gathering write. */
    private ByteBuffer[] buffers() {
        ByteBuffer[] b = new ByteBuffer[out.size()];
        int n = 0;
        for (Queued q : out) {
            b[n++] = q.bytes();
        }
        return b;
    }
}
