package org.gyocs.gy.jdiameter;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import javax.net.ssl.SSLSocket;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.client.impl.transport.tcp.TCPClientConnection;
import org.jdiameter.client.impl.transport.tcp.TCPTransportClient;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;

/**
 * The reader and writer of a jDiameter connection over TLS (RFC 6733 section 13), with the limits
 * of {@link LimitedTransport}. jDiameter 1.7.1 has no TLS at connect of its own (its TLS is the
 * in-band kind of RFC 3588, and its server side does not load); this one reads the SSLSocket's
 * stream, and keeps the socket's channel in jDiameter's own field, which it uses to tell whether
 * the connection is up and to close it.
 */
final class TlsTransport extends TCPTransportClient {
    private static final Logger log = LogManager.getLogger(TlsTransport.class);
    /** How often the reader looks at the stall clock while it waits for bytes. */
    private static final int POLL_MILLIS = 250;
    private final ScreenedConnection parent;
    private final IConcurrentFactory concurrent;
    private final TransportScreen screen;
    private final SSLSocket tls;
    private final OutputStream out;

    TlsTransport(ScreenedConnection parent, IConcurrentFactory concurrent, TransportScreen screen, SSLSocket tls,
                 SocketChannel channel) throws IOException {
        this.parent = parent;
        this.concurrent = concurrent;
        this.screen = screen;
        this.tls = tls;
        this.out = tls.getOutputStream();
        this.socketChannel = channel;
        this.destAddress = new InetSocketAddress(tls.getInetAddress(), tls.getPort());
        tls.setSoTimeout(POLL_MILLIS);
    }

    @Override
    public TCPClientConnection getParent() {
        return parent;
    }

    @Override
    public void start() {
        // on the stack's connection timer, not the reader: the reader itself waits while the
        // peer's queue is full behind the blocked write. Set before the reader runs, whose end
        // cancels it. (jDiameter shuts that timer down as it stops; closeTls covers the stop.)
        long stall = screen.limits().stallMillis() * 1_000_000L;
        stallCheck = concurrent.getScheduledExecutorService(IConcurrentFactory.ScheduledExecServices.ConnectionTimer.name())
                .scheduleWithFixedDelay(() -> closeIfWriteStalled(stall), POLL_MILLIS, POLL_MILLIS,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
        selfThread = concurrent.getThread("TLSReader", this);
        selfThread.setDaemon(true);
        selfThread.start();
    }

    private volatile java.util.concurrent.ScheduledFuture<?> stallCheck;

    @Override
    public void sendMessage(ByteBuffer bytes) throws IOException {
        if (LimitedTransport.batching()) {
            // the thread that sends every peer's released answers never waits on this peer's TLS
            // write, which has no timeout: this connection's own writer does
            writer().execute(() -> {
                try {
                    write(bytes);
                } catch (IOException e) {
                    log.warn("Cannot send to {}: {}", destAddress, e.toString());
                    closeTls();
                }
            });
            return;
        }
        write(bytes);
    }

    /**
     * Since when a write has been under way (System.nanoTime), or 0. A TLS write has no timeout:
     * on a peer that reads nothing it blocks for ever, holding the thread that writes (the
     * peer's queue thread, or this connection's writer) and the connection. The reader, which
     * wakes every POLL_MILLIS, closes the connection once a write has waited --stall-timeout.
     */
    private volatile long writingSince;

    private void write(ByteBuffer bytes) throws IOException {
        lock.lock();
        try {
            writingSince = System.nanoTime() | 1; // never 0
            out.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
            out.flush();
            bytes.position(bytes.limit());
        } finally {
            writingSince = 0;
            lock.unlock();
        }
    }

    private final java.util.concurrent.atomic.AtomicBoolean writeStalled = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Closes the connection, counted and logged once, when a write has waited for the peer to
     * read longer than {@code stall}: the socket's channel first, which makes the blocked write
     * fail (TLS's own close would wait for that write's lock).
     */
    private void closeIfWriteStalled(long stall) {
        long since = writingSince;
        if (since == 0 || System.nanoTime() - since <= stall || !writeStalled.compareAndSet(false, true)) {
            return;
        }
        screen.statistics().error();
        log.warn("Closing {}: it has read nothing for {} ms", destAddress, screen.limits().stallMillis());
        stop = true;
        try {
            socketChannel.close();
        } catch (IOException e) {
            // closed
        }
    }

    private void cancelStallCheck() {
        java.util.concurrent.ScheduledFuture<?> f = stallCheck;
        if (f != null) {
            f.cancel(false);
        }
    }

    private java.util.concurrent.ExecutorService writer;

    private synchronized java.util.concurrent.ExecutorService writer() {
        if (writer == null) {
            writer = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "TLSWriter-" + destAddress);
                t.setDaemon(true);
                return t;
            });
        }
        return writer;
    }

    private synchronized void stopWriter() {
        if (writer != null) {
            writer.shutdownNow();
        }
    }

    /**
     * Closes the TLS socket. TLS's close sends close_notify, which waits for the record lock a
     * write holds: a write blocked on a peer that reads nothing would hold the closing thread
     * for ever. Unless no write is under way (this transport's lock taken, so none starts), the
     * socket's channel is closed first, which makes that write fail.
     */
    private void closeTls() {
        boolean idle = false;
        try {
            idle = lock.tryLock(100, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (!idle) {
                socketChannel.close();
            }
            tls.close();
        } catch (IOException e) {
            // closed
        } finally {
            if (idle) {
                lock.unlock();
            }
        }
    }

    @Override
    public void stop() throws Exception {
        stop = true;
        stopWriter();
        cancelStallCheck();
        closeTls();
        super.stop();
    }

    @Override
    public void run() {
        String who = String.valueOf(destAddress);
        long stall = screen.limits().stallMillis() * 1_000_000L;
        byte[] header = new byte[4];
        try (InputStream in = tls.getInputStream()) {
            Thread.sleep(250); // as LimitedTransport: jDiameter's peer table attaches its listener first
            while (!stop) {
                if (!readFully(in, header, 0, 4, stall, who, false)) {
                    return;
                }
                int length = LimitedTransport.acceptedLength(ByteBuffer.wrap(header), 0, who, screen);
                if (length < 0) {
                    return;
                }
                byte[] message = new byte[length];
                System.arraycopy(header, 0, message, 0, 4);
                if (!readFully(in, message, 4, message.length - 4, stall, who, true)) {
                    return;
                }
                parent.deliver(ByteBuffer.wrap(message));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            log.debug("TLS reader of {} ended: {}", who, e.toString());
        } finally {
            stopWriter();
            cancelStallCheck();
            closeTls();
            try {
                socketChannel.close();
            } catch (IOException e) {
                // closed
            }
            parent.closed();
        }
    }

    /**
     * Reads exactly {@code n} bytes; a message left half read for the stall time closes it.
     *
     * @return false at the end of the stream or past the stall time
     */
    private boolean readFully(InputStream in, byte[] b, int off, int n, long stall, String who, boolean partial)
            throws IOException {
        int done = 0;
        long lastRead = System.nanoTime();
        while (done < n && !stop) {
            int r;
            try {
                r = in.read(b, off + done, n - done);
            } catch (SocketTimeoutException e) {
                if ((partial || done > 0) && System.nanoTime() - lastRead > stall) {
                    screen.statistics().error();
                    log.warn("Closing {}: half a message for {} ms", who, screen.limits().stallMillis());
                    return false;
                }
                continue;
            }
            if (r < 0) {
                return false;
            }
            done += r;
            lastRead = System.nanoTime();
        }
        return done == n;
    }
}
