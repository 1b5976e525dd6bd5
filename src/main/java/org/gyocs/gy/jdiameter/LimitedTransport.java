package org.gyocs.gy.jdiameter;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
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
     * Whether a message header (its first 4 bytes) may be read: version 1, a length of at least 20,
     * a multiple of 4, at most --max-message. Otherwise the connection closes, logged and counted.
     */
    static boolean acceptable(int first, String who, TransportScreen screen) {
        int version = first >>> 24;
        int length = first & 0xFFFFFF;
        if (version != 1 || length < 20 || length > screen.limits().maxMessageBytes() || (length & 3) != 0) {
            screen.statistics().error();
            log.warn("Closing {}: a message of version {} and length {} (at most {})", who, version, length,
                    screen.limits().maxMessageBytes());
            return false;
        }
        return true;
    }

    @Override
    public void initialize(Socket socket) throws IOException {
        socketChannel = socket.getChannel();
        socketChannel.configureBlocking(false);
        destAddress = new InetSocketAddress(socket.getInetAddress(), socket.getPort());
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
        ByteBuffer header = ByteBuffer.allocate(4);
        ByteBuffer body = null;
        long lastRead = 0; // while a message is partly read: when bytes last came
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
                    int n = body == null ? socketChannel.read(header) : socketChannel.read(body);
                    if (n < 0) {
                        return;
                    }
                    if (n > 0) {
                        lastRead = System.nanoTime();
                    }
                    if (body == null && !header.hasRemaining()) {
                        int first = header.getInt(0);
                        int length = first & 0xFFFFFF;
                        if (!acceptable(first, who, screen)) {
                            return;
                        }
                        body = ByteBuffer.allocate(length);
                        body.put(header.array());
                        header.clear();
                    } else if (body != null && !body.hasRemaining()) {
                        parent.deliver(ByteBuffer.wrap(body.array()));
                        body = null;
                        lastRead = 0;
                    } else if (n == 0) {
                        break;
                    }
                }
                boolean partial = body != null || header.position() > 0;
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
}
