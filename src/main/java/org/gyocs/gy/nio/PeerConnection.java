package org.gyocs.gy.nio;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
import org.gyocs.core.ResultCode;
import org.gyocs.gy.SessionRequestLayout;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.SessionRequest;
import org.gyocs.node.TrafficLog;

/**
 * One peer connection of the mock node: the peer state machine of RFC 6733 section 5 (CER/CEA,
 * DWR/DWA with its watchdog, DPR/DPA and the drain before a stop), on top of its framing
 * ({@link FrameReader}) and its outbound queue ({@link OutboundQueue}); credit-control requests go
 * to its {@link CcrDispatch}. Used only by its event loop's thread, so it needs no locks.
 */
final class PeerConnection implements CcrDispatch.Connection {
    private static final Logger log = LogManager.getLogger(PeerConnection.class);

    enum State { WAIT_CER, OPEN, CLOSING, CLOSED }

    private final SocketChannel channel;
    /** The socket's bytes, plain or through TLS. */
    private final Wire wire;
    private final SelectionKey key;
    private final MockContext ctx;
    private final EventLoop loop;
    private final String remote;
    private final InetAddress remoteAddress;
    private final InetAddress localAddress;
    private final FrameReader frames;
    private final OutboundQueue out = new OutboundQueue();
    private final CcrDispatch ccrs;
    private State state = State.WAIT_CER;
    private String peerHost = "-";
    /** The Origin-Realm of its CER: the Destination-Realm of what the node sends it. */
    private String peerRealm = "";
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
        this.frames = new FrameReader(ctx.limits().maxMessageBytes());
        this.ccrs = new CcrDispatch(ctx, loop, this);
    }

    @Override
    public String remote() {
        return remote;
    }

    @Override
    public String peerHost() {
        return peerHost;
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
            n = frames.readFrom(wire);
        } catch (IOException e) {
            if (wire instanceof TlsWire) {
                ctx.statistics().error();
                log.warn("TLS with {} failed: {}", remote, e.getMessage());
            }
            close("read failed: " + e.getMessage());
            return false;
        }
        if (n < 0) {
            close(frames.holdsPartial() ? "peer closed in the middle of a message" : "peer closed the connection");
            return false;
        }
        if (n == 0) {
            return false;
        }
        long now = System.nanoTime();
        lastReceived = now;
        if (watchdogSentAt != 0) {
            watchdogSentAt = 0; // any traffic from the peer proves it alive (RFC 3539 section 3.4.1)
            ctx.peers().state(connected, ConnectedPeers.OPEN);
        }
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
        partialSince = frames.holdsPartial() ? now : 0;
        return true;
    }

    /** Handles every whole message read so far; several may have come in one read, or one over many. */
    private void drainFrames() throws DiameterDecodeException {
        byte[] frame;
        while (state != State.CLOSED && (frame = frames.next()) != null) {
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
                sendAnswer(ctx.pipeline().refuse(new MockCcr(partial, peerHost), e.resultCode(), e.getMessage(),
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
        PendingRequest pending = sentRequests.get(m.hopByHop());
        if (pending != null && pending.request().kind().commandCode() == m.commandCode()) {
            sentRequests.remove(m.hopByHop());
            Avp rc = m.avp(AvpCodes.RESULT_CODE);
            try {
                pending.answer().complete(rc == null ? 0L : rc.unsigned32());
            } catch (DiameterDecodeException e) {
                pending.answer().completeExceptionally(e);
            }
            return;
        }
        if (m.commandCode() == CommandCodes.DISCONNECT_PEER && state == State.CLOSING) {
            // what is still queued (3004s to requests that crossed the DPR) goes out first
            flushOrClose("disconnected (DPA received)");
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
                flushOrClose("request before CER");
            }
            return;
        }
        switch (m.commandCode()) {
            case CommandCodes.CAPABILITIES_EXCHANGE -> handleCer(m);
            case CommandCodes.DEVICE_WATCHDOG -> send(ctx.base().dwa(m));
            case CommandCodes.DISCONNECT_PEER -> {
                ctx.peers().state(connected, ConnectedPeers.CLOSING);
                send(ctx.base().dpa(m));
                flushOrClose("disconnected by peer (DPR)");
            }
            case CommandCodes.CREDIT_CONTROL -> {
                if (state == State.CLOSING) {
                    ccrs.refuseAfterDpr(m);
                } else {
                    ccrs.dispatch(m);
                }
            }
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
        CapabilitiesCheck.Verdict verdict = CapabilitiesCheck.judge(cer, host, state == State.OPEN ? peerHost : null,
                ctx.allowedPeers(), remoteAddress, wire);
        if (state != State.OPEN) {
            peerHost = host == null ? "-" : host;
        }
        if (verdict.resultCode() == ResultCode.UNKNOWN_PEER) {
            ctx.statistics().peerRefused(); // RFC 6733 5.3: CEA 3010, then the connection closes
            refuseCer(cer, verdict, "unknown peer");
            return;
        }
        if (verdict.resultCode() != ResultCode.SUCCESS) {
            ctx.statistics().error();
            refuseCer(cer, verdict, "no common application");
            return;
        }
        send(ctx.base().cea(cer, ResultCode.SUCCESS, localAddress));
        if (state == State.WAIT_CER) {
            state = State.OPEN;
            Avp realm = cer.avp(AvpCodes.ORIGIN_REALM);
            peerRealm = realm == null ? "" : realm.utf8();
            connected = ctx.peers().connected(peerHost, realm == null ? null : realm.utf8(), remote);
            ctx.opened(this);
        }
    }

    /** The refusing CEA, then the connection closes; logged (the caller counts). */
    private void refuseCer(DiameterMessage cer, CapabilitiesCheck.Verdict verdict, String reason) {
        log.warn("CER from {} ({}) refused, {}: {}, closing", remote, peerHost, verdict.why(), verdict.resultCode());
        send(ctx.base().cea(cer, verdict.resultCode(), localAddress));
        flushOrClose(reason);
    }

    /** A RAR or ASR this connection sent, waiting for its answer until {@code deadline} (nanoTime). */
    private record PendingRequest(SessionRequest request, CompletableFuture<Long> answer, long deadline) {
    }

    /** By hop-by-hop identifier (RFC 6733 section 3: an answer carries its request's). */
    private final java.util.Map<Integer, PendingRequest> sentRequests = new java.util.HashMap<>();

    /** Sends a RAR or ASR on this connection, from any thread (the event loop sends it). */
    void sendRequestLater(SessionRequest r, String originHost, String originRealm, CompletableFuture<Long> answer) {
        loop.execute(() -> sendRequest(r, originHost, originRealm, answer));
    }

    /** Sends a RAR or ASR on this connection; on the event loop. */
    private void sendRequest(SessionRequest r, String originHost, String originRealm, CompletableFuture<Long> answer) {
        if (state != State.OPEN) {
            answer.completeExceptionally(new SessionRequest.PeerNotConnected(r.peerHost()));
            return;
        }
        int id = nextHopByHop++;
        List<Avp> avps = new ArrayList<>(8);
        SessionRequestLayout.write(MockCcr.avpsInto(avps), r, originHost, originRealm, peerRealm);
        sentRequests.put(id, new PendingRequest(r, answer,
                System.nanoTime() + SessionRequest.ANSWER_TIMEOUT_MILLIS * 1_000_000L));
        send(new DiameterMessage(DiameterMessage.FLAG_REQUEST | DiameterMessage.FLAG_PROXIABLE, r.kind().commandCode(),
                CreditControlCore.CREDIT_CONTROL_APPLICATION_ID, id, id, avps));
    }

    /** An answer a charging worker decided is out: the last one may let a stop send its DPR. */
    @Override
    public void decided() {
        if (drainingSince != 0 && ccrs.pending() == 0) {
            dprWhenDrained();
        }
    }

    // ---------------------------------------------------------------- writing

    /**
     * Queues a message; the event loop writes everything queued in one gathering write at the end
     * of its turn, so the answers to a batch of pipelined requests leave in one system call.
     */
    @Override
    public void send(DiameterMessage m) {
        send(m, false);
    }

    /**
     * Queues a CCA the statistics already count as sent; if it never goes out (the connection
     * closed first), that count is taken back, as jDiameter mode does for an answer it cannot send.
     */
    @Override
    public void sendAnswer(DiameterMessage answer) {
        send(answer, true);
    }

    private void send(DiameterMessage m, boolean counted) {
        if (state == State.CLOSED) {
            if (counted) {
                // decided after the close (a peer that left with requests in flight): one line per connection
                if (answersAfterClose++ == 0) {
                    log.warn("Answers decided after {} ({}) closed are not sent (counted in cca_sent no more)",
                            remote, peerHost);
                }
                withdraw(new long[] {CcrDispatch.resultCodeOf(m)}, null);
            }
            return;
        }
        if (!out.add(DiameterCodec.encode(m), counted)) {
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
        boolean allOut;
        try {
            allOut = out.writeTo(wire);
        } catch (IOException e) {
            close("write failed: " + e.getMessage());
            return;
        }
        if (!allOut) {
            key.interestOps(key.interestOps() | SelectionKey.OP_WRITE); // the socket is full
            return;
        }
        if (key.isValid()) {
            key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
        }
        if (closeWhenFlushed) {
            close(closeReason);
        }
    }

    /** Closes once what is queued has gone out (at once when nothing is). */
    private void flushOrClose(String reason) {
        closeWhenFlushed = true;
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
        if (!sentRequests.isEmpty()) {
            sentRequests.values().removeIf(p -> {
                if (now - p.deadline() > 0) {
                    p.answer().completeExceptionally(new SessionRequest.NoAnswer(p.request()));
                    return true;
                }
                return false;
            });
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
        if (drainingSince != 0 && now - drainingSince > ctx.limits().drainMillis() * 1_000_000L) {
            log.warn("Stopping: {} answers to {} ({}) still undecided after {} ms; sending DPR", ccrs.pending(),
                    remote, peerHost, ctx.limits().drainMillis());
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
            ctx.peers().state(connected, ConnectedPeers.SUSPECT); // until it answers, or sends anything
            send(ctx.base().dwr(watchdogHopByHop, watchdogHopByHop));
        }
    }

    /**
     * Shutdown: DPR to an open peer (it answers DPA and we close), anything else just closes. A
     * peer with CCRs still being decided gets their answers first: its debits are committed, and
     * a DPR before their answers (an audit saw 988 of 5,000 answered) makes the PCEF retransmit
     * them elsewhere. Requests it sends meanwhile are answered too, for at most the limits' drain.
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
     * charging workers make this wait for their answers again; the limits' drain bounds it all.
     */
    private void dprWhenDrained() {
        while (ccrs.pending() == 0 && state == State.OPEN
                && System.nanoTime() - drainingSince < ctx.limits().drainMillis() * 1_000_000L && readOnce()) {
            // read on: requests answered at once are sent as they are read
        }
        if (ccrs.pending() == 0) {
            sendDpr();
        }
    }

    private void sendDpr() {
        if (state != State.OPEN) {
            return;
        }
        drainingSince = 0;
        state = State.CLOSING;
        ctx.peers().state(connected, ConnectedPeers.CLOSING);
        int id = nextHopByHop++;
        send(ctx.base().dpr(id, id));
    }

    @Override
    public boolean closed() {
        return state == State.CLOSED;
    }

    /** Answers decided after this connection closed, none of them sent. */
    private int answersAfterClose;

    /** Takes back the counts of answers that never went out, and says so unless why is null. */
    private void withdraw(long[] resultCodes, String why) {
        for (long code : resultCodes) {
            ctx.pipeline().withdraw(code);
        }
        if (why != null && resultCodes.length > 0) {
            log.warn("{} answer(s) to {} ({}) not sent: {}", resultCodes.length, remote, peerHost, why);
        }
    }

    @Override
    public void close(String reason) {
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
        withdraw(out.drop(), reason);
        ctx.connectionClosed();
        ctx.closed(this);
        for (PendingRequest p : sentRequests.values()) {
            p.answer().completeExceptionally(new SessionRequest.PeerNotConnected(p.request().peerHost()));
        }
        sentRequests.clear();
        if (wasOpen) {
            ctx.peers().disconnected(connected, reason);
        }
        if (TrafficLog.enabled()) {
            TrafficLog.info("Connection closed: {} ({})", remote, reason);
        }
    }

}
