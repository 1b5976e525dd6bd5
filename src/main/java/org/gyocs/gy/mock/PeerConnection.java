package org.gyocs.gy.mock;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.ResultCode;
import org.gyocs.gy.GyPipeline;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.TrafficLog;

/**
 * One peer connection of the mock node: framing, the peer state machine of RFC 6733 section 5
 * (CER/CEA, DWR/DWA, DPR/DPA) and the credit-control requests. Used only by its event loop's
 * thread, so it needs no locks.
 */
final class PeerConnection {
    private static final Logger log = LogManager.getLogger(PeerConnection.class);
    private static final int INITIAL_BUFFER = 4096;
    /** A peer that does not read its answers is closed past this much unsent data. */
    private static final int MAX_PENDING_WRITE = 4 * 1024 * 1024;
    private static final long DIAMETER_NO_COMMON_APPLICATION = 5010;
    private static final long RELAY_APPLICATION = 0xFFFFFFFFL;
    /** CCRs of one connection being decided at once; more are refused 3004. */
    private static final int MAX_PENDING_DECISIONS = 10_000;
    /** On stop, how long answers still being decided may delay the DPR. */
    static final long DRAIN_MILLIS = 5_000;

    enum State { WAIT_CER, OPEN, CLOSING, CLOSED }

    private final SocketChannel channel;
    /** The socket's bytes, plain or through TLS. */
    private final Wire wire;
    private final SelectionKey key;
    private final MockContext ctx;
    private final EventLoop loop;
    private int pendingDecisions;
    private final String remote;
    private final InetAddress remoteAddress;
    private final InetAddress localAddress;
    private final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
    private ByteBuffer in = ByteBuffer.allocate(INITIAL_BUFFER);
    private int pendingWrite;
    private State state = State.WAIT_CER;
    private String peerHost = "-";
    /** This connection in the node's list of connected peers, from its CEA on. */
    private ConnectedPeers.Peer connected;
    private final long connectedAt;
    private long lastReceived;
    private long partialSince;
    private long watchdogSentAt;
    private int watchdogHopByHop;
    private int nextHopByHop = ThreadLocalRandom.current().nextInt();
    private boolean closeWhenFlushed;
    /** When the node began to stop while CCRs of this peer were still being decided; 0 otherwise. */
    private long drainingSince;
    private boolean flushPending;
    private String closeReason = "closed";

    PeerConnection(SocketChannel channel, SelectionKey key, MockContext ctx, EventLoop loop,
                   org.gyocs.node.TlsSettings tls) throws IOException {
        this.channel = channel;
        this.wire = tls == null ? Wire.plain(channel) : new TlsWire(channel, tls);
        this.key = key;
        this.ctx = ctx;
        this.loop = loop;
        InetSocketAddress r = (InetSocketAddress) channel.getRemoteAddress();
        this.remote = "('" + r.getAddress().getHostAddress() + "', " + r.getPort() + ")";
        this.remoteAddress = r.getAddress();
        this.localAddress = ((InetSocketAddress) channel.getLocalAddress()).getAddress();
        this.connectedAt = System.nanoTime();
        this.lastReceived = connectedAt;
    }

    String remote() {
        return remote;
    }

    State state() {
        return state;
    }

    // ---------------------------------------------------------------- reading

    void onReadable() {
        do {
            if (!readOnce()) {
                return;
            }
        } while (wire.holdsInput() && state != State.CLOSED); // TLS may have decrypted more than fitted
        if (wire.holdsOutput()) {
            key.interestOps(key.interestOps() | SelectionKey.OP_WRITE); // TLS handshake records to send
        }
    }

    /** @return false when nothing more can be read now */
    private boolean readOnce() {
        int n;
        try {
            n = wire.read(in);
        } catch (IOException e) {
            if (wire instanceof TlsWire) {
                ctx.statistics().error();
                log.warn("TLS with {} failed: {}", remote, e.getMessage());
            }
            close("read failed: " + e.getMessage());
            return false;
        }
        if (n < 0) {
            close(in.position() > 0 ? "peer closed in the middle of a message" : "peer closed the connection");
            return false;
        }
        if (n == 0) {
            return false;
        }
        long now = System.nanoTime();
        lastReceived = now;
        watchdogSentAt = 0; // any traffic from the peer proves it alive (RFC 3539 section 3.4.1)
        if (TrafficLog.enabled()) {
            TrafficLog.info("Received {} bytes from {}", n, remote);
        }
        try {
            drainFrames();
        } catch (DiameterDecodeException e) {
            ctx.statistics().error();
            log.warn("Closing {} ({}): {}", remote, peerHost, e.getMessage());
            close("bad framing: " + e.getMessage());
            return false;
        }
        // the stall clock measures silence: a slow but steady sender is not stalled
        partialSince = in.position() > 0 ? now : 0;
        return true;
    }

    /** Handles every whole message in the buffer; several may have come in one read, or one over many. */
    private void drainFrames() throws DiameterDecodeException {
        while (state != State.CLOSED && in.position() > 0) {
            if ((in.get(0) & 0xFF) != DiameterCodec.VERSION) {
                throw DiameterDecodeException.framing("not a Diameter message (first byte 0x"
                        + Integer.toHexString(in.get(0) & 0xFF) + ")");
            }
            if (in.position() < 4) {
                return;
            }
            // the length is checked before anything is allocated for the message
            int length = DiameterCodec.messageLength(in, 0, ctx.limits().maxMessageBytes());
            if (in.position() < length) {
                if (in.capacity() < length) {
                    ByteBuffer bigger = ByteBuffer.allocate(length);
                    in.flip();
                    bigger.put(in);
                    in = bigger;
                }
                return;
            }
            byte[] frame = new byte[length];
            in.flip();
            in.get(frame);
            in.compact();
            if (in.position() == 0 && in.capacity() > INITIAL_BUFFER) {
                in = ByteBuffer.allocate(INITIAL_BUFFER);
            }
            handleFrame(frame);
        }
    }

    private void handleFrame(byte[] frame) {
        DiameterMessage m;
        try {
            m = DiameterCodec.decode(frame);
        } catch (DiameterDecodeException e) {
            DiameterMessage partial = e.partial();
            if (partial != null && partial.isRequest() && e.resultCode() != 0
                    && partial.commandCode() == CommandCodes.CREDIT_CONTROL) {
                // answered as a CCA, logged and counted by the pipeline
                send(ctx.pipeline().refuse(new MockCcr(partial, peerHost), e.resultCode(), e.getMessage(),
                        MockCcr.failedAvp(e.failedAvp())));
                return;
            }
            ctx.statistics().error();
            if (partial != null && partial.isRequest() && e.resultCode() != 0) {
                log.warn("Malformed {} from {} ({}): {}", partial.commandCode(), remote, peerHost, e.getMessage());
                send(ctx.base().error(partial, e.resultCode(), e.getMessage(), e.failedAvp()));
                return;
            }
            log.warn("Closing {} ({}): {}", remote, peerHost, e.getMessage());
            close("undecodable message: " + e.getMessage());
            return;
        }
        if (m.isRequest()) {
            handleRequest(m);
        } else {
            handleAnswer(m);
        }
    }

    private void handleAnswer(DiameterMessage m) {
        if (m.commandCode() == CommandCodes.DEVICE_WATCHDOG && m.hopByHop() == watchdogHopByHop) {
            return; // lastReceived already moved
        }
        if (m.commandCode() == CommandCodes.DISCONNECT_PEER && state == State.CLOSING) {
            close("disconnected (DPA received)");
            return;
        }
        ctx.statistics().error();
        log.warn("Dropped an unexpected answer (command {}) from {} ({})", m.commandCode(), remote, peerHost);
    }

    private void handleRequest(DiameterMessage m) {
        if (state == State.WAIT_CER) {
            if (m.commandCode() == CommandCodes.CAPABILITIES_EXCHANGE) {
                handleCer(m);
            } else {
                // RFC 6733 5.6: nothing but a CER is processed before the capabilities exchange.
                ctx.statistics().error();
                log.warn("Request {} before CER from {}: refused with 3010, closing", m.commandCode(), remote);
                send(ctx.base().error(m, ResultCode.UNKNOWN_PEER, "CER expected first", null));
                closeWhenFlushed = true;
                flushOrClose("request before CER");
            }
            return;
        }
        switch (m.commandCode()) {
            case CommandCodes.CAPABILITIES_EXCHANGE -> handleCer(m);
            case CommandCodes.DEVICE_WATCHDOG -> send(ctx.base().dwa(m));
            case CommandCodes.DISCONNECT_PEER -> {
                send(ctx.base().dpa(m));
                closeWhenFlushed = true;
                flushOrClose("disconnected by peer (DPR)");
            }
            case CommandCodes.CREDIT_CONTROL -> handleCcr(m);
            default -> {
                ctx.statistics().error();
                boolean knownApp = m.applicationId() == 0 || m.applicationId() == CreditControlCore.CREDIT_CONTROL_APPLICATION_ID;
                long rc = knownApp ? ResultCode.COMMAND_UNSUPPORTED : ResultCode.APPLICATION_UNSUPPORTED;
                log.warn("Unsupported command {} (application {}) from {}: {}", m.commandCode(), m.applicationId(),
                        remote, rc);
                send(ctx.base().error(m, rc, null, null));
            }
        }
    }

    private void handleCer(DiameterMessage cer) {
        Avp origin = cer.avp(AvpCodes.ORIGIN_HOST);
        String host = origin == null ? null : origin.utf8();
        if (state == State.OPEN && !java.util.Objects.equals(host, peerHost)) {
            // the identity its sessions are bound to is the one of its first CER
            refusePeer(cer, "a second CER with another Origin-Host (" + host + ")");
            return;
        }
        peerHost = host == null ? "-" : host;
        if (!ctx.allowedPeers().permits(host, remoteAddress)) {
            refusePeer(cer, "not in allowed-peers");
            return;
        }
        if (wire instanceof TlsWire && !org.gyocs.node.TlsSettings.certifies(wire.peerCertificate(), host)) {
            // RFC 6733 section 13: the certificate must be the peer's own
            refusePeer(cer, "its certificate names " + (wire.peerCertificate() == null ? "nobody"
                    : org.gyocs.node.TlsSettings.names(wire.peerCertificate())) + ", not its Origin-Host");
            return;
        }
        if (!offersCreditControl(cer)) {
            ctx.statistics().error();
            log.warn("CER from {} ({}) offers no credit-control application: 5010, closing", remote, peerHost);
            send(ctx.base().cea(cer, DIAMETER_NO_COMMON_APPLICATION, localAddress));
            closeWhenFlushed = true;
            flushOrClose("no common application");
            return;
        }
        send(ctx.base().cea(cer, ResultCode.SUCCESS, localAddress));
        if (state == State.WAIT_CER) {
            state = State.OPEN;
            Avp realm = cer.avp(AvpCodes.ORIGIN_REALM);
            connected = ctx.peers().connected(peerHost, realm == null ? null : realm.utf8(), remote);
        }
    }

    /** RFC 6733 5.3: CEA DIAMETER_UNKNOWN_PEER, then the connection closes; logged and counted. */
    private void refusePeer(DiameterMessage cer, String why) {
        ctx.statistics().peerRefused();
        log.warn("CER from {} ({}) refused, {}: 3010, closing", remote, peerHost, why);
        send(ctx.base().cea(cer, ResultCode.UNKNOWN_PEER, localAddress));
        closeWhenFlushed = true;
        flushOrClose("unknown peer");
    }

    private static boolean offersCreditControl(DiameterMessage cer) {
        try {
            for (Avp a : cer.all(AvpCodes.AUTH_APPLICATION_ID)) {
                long id = a.unsigned32();
                if (id == CreditControlCore.CREDIT_CONTROL_APPLICATION_ID || id == RELAY_APPLICATION) {
                    return true;
                }
            }
            for (Avp vsa : cer.all(AvpCodes.VENDOR_SPECIFIC_APPLICATION_ID)) {
                Avp auth = DiameterMessage.find(vsa.group(), AvpCodes.AUTH_APPLICATION_ID);
                if (auth != null && auth.unsigned32() == CreditControlCore.CREDIT_CONTROL_APPLICATION_ID) {
                    return true;
                }
            }
        } catch (DiameterDecodeException e) {
            return false;
        }
        return false;
    }

    private void handleCcr(DiameterMessage m) {
        if (TrafficLog.enabled()) {
            TrafficLog.info("Detected CCR message from {}", remote);
        }
        if (m.applicationId() != CreditControlCore.CREDIT_CONTROL_APPLICATION_ID) {
            ctx.statistics().error();
            log.warn("CCR for application {} from {}: 3007", m.applicationId(), remote);
            send(ctx.base().error(m, ResultCode.APPLICATION_UNSUPPORTED, null, null));
            return;
        }
        MockCcr received = new MockCcr(m, peerHost);
        Avp unsupported;
        try {
            unsupported = AvpCodes.firstUnsupportedMandatory(m.avps());
        } catch (DiameterDecodeException e) {
            send(ctx.pipeline().refuse(received, e.resultCode() == 0 ? ResultCode.INVALID_AVP_VALUE : e.resultCode(),
                    e.getMessage(), MockCcr.failedAvp(e.failedAvp())));
            return;
        }
        if (unsupported != null) {
            // jDiameter's dictionary refuses these before the application; here, our dictionary
            send(ctx.pipeline().refuse(received, ResultCode.AVP_UNSUPPORTED, "Unsupported AVP " + unsupported.code()
                    + (unsupported.isVendorSpecific() ? " of vendor " + unsupported.vendorId() : ""),
                    MockCcr.failedAvp(unsupported)));
            return;
        }
        GyPipeline.Read<DiameterMessage> read = ctx.pipeline().read(received);
        if (read.refusal() != null) {
            send(read.refusal());
            return;
        }
        CreditControlRequest ccr = read.request();
        if (ctx.pipeline().answersAtOnce(ccr)) {
            // no balance to change (an unprovisioned subscriber): a hand-off would cost more than
            // the decision, which waits for nothing
            send(ctx.pipeline().decide(received, ccr));
            if (TrafficLog.enabled()) {
                TrafficLog.info("Sent CCA response to {}", remote);
            }
            return;
        }
        if (pendingDecisions >= MAX_PENDING_DECISIONS) {
            // RFC 6733 7.1.3: DIAMETER_TOO_BUSY, the peer may try another OCS or retry later
            send(ctx.pipeline().refuse(received, ResultCode.TOO_BUSY, "Too many requests in flight", null));
            return;
        }
        pendingDecisions++;
        // The decision may block on the balance store: it runs on the charging workers, never on
        // this event loop, whose other peers would wait. One worker per session keeps its order.
        ctx.charge(ccr.sessionId(), () -> {
            DiameterMessage answer = ctx.pipeline().decide(received, ccr);
            loop.execute(() -> {
                pendingDecisions--;
                send(answer);
                if (TrafficLog.enabled()) {
                    TrafficLog.info("Sent CCA response to {}", remote);
                }
                if (drainingSince != 0 && pendingDecisions == 0) {
                    dprWhenDrained(); // the last answer is out
                }
            });
        });
    }

    // ---------------------------------------------------------------- writing

    /**
     * Queues a message; the event loop writes everything queued in one gathering write at the end
     * of its turn, so the answers to a batch of pipelined requests leave in one system call.
     */
    void send(DiameterMessage m) {
        if (state == State.CLOSED) {
            return;
        }
        ByteBuffer buf = ByteBuffer.wrap(DiameterCodec.encode(m));
        out.add(buf);
        pendingWrite += buf.remaining();
        if (pendingWrite > MAX_PENDING_WRITE) {
            ctx.statistics().error();
            log.warn("Closing {} ({}): it does not read its answers", remote, peerHost);
            close("not reading");
            return;
        }
        if (!flushPending) {
            flushPending = true;
            loop.flushLater(this);
        }
    }

    void onWritable() {
        flush();
    }

    /** Writes what is queued; waits for OP_WRITE when the socket is full. */
    void flush() {
        flushPending = false;
        if (state == State.CLOSED) {
            return;
        }
        try {
            while (!out.isEmpty()) {
                long written = wire.write(out.toArray(new ByteBuffer[0]));
                pendingWrite -= written;
                while (!out.isEmpty() && !out.peek().hasRemaining()) {
                    out.poll();
                }
                if (!out.isEmpty() && written == 0) {
                    key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                    return;
                }
            }
        } catch (IOException e) {
            close("write failed: " + e.getMessage());
            return;
        }
        if (wire.holdsOutput()) {
            try {
                wire.write(new ByteBuffer[0]); // TLS records the socket did not take yet
            } catch (IOException e) {
                close("write failed: " + e.getMessage());
                return;
            }
            if (wire.holdsOutput()) {
                key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                return;
            }
        }
        if (key.isValid()) {
            key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
        }
        if (closeWhenFlushed) {
            close(closeReason);
        }
    }

    private void flushOrClose(String reason) {
        closeReason = reason;
        if (out.isEmpty()) {
            close(reason);
        }
    }

    // ---------------------------------------------------------------- timers and shutdown

    /** Called by the event loop about every 100 ms: stalls, watchdog. */
    void tick(long now) {
        if (state == State.CLOSED) {
            return;
        }
        long stall = ctx.limits().stallMillis() * 1_000_000L;
        if (state == State.WAIT_CER && now - connectedAt > stall) {
            ctx.statistics().error();
            log.warn("Closing {}: no CER within {} ms", remote, ctx.limits().stallMillis());
            close("no CER");
            return;
        }
        if (partialSince != 0 && now - partialSince > stall) {
            ctx.statistics().error();
            log.warn("Closing {} ({}): half a message for {} ms", remote, peerHost, ctx.limits().stallMillis());
            close("incomplete message");
            return;
        }
        if (state != State.OPEN) {
            return;
        }
        if (drainingSince != 0 && now - drainingSince > DRAIN_MILLIS * 1_000_000L) {
            log.warn("Stopping: {} answers to {} ({}) still undecided after {} ms; sending DPR", pendingDecisions,
                    remote, peerHost, DRAIN_MILLIS);
            sendDpr();
            return;
        }
        long tw = ctx.limits().watchdogMillis() * 1_000_000L;
        if (watchdogSentAt != 0 && now - watchdogSentAt > tw) {
            ctx.statistics().error();
            log.warn("Closing {} ({}): no answer to DWR within {} ms", remote, peerHost, ctx.limits().watchdogMillis());
            close("watchdog timeout");
        } else if (watchdogSentAt == 0 && now - lastReceived > tw) {
            watchdogHopByHop = nextHopByHop++;
            watchdogSentAt = now;
            send(ctx.base().dwr(watchdogHopByHop, watchdogHopByHop));
        }
    }

    /**
     * Shutdown: DPR to an open peer (it answers DPA and we close), anything else just closes. A
     * peer with CCRs still being decided gets their answers first: its debits are committed, and
     * a DPR before their answers (an audit saw 988 of 5,000 answered) makes the PCEF retransmit
     * them elsewhere. Requests it sends meanwhile are answered too, for at most DRAIN_MILLIS.
     */
    void disconnect() {
        if (state == State.OPEN) {
            drainingSince = System.nanoTime();
            dprWhenDrained();
        } else if (state != State.CLOSING) {
            close("node stopping");
        }
    }

    /**
     * The DPR, once nothing is being decided and nothing the peer already sent waits unread in
     * the socket: a DPR while its requests sat there unread left them unanswered (a test saw 126
     * of 5,000 answered when the answers outran the reads). Requests read here that go to the
     * charging workers make this wait for their answers again; DRAIN_MILLIS bounds it all.
     */
    private void dprWhenDrained() {
        while (pendingDecisions == 0 && state == State.OPEN
                && System.nanoTime() - drainingSince < DRAIN_MILLIS * 1_000_000L && readOnce()) {
            // read on: requests answered at once are sent as they are read
        }
        if (pendingDecisions == 0) {
            sendDpr();
        }
    }

    private void sendDpr() {
        if (state != State.OPEN) {
            return;
        }
        drainingSince = 0;
        state = State.CLOSING;
        int id = nextHopByHop++;
        send(ctx.base().dpr(id, id));
    }

    void close(String reason) {
        if (state == State.CLOSED) {
            return;
        }
        boolean wasOpen = state == State.OPEN || state == State.CLOSING;
        state = State.CLOSED;
        key.cancel();
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
        ctx.connectionClosed();
        if (wasOpen) {
            ctx.peers().disconnected(connected, reason);
        }
        if (TrafficLog.enabled()) {
            TrafficLog.info("Connection closed: {} ({})", remote, reason);
        }
    }

}
