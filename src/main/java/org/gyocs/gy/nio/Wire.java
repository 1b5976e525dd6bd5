package org.gyocs.gy.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.X509Certificate;

/**
 * How a connection's bytes go in and out: straight through the socket, or through TLS
 * (TlsWire). Used by one event loop's thread only.
 */
interface Wire {

    /** Reads what has arrived into {@code dst}; @return the bytes read, 0 for none yet, -1 at the end */
    int read(ByteBuffer dst) throws IOException;

    /** Writes as much as the socket takes; @return the bytes of {@code src} consumed */
    long write(ByteBuffer[] src) throws IOException;

    /** True while bytes are held that the socket did not take (TLS records): the loop waits for OP_WRITE. */
    default boolean holdsOutput() {
        return false;
    }

    /** True when data already read from the socket waits to be returned by {@link #read}. */
    default boolean holdsInput() {
        return false;
    }

    /** The peer's certificate, once TLS has authenticated it; null over plain TCP. */
    default X509Certificate peerCertificate() {
        return null;
    }

    /** Plain TCP. */
    static Wire plain(SocketChannel channel) {
        return new Wire() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                return channel.read(dst);
            }

            @Override
            public long write(ByteBuffer[] src) throws IOException {
                return channel.write(src);
            }
        };
    }
}
