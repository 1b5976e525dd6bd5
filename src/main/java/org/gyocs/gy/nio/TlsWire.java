package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLPeerUnverifiedException;

import org.gyocs.node.TlsSettings;

/**
 * TLS over a non-blocking socket (RFC 6733 section 13: TLS from the first byte), the server side
 * of an SSLEngine that requires the client's certificate. The handshake runs as bytes come and go;
 * its delegated tasks (the public-key operations, about a millisecond) run on the event loop.
 */
final class TlsWire implements Wire {
    private final SocketChannel channel;
    private final SSLEngine engine;
    /** Records read from the socket, not yet decrypted. */
    private ByteBuffer netIn;
    /** Decrypted data not yet handed to the connection. */
    private ByteBuffer appIn;
    /** Records made, not yet taken by the socket. */
    private ByteBuffer netOut;
    private boolean closed;

    TlsWire(SocketChannel channel, TlsSettings tls) {
        this.channel = channel;
        this.engine = tls.context().createSSLEngine();
        engine.setUseClientMode(false);
        engine.setSSLParameters(tls.serverParameters());
        int packet = engine.getSession().getPacketBufferSize();
        int app = engine.getSession().getApplicationBufferSize();
        netIn = ByteBuffer.allocate(packet);
        appIn = ByteBuffer.allocate(app);
        appIn.flip(); // empty, ready to be read
        netOut = ByteBuffer.allocate(packet);
        netOut.flip();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (appIn.hasRemaining()) {
            return copy(appIn, dst);
        }
        if (closed) {
            return -1;
        }
        int n = channel.read(netIn);
        if (n < 0) {
            closed = true;
            return -1;
        }
        unwrap();
        return appIn.hasRemaining() ? copy(appIn, dst) : (closed ? -1 : 0);
    }

    /** Decrypts what netIn holds into appIn, driving the handshake on the way. */
    private void unwrap() throws IOException {
        netIn.flip();
        appIn.compact();
        try {
            while (netIn.hasRemaining()) {
                SSLEngineResult r = engine.unwrap(netIn, appIn);
                switch (r.getStatus()) {
                    case BUFFER_UNDERFLOW -> {
                        int packet = engine.getSession().getPacketBufferSize();
                        if (netIn.capacity() < packet) {
                            netIn.compact();
                            netIn = enlarge(netIn, packet);
                            netIn.flip();
                        }
                        return; // a record is not whole yet
                    }
                    case BUFFER_OVERFLOW -> appIn = enlarge(appIn, engine.getSession().getApplicationBufferSize());
                    case CLOSED -> {
                        closed = true;
                        return;
                    }
                    case OK -> {
                        if (!handshake(r.getHandshakeStatus()) && r.bytesConsumed() == 0 && r.bytesProduced() == 0) {
                            return;
                        }
                    }
                }
            }
            handshake(engine.getHandshakeStatus());
        } finally {
            netIn.compact();
            appIn.flip();
        }
    }

    /** Runs tasks and sends handshake records as the engine asks; @return whether it did anything */
    private boolean handshake(HandshakeStatus status) throws IOException {
        boolean acted = false;
        HandshakeStatus s = status;
        while (true) {
            if (s == HandshakeStatus.NEED_TASK) {
                for (Runnable task; (task = engine.getDelegatedTask()) != null; ) {
                    task.run();
                }
                s = engine.getHandshakeStatus();
                acted = true;
            } else if (s == HandshakeStatus.NEED_WRAP) {
                s = wrap(new ByteBuffer[] {ByteBuffer.allocate(0)}).getHandshakeStatus();
                acted = true;
            } else {
                return acted;
            }
        }
    }

    @Override
    public long write(ByteBuffer[] src) throws IOException {
        if (!flushNet()) {
            return 0;
        }
        HandshakeStatus hs = engine.getHandshakeStatus();
        if (hs != HandshakeStatus.NOT_HANDSHAKING && hs != HandshakeStatus.FINISHED) {
            handshake(hs);
            return 0; // application data after the handshake
        }
        long consumed = 0;
        while (remaining(src) > 0 && flushNet()) {
            SSLEngineResult r = wrap(src);
            consumed += r.bytesConsumed();
            if (r.bytesConsumed() == 0) {
                break;
            }
        }
        flushNet();
        return consumed;
    }

    /** Encrypts into netOut (which must be empty) and writes it. */
    private SSLEngineResult wrap(ByteBuffer[] src) throws IOException {
        netOut.compact();
        SSLEngineResult r;
        try {
            r = engine.wrap(src, netOut);
            while (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                netOut = enlarge(netOut, engine.getSession().getPacketBufferSize());
                r = engine.wrap(src, netOut);
            }
        } finally {
            netOut.flip();
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            closed = true;
        }
        flushNet();
        return r;
    }

    /** Writes what netOut holds; @return true when it is all out */
    private boolean flushNet() throws IOException {
        while (netOut.hasRemaining()) {
            if (channel.write(netOut) == 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean holdsOutput() {
        return netOut.hasRemaining();
    }

    @Override
    public boolean holdsInput() {
        return appIn.hasRemaining();
    }

    @Override
    public X509Certificate peerCertificate() {
        try {
            return (X509Certificate) engine.getSession().getPeerCertificates()[0];
        } catch (SSLPeerUnverifiedException | RuntimeException e) {
            return null;
        }
    }

    private static int copy(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        ByteBuffer slice = from.slice();
        slice.limit(n);
        to.put(slice);
        from.position(from.position() + n);
        return n;
    }

    private static long remaining(ByteBuffer[] bufs) {
        long n = 0;
        for (ByteBuffer b : bufs) {
            n += b.remaining();
        }
        return n;
    }

    /** A bigger buffer in write mode, holding what {@code writeMode} (in write mode) holds. */
    private static ByteBuffer enlarge(ByteBuffer writeMode, int atLeast) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(writeMode.capacity() * 2, writeMode.position() + atLeast));
        writeMode.flip();
        bigger.put(writeMode);
        return bigger;
    }

}
