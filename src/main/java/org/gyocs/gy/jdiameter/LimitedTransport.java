package org.gyocs.gy.jdiameter;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.node.TransportLimits;
import org.jdiameter.client.impl.transport.tcp.TCPClientConnection;
import org.jdiameter.client.impl.transport.tcp.TCPTransportClient;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;

/**
 * The reader of an incoming jDiameter connection, with mock mode's limits: it reads a message's
 * 4-byte header first and closes the connection for a version other than 1 or a length under 20
 * or over --max-message, before allocating anything (jDiameter's own reader grew a buffer by
 * copying for an announced 16 MB, 3.4 s of CPU per MB), and closes a peer that leaves half a
 * message for --stall-timeout. Sending and stopping are jDiameter's (TCPTransportClient's fields).
 * Tied to jDiameter 1.7.1-123's protected fields; the tests guard it.
 */
final class LimitedTransport extends TCPTransportClient {
    private static final Logger log = LogManager.getLogger(LimitedTransport.class);
    private static final int READ_BUFFER_BYTES = 64 * 1024;
    /** Returned by deliverComplete for a header that closes the connection. */
    private static final ByteBuffer CLOSE = ByteBuffer.allocate(0);
    private final ScreenedConnection parent;
    private final IConcurrentFactory concurrent;
    private final TransportLimits limits;
    private final TransportScreen screen;

    LimitedTransport(ScreenedConnection parent, IConcurrentFactory concurrent, TransportScreen screen) {
        this.parent = parent;
        this.concurrent = concurrent;
        this.screen = screen;
        this.limits = screen.limits();
    }

    /**
     * The length of the message whose header (its first 4 bytes) starts at {@code offset}, checked
     * as mock mode checks it (version 1, at least 20, a multiple of 4, at most --max-message), or -1:
     * then the connection closes, logged and counted.
     */
    static int acceptedLength(ByteBuffer buf, int offset, String who, TransportScreen screen) {
        try {
            return DiameterCodec.messageLength(buf, offset, screen.limits().maxMessageBytes());
        } catch (DiameterDecodeException e) {
            screen.statistics().error();
            log.warn("Closing {}: {}", who, e.getMessage());
            return -1;
        }
    }

    @Override
    public void initialize(Socket socket) throws IOException {
        socketChannel = socket.getChannel();
        socketChannel.configureBlocking(false);
        destAddress = new InetSocketAddress(socket.getInetAddress(), socket.getPort());
    }

    private static final java.util.concurrent.atomic.LongAdder WRITES = new java.util.concurrent.atomic.LongAdder();
    /**
     * What a thread inside {@link #batched} sends, per connection, held until it leaves. The
     * sender of answers released by one journal sync sends them in one write per connection
     * instead of one system call per answer (a third of that thread's samples); and the bytes of
     * an answer leave after jDiameter's session has taken the state that answer gives it.
     */
    private static final ThreadLocal<java.util.Map<TCPTransportClient, HeldBytes>> BATCH = new ThreadLocal<>();
    /**
     * A sending thread's buffer for its next batch, kept between batches: a new one per batch,
     * grown and then copied out, was 10 % of the bytes the node allocated under load (JFR), and
     * every such byte brings G1's next pause nearer.
     */
    private static final ThreadLocal<HeldBytes> SPARE = new ThreadLocal<>();
    /** A spare grown past this (one burst of many answers) is dropped, not kept. */
    private static final int SPARE_MAX_BYTES = 1 << 20;

    /**
     * The bytes held for one connection, written from where they are, without a copy. It starts
     * small, as a batch for one of several peers may hold one answer; the spare keeps what it grew to.
     */
    private static final class HeldBytes extends java.io.ByteArrayOutputStream {
        HeldBytes() {
            super(4096);
        }

        ByteBuffer held() {
            return ByteBuffer.wrap(buf, 0, count);
        }

        int capacity() {
            return buf.length;
        }
    }

    /**
     * Runs {@code sends}, the messages it sends written when it returns, each connection's in one
     * write. A write that fails then is logged: the connection is closing, and its reader ends it.
     */
    static void batched(Runnable sends) {
        if (BATCH.get() != null) {
            sends.run();
            return;
        }
        java.util.Map<TCPTransportClient, HeldBytes> batch = new java.util.LinkedHashMap<>(4);
        BATCH.set(batch);
        try {
            sends.run();
        } finally {
            BATCH.remove();
            for (java.util.Map.Entry<TCPTransportClient, HeldBytes> e : batch.entrySet()) {
                HeldBytes bytes = e.getValue();
                try {
                    // written before it returns (writeNow), so the buffer is free again after
                    e.getKey().sendMessage(bytes.held());
                } catch (IOException | RuntimeException failed) {
                    log.warn("Cannot send {} bytes of answers to {}: {}", bytes.size(), e.getKey().getDestAddress(),
                            failed.toString());
                }
                if (bytes.capacity() <= SPARE_MAX_BYTES) {
                    bytes.reset();
                    SPARE.set(bytes);
                }
            }
        }
    }

    /** Whether this thread is inside {@link #batched}: what it sends is held, never written here. */
    static boolean batching() {
        return BATCH.get() != null;
    }

    /**
     * Holds {@code bytes} for {@code transport} when this thread is batching.
     *
     * @return false when it is not: the caller writes them now
     */
    static boolean held(TCPTransportClient transport, ByteBuffer bytes) {
        java.util.Map<TCPTransportClient, HeldBytes> batch = BATCH.get();
        if (batch == null) {
            return false;
        }
        byte[] message = bytes.array(); // jDiameter's encoder: the array is the message (as its writer assumes)
        HeldBytes held = batch.get(transport);
        if (held == null) {
            held = SPARE.get();
            if (held == null) {
                held = new HeldBytes();
            } else {
                SPARE.remove();
            }
            batch.put(transport, held);
        }
        held.write(message, 0, message.length);
        return true;
    }

    @Override
    public void sendMessage(ByteBuffer bytes) throws IOException {
        if (!held(this, bytes)) {
            writeNow(bytes);
        }
    }

    /**
     * Writes all of {@code bytes} under the transport's lock. jDiameter's own loop spins for ever
     * on a peer that reads nothing; this one waits a little between attempts and closes the
     * connection once nothing could be written for --stall-timeout, so that the thread sending
     * answers to every peer is held up by such a peer for that long at most.
     */
    private void writeNow(ByteBuffer bytes) throws IOException {
        WRITES.increment();
        long stall = limits.stallMillis() * 1_000_000L;
        lock.lock();
        try {
            long since = 0;
            while (bytes.hasRemaining()) {
                if (socketChannel.write(bytes) > 0) {
                    since = 0;
                    continue;
                }
                long now = System.nanoTime();
                if (since == 0) {
                    since = now;
                } else if (now - since > stall) {
                    screen.statistics().error();
                    log.warn("Closing {}: it has read nothing for {} ms", destAddress, limits.stallMillis());
                    socketChannel.close();
                    throw new IOException("Peer not reading");
                }
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Writes of every connection of this JVM so far, for the tests. */
    static long writes() {
        return WRITES.sum();
    }

    @Override
    public TCPClientConnection getParent() {
        return parent;
    }

    @Override
    public void start() {
        selfThread = concurrent.getThread("TCPReader", this);
        selfThread.setDaemon(true);
        selfThread.start();
    }

    @Override
    public void run() {
        // one read takes whatever the socket holds, often several messages at 50 in flight:
        // reading each message's header and then its body cost two system calls per message
        ByteBuffer in = ByteBuffer.allocate(READ_BUFFER_BYTES);
        ByteBuffer large = null; // a message longer than the read buffer, read straight into its own
        long lastRead = 0; // when bytes last came; only looked at while a message is partly read
        String who = String.valueOf(destAddress);
        long stall = limits.stallMillis() * 1_000_000L;
        try {
            // as jDiameter's own reader does: its peer table attaches its listener to a new
            // connection after the guard hands it over, and the peer state machine of a peer that
            // has just left must be DOWN before the same peer's next CER is read (without the
            // pause, quick reconnects of one peer got 5012 or a closed connection)
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Selector selector = Selector.open()) {
            socketChannel.register(selector, SelectionKey.OP_READ);
            while (!stop) {
                selector.select(250);
                selector.selectedKeys().clear();
                while (true) {
                    int n = socketChannel.read(large != null ? large : in);
                    if (n < 0) {
                        return;
                    }
                    if (n > 0) {
                        lastRead = System.nanoTime();
                    }
                    if (large != null) {
                        if (large.hasRemaining()) {
                            if (n == 0) {
                                break;
                            }
                            continue;
                        }
                        parent.deliver(ByteBuffer.wrap(large.array()));
                        large = null;
                    } else {
                        large = deliverComplete(in, who);
                        if (large == CLOSE) {
                            return;
                        }
                        if (n == 0) {
                            break;
                        }
                    }
                }
                boolean partial = large != null || in.position() > 0;
                if (partial && lastRead != 0 && System.nanoTime() - lastRead > stall) {
                    screen.statistics().error();
                    log.warn("Closing {}: half a message for {} ms", who, limits.stallMillis());
                    return;
                }
            }
        } catch (Exception e) {
            log.debug("Reader of {} ended: {}", who, e.toString());
        } finally {
            try {
                socketChannel.close();
            } catch (IOException e) {
                // closed
            }
            parent.closed();
        }
    }

    /**
     * Hands every complete message in the read buffer to jDiameter, each header checked before its
     * message is copied, and keeps the partial rest for the next read. Returns a buffer for a
     * message longer than the read buffer (its first bytes in it), null, or CLOSE for a header
     * that is not acceptable.
     */
    private ByteBuffer deliverComplete(ByteBuffer in, String who) {
        in.flip();
        try {
            while (in.remaining() >= 4) {
                int length = acceptedLength(in, in.position(), who, screen);
                if (length < 0) {
                    return CLOSE;
                }
                if (in.remaining() >= length) {
                    byte[] message = new byte[length];
                    in.get(message);
                    parent.deliver(ByteBuffer.wrap(message));
                } else if (length > in.capacity()) {
                    ByteBuffer large = ByteBuffer.allocate(length);
                    large.put(in);
                    return large;
                } else {
                    return null;
                }
            }
            return null;
        } finally {
            in.compact();
        }
    }
}
