package org.gyocs.gy.jdiameter;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.client.api.parser.IMessageParser;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;
import org.jdiameter.server.api.IMetaData;
import org.jdiameter.server.api.io.INetworkConnectionListener;
import org.jdiameter.server.api.io.INetworkGuard;

/**
 * The jDiameter node's listening socket (Extensions/NetworkGuard, set by StackConfiguration in
 * place of jDiameter's own): the limits and allow-list of mock mode, which jDiameter lacks. An
 * audit's 300 idle connections made 300 threads, none closed without a CER within 70 s, and a
 * message announcing 16 MB was read into a growing buffer. Here a connection beyond
 * --max-connections, or from an address no allowed peer has, is closed at once; one without a CER
 * after --stall-timeout is closed; its reader (LimitedTransport) bounds messages; its CER is
 * screened (ScreenedConnection). It binds as it is made, so a port in use fails the start
 * (jDiameter's own guard binds in the background and swallows the error).
 */
public final class ScreeningNetworkGuard implements INetworkGuard {
    private static final Logger log = LogManager.getLogger(ScreeningNetworkGuard.class);
    private final List<INetworkConnectionListener> listeners = new CopyOnWriteArrayList<>();
    private final List<ServerSocketChannel> servers = new ArrayList<>();
    private final AtomicInteger open = new AtomicInteger();
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ocs-peer-screen");
        t.setDaemon(true);
        return t;
    });
    /** TLS handshakes, one thread each (a peer that stalls one holds only its own), bounded by the connection cap. */
    private final java.util.concurrent.ExecutorService handshakes = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ocs-tls-handshake");
        t.setDaemon(true);
        return t;
    });
    private final IConcurrentFactory concurrent;
    private final IMessageParser parser;
    private final IMetaData meta;
    private final TransportScreen screen;
    private volatile boolean running = true;

    /** The constructor jDiameter calls (server.impl.io.tcp.NetworkGuard's). */
    public ScreeningNetworkGuard(InetAddress[] addresses, int port, IConcurrentFactory concurrent, IMessageParser parser,
                                 IMetaData meta) throws IOException {
        this.concurrent = concurrent;
        this.parser = parser;
        this.meta = meta;
        this.screen = TransportScreen.of(port);
        try {
            for (InetAddress a : addresses) {
                ServerSocketChannel s = ServerSocketChannel.open();
                s.bind(new InetSocketAddress(a, port), 1024);
                servers.add(s);
                // for 0.0.0.0 the stack has a list of addresses (StackConfiguration.listenAddresses):
                // the banner says which
                screen.listening().add((a instanceof java.net.Inet6Address ? "[" + a.getHostAddress() + "]"
                        : a.getHostAddress()) + ":" + port);
                Thread t = concurrent.getThread("NetworkGuard", () -> accept(s, false));
                t.setDaemon(true);
                t.start();
                if (screen.tls() != null) { // RFC 6733 section 13: TLS at connect, on a port of its own
                    ServerSocketChannel secure = ServerSocketChannel.open();
                    secure.bind(new InetSocketAddress(a, screen.tls().port()), 1024);
                    servers.add(secure);
                    Thread st = concurrent.getThread("NetworkGuard-TLS", () -> accept(secure, true));
                    st.setDaemon(true);
                    st.start();
                }
            }
        } catch (IOException | RuntimeException e) {
            destroy();
            throw e;
        }
    }

    private void accept(ServerSocketChannel server, boolean tls) {
        while (running) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (running) {
                    log.warn("Accept failed: {}", e.toString());
                }
                continue;
            }
            try {
                if (!admit(ch)) {
                    continue;
                }
                noDelay(ch);
                if (tls) {
                    handshakes.execute(() -> handshake(ch)); // not on the accepting thread: a peer may stall it
                } else {
                    handOver(new ScreenedConnection(concurrent, ch.socket(), parser, meta, screen, open::decrementAndGet));
                }
            } catch (Exception e) {
                log.warn("Cannot set up a connection: {}", e.toString());
                open.decrementAndGet();
                closeQuietly(ch);
            }
        }
    }

    /**
     * jDiameter writes each answer as it is ready and never turns Nagle off: an answer written
     * while the one before is unacknowledged then waits for the peer's delayed ACK, 40 ms on
     * Linux, whenever a peer has two requests in flight. A socket that refuses the option (reset
     * already) is served as it is.
     */
    private static void noDelay(SocketChannel ch) {
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException e) {
            log.debug("TCP_NODELAY not set: {}", e.toString());
        }
    }

    /** The TLS handshake, bounded by --stall-timeout; the peer must present a certificate we trust. */
    private void handshake(SocketChannel ch) {
        // the whole handshake within --stall-timeout: a peer that trickles bytes is closed too
        java.util.concurrent.ScheduledFuture<?> deadline = timers.schedule(() -> closeQuietly(ch),
                screen.limits().stallMillis(), TimeUnit.MILLISECONDS);
        try {
            javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) screen.tls().context().getSocketFactory()
                    .createSocket(ch.socket(), null, ch.socket().getPort(), true);
            s.setUseClientMode(false);
            s.setSSLParameters(screen.tls().serverParameters());
            s.setSoTimeout((int) screen.limits().stallMillis());
            s.startHandshake();
            if (!deadline.cancel(false)) {
                throw new IOException("the handshake took longer than " + screen.limits().stallMillis() + " ms");
            }
            handOver(new ScreenedConnection(concurrent, s, ch, parser, meta, screen, open::decrementAndGet));
        } catch (Exception e) {
            deadline.cancel(false);
            screen.statistics().error();
            String from = ch.socket().getInetAddress() == null ? "?" : ch.socket().getInetAddress().getHostAddress();
            log.warn("TLS handshake with {} failed: {}", from, e.toString());
            open.decrementAndGet();
            closeQuietly(ch);
        }
    }

    /** To jDiameter's peer table, with a clock for its CER. */
    private void handOver(ScreenedConnection c) {
        timers.schedule(() -> {
            if (!c.cerSeen && c.isConnected()) {
                screen.statistics().error();
                log.warn("Closing {}: no CER within {} ms", c.getKey(), screen.limits().stallMillis());
                c.drop();
            }
        }, screen.limits().stallMillis(), TimeUnit.MILLISECONDS);
        for (INetworkConnectionListener l : listeners) {
            l.newNetworkConnection(c);
        }
    }

    private boolean admit(SocketChannel ch) throws IOException {
        InetAddress from = ((InetSocketAddress) ch.getRemoteAddress()).getAddress();
        if (screen.stopping().get()) {
            log.info("Refused connection from {}: the node is stopping", from.getHostAddress());
            closeQuietly(ch);
            return false;
        }
        if (!screen.peers().mayConnectFrom(from)) {
            screen.statistics().peerRefused();
            log.warn("Refused connection from {}: no allowed peer has that address", from.getHostAddress());
            closeQuietly(ch);
            return false;
        }
        if (open.incrementAndGet() > screen.limits().maxConnections()) {
            open.decrementAndGet();
            screen.statistics().error();
            log.warn("Refused connection from {}: already {} connections (the maximum)", from.getHostAddress(),
                    screen.limits().maxConnections());
            closeQuietly(ch);
            return false;
        }
        return true;
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closed
        }
    }

    /** Connections open now, for tests. */
    int openConnections() {
        return open.get();
    }

    @Override
    public void addListener(INetworkConnectionListener listener) {
        if (!listeners.contains(listener)) {
            listeners.add(listener);
        }
    }

    @Override
    public void remListener(INetworkConnectionListener listener) {
        listeners.remove(listener);
    }

    @Override
    public void destroy() {
        running = false;
        for (ServerSocketChannel s : servers) {
            try {
                s.close();
            } catch (IOException e) {
                // closed
            }
        }
        timers.shutdownNow();
        handshakes.shutdownNow();
    }
}
