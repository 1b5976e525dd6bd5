package org.gyocs.gy.jdiameter;

import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.codec.CommandCodes;
import org.jdiameter.api.AvpDataException;
import org.jdiameter.api.Message;
import org.jdiameter.client.api.IMessage;
import org.jdiameter.client.api.parser.IMessageParser;
import org.jdiameter.client.impl.transport.tcp.TCPClientConnection;
import org.jdiameter.client.impl.transport.tcp.TCPTransportClient;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;
import org.jdiameter.server.api.IMetaData;

/**
 * An incoming connection of the jDiameter node, read by {@link LimitedTransport}, whose CER must
 * come from an allowed peer: jDiameter itself checks only the Origin-Host of listed peers (any
 * address), and refuses an unlisted one without any CEA. A refused peer gets CEA 3010 and is
 * closed before jDiameter makes it a peer at all.
 */
final class ScreenedConnection extends TCPClientConnection {
    private static final Logger log = LogManager.getLogger(ScreenedConnection.class);
    private final IMessageParser parser;
    private final IMetaData meta;
    private final TransportScreen screen;
    private final Runnable onClosed;
    private final TCPTransportClient transport;
    /** The peer's certificate over TLS (checked against its CER's Origin-Host); null over TCP. */
    private final java.security.cert.X509Certificate certificate;
    private final AtomicBoolean closed = new AtomicBoolean();
    volatile boolean cerSeen;
    /** The Origin-Host of its CER, once seen. */
    volatile String originHost;

    /** Over plain TCP. */
    ScreenedConnection(IConcurrentFactory concurrent, Socket socket, IMessageParser parser, IMetaData meta,
                       TransportScreen screen, Runnable onClosed) throws Exception {
        super(concurrent, parser); // protected: makes an unused transport and starts nothing
        this.parser = parser;
        this.meta = meta;
        this.screen = screen;
        this.onClosed = onClosed;
        this.certificate = null;
        this.transport = new LimitedTransport(this, concurrent, screen);
        transport.initialize(socket);
        transport.start();
    }

    /** Over TLS: {@code tls} has finished its handshake, and authenticated the peer's certificate. */
    ScreenedConnection(IConcurrentFactory concurrent, javax.net.ssl.SSLSocket tls, java.nio.channels.SocketChannel channel,
                       IMessageParser parser, IMetaData meta, TransportScreen screen, Runnable onClosed) throws Exception {
        super(concurrent, parser);
        this.parser = parser;
        this.meta = meta;
        this.screen = screen;
        this.onClosed = onClosed;
        this.certificate = (java.security.cert.X509Certificate) tls.getSession().getPeerCertificates()[0];
        TlsTransport t = new TlsTransport(this, concurrent, screen, tls, channel);
        this.transport = t;
        t.start();
    }

    @Override
    protected TCPTransportClient getClient() {
        return transport; // every method of TCPClientConnection goes through getClient()
    }

    void deliver(ByteBuffer message) {
        try {
            onMessageReceived(message);
        } catch (AvpDataException e) {
            onAvpDataException(e);
        }
    }

    @Override
    protected void onMessageReceived(ByteBuffer raw) throws AvpDataException {
        if (!cerSeen) {
            IMessage m = parser.createMessage(raw);
            if (m.isRequest() && m.getCommandCode() == Message.CAPABILITIES_EXCHANGE_REQUEST) {
                String host = CerRefusal.originHost(m);
                originHost = host;
                if (!screen.peers().permits(host, getRemoteAddress())) {
                    refuse(m, host, "not in allowed-peers");
                    return;
                }
                if (certificate != null && !org.gyocs.node.TlsSettings.certifies(certificate, host)) {
                    // RFC 6733 section 13: the certificate must be the peer's own
                    refuse(m, host, "its certificate names " + org.gyocs.node.TlsSettings.names(certificate));
                    return;
                }
            }
            cerSeen = true; // a first message that is no CER is jDiameter's to refuse
            screen.connections().add(this);
        } else if (isCreditControlRequest(raw)) {
            screen.inFlight().incrementAndGet(); // until its answer goes out (sendMessage): a stop waits for it
            org.jdiameter.client.api.IMessage early = screen.early() == null ? null : screen.early().answer(raw, parser);
            if (early != null) {
                try {
                    sendMessage(early);
                } catch (Exception e) {
                    log.warn("Cannot send an answer to {}: {}", getRemoteAddress().getHostAddress(), e.toString());
                }
                return;
            }
        }
        super.onMessageReceived(raw);
    }

    @Override
    public void sendMessage(IMessage message) throws org.jdiameter.client.api.io.TransportException,
            org.jdiameter.api.OverloadException {
        if (!message.isRequest() && message.getCommandCode() == CommandCodes.CREDIT_CONTROL) {
            screen.inFlight().decrementAndGet();
        }
        super.sendMessage(message);
    }

    /** A CCR (command 272 with the R-bit), read from the header without parsing the message. */
    private static boolean isCreditControlRequest(ByteBuffer raw) {
        int flagsAndCode = raw.getInt(raw.position() + 4);
        return (flagsAndCode >>> 24 & 0x80) != 0 && (flagsAndCode & 0xFFFFFF) == CommandCodes.CREDIT_CONTROL;
    }

    private void refuse(IMessage cer, String host, String why) {
        screen.statistics().peerRefused();
        log.warn("CER from {} ({}) refused, {}: 3010, closing", getRemoteAddress().getHostAddress(), host, why);
        try {
            sendMessage(CerRefusal.cea(parser, meta, cer, "Unknown peer"));
        } catch (Exception e) {
            log.debug("CEA 3010 not sent: {}", e.toString());
        }
        drop();
    }

    /** Closes it through the peer table's listener, which forgets the connection and releases it. */
    void drop() {
        onAvpDataException(new AvpDataException("connection refused"));
        try {
            release(); // in case no listener was there yet
        } catch (Exception e) {
            // closed already
        }
    }

    /**
     * Closes the socket at once, as a peer's crash or a cut cable would: the reader ends, and
     * jDiameter learns through {@link #closed} that the peer is gone.
     */
    void closeNow() {
        log.info("Closing the connection of {} ({}) at once", originHost, getRemoteAddress().getHostAddress());
        try {
            getClient().stop();
        } catch (Exception e) {
            log.debug("Closing {}: {}", originHost, e.toString());
        }
    }

    /** Whether its reader has ended. */
    boolean isClosed() {
        return closed.get();
    }

    /** The reader ended: the connection no longer counts, and jDiameter learns it is gone. */
    void closed() {
        screen.connections().remove(this);
        if (closed.compareAndSet(false, true)) {
            onClosed.run();
            try {
                onDisconnect();
            } catch (AvpDataException | RuntimeException e) {
                // released by jDiameter already (its address is gone): nothing more to tell
                log.debug("Disconnect of a released connection: {}", e.toString());
            }
        }
    }
}
