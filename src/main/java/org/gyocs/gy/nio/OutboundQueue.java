package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.DiameterMessage;

/**
 * What a connection has to send, written in one gathering write per event-loop turn (the answers
 * to a batch of pipelined requests leave in one system call), and bounded: a peer that does not
 * read its answers must not fill the node's heap. Used by one event loop's thread only.
 */
final class OutboundQueue {
    /** A peer that does not read its answers is closed past this much unsent data. */
    static final int MAX_PENDING_BYTES = 4 * 1024 * 1024;

    /**
     * A message to send; {@code counted} is the answer the statistics already count as sent (a
     * CCA), or null: if the connection closes before all of it is written, that count is taken back.
     */
    private record Queued(ByteBuffer bytes, DiameterMessage counted) {
    }

    private final ArrayDeque<Queued> out = new ArrayDeque<>();
    private int pendingBytes;

    /**
     * Queues an encoded message.
     *
     * @param counted the answer as the statistics counted it sent, or null for any other message
     * @return false when the peer now has more than the bound unread
     */
    boolean add(byte[] encoded, DiameterMessage counted) {
        out.add(new Queued(ByteBuffer.wrap(encoded), counted));
        pendingBytes += encoded.length;
        return pendingBytes <= MAX_PENDING_BYTES;
    }

    /**
     * Empties the queue of a connection that closed: the counted answers among what never went
     * out whole (a part of a message is no message to the peer).
     */
    List<DiameterMessage> drop() {
        List<DiameterMessage> lost = new ArrayList<>(0);
        for (Queued q : out) {
            if (q.counted() != null) {
                lost.add(q.counted());
            }
        }
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
