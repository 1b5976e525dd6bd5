package org.gyocs.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.HdrHistogram.Histogram;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;

/**
 * A Gy load generator on our codec: one selector thread drives every connection, so the client
 * costs little CPU per request. Closed loop (K requests in flight) or open loop (R sessions or
 * events started per second, at most K outstanding). Each request's latency, send to answer, goes
 * into an HdrHistogram.
 */
public final class LoadGenerator {
    private final LoadSettings s;
    private final PrintStream progress;
    private final String boot = Long.toHexString(new SecureRandom().nextLong() & 0xffffffffL);
    private final Histogram latency = new Histogram(1, 60_000_000, 3); // microseconds
    private final Map<Long, Long> byResultCode = new TreeMap<>();
    private final List<Conn> conns = new ArrayList<>();
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();
    private long started;       // sessions or events started
    private long completed;     // sessions or events finished (answered to the end or refused)
    private long sent;
    private long answered;
    private long timeouts;
    private long errors;
    /** What went wrong, said once each (at most a few): a refused CER, a closed connection, a 3003... */
    private final java.util.Set<String> problems = new java.util.LinkedHashSet<>();

    private void problem(String what) {
        if (problems.size() < 8) {
            problems.add(what);
        }
    }
    private long firstSend;
    private long lastAnswer;
    private int nextSubscriber;

    public LoadGenerator(LoadSettings settings, PrintStream progress) {
        this.s = settings;
        this.progress = progress;
    }

    /** One TCP connection: its buffers and its requests waiting for an answer. */
    private final class Conn {
        final SocketChannel ch;
        final ByteBuffer in = ByteBuffer.allocate(1 << 20);
        final ArrayDeque<ByteBuffer> out = new ArrayDeque<>();
        final Map<Integer, Pending> pending = new HashMap<>();
        /** Its Origin-Host: each connection is a peer of its own (see {@link #originHost}). */
        final String host;
        final CharSequence hostRealm;
        SelectionKey key;
        boolean open;
        /** The node sent DPR (it is stopping): nothing more is sent on this connection. */
        boolean disconnectedByNode;
        int hbh = 1;
        /** The node's realm, from its CEA's Origin-Realm: the Destination-Realm unless one was given. */
        String realm;

        Conn(SocketChannel ch, String host) {
            this.ch = ch;
            this.host = host;
            this.hostRealm = realmOf(host);
        }
    }

    private record Pending(Worker worker, long sentNanos) {
    }

    /** A slot that runs one session (or event) after another on its connection. */
    private final class Worker {
        final Conn conn;
        String sessionId;
        String subscriber;
        int step;

        Worker(Conn conn) {
            this.conn = conn;
        }
    }

    /** Runs the load; bounded by the session count and by the duration. */
    public LoadResult run() throws IOException {
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < s.connections(); i++) {
                SocketChannel ch = SocketChannel.open();
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.connect(new InetSocketAddress(s.host(), s.port()));
                ch.configureBlocking(false);
                Conn c = new Conn(ch, originHost(s.originHost(), i));
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
                conns.add(c);
                send(c, cer(c, i));
            }
            for (int w = 0; w < s.inFlight(); w++) {
                idle.add(new Worker(conns.get(w % conns.size())));
            }
            long t0 = System.nanoTime();
            long deadline = t0 + (long) (s.durationSeconds() * 1e9);
            long hardStop = deadline + s.timeoutMillis() * 1_000_000L + 2_000_000_000L;
            long lastProgress = t0;
            long lastTimeoutScan = t0;
            double startedByRate = 0;
            long rateClock = 0;
            boolean everAllOpen = false;
            while (true) {
                long now = System.nanoTime();
                boolean allOpen = conns.stream().allMatch(c -> c.open);
                everAllOpen |= allOpen;
                boolean mayStart = allOpen && now < deadline && (s.sessions() == 0 || started < s.sessions());
                if (mayStart) {
                    if (rateClock == 0) {
                        rateClock = now;
                        firstSend = now;
                    }
                    if (s.rate() > 0) {
                        double due = (now - rateClock) / 1e9 * s.rate();
                        while (startedByRate < due && !idle.isEmpty() && (s.sessions() == 0 || started < s.sessions())) {
                            startNext(idle.poll());
                            startedByRate++;
                        }
                        startedByRate = Math.max(startedByRate, due - s.inFlight()); // no burst after a stall
                    } else {
                        while (!idle.isEmpty() && (s.sessions() == 0 || started < s.sessions())) {
                            startNext(idle.poll());
                        }
                    }
                }
                boolean nothingPending = conns.stream().allMatch(c -> c.pending.isEmpty());
                if (allOpen && !mayStart && nothingPending) {
                    break;
                }
                // a connection the node closed, or sent DPR on (it is stopping): nothing new starts, and
                // the run ends once the requests on the connections still up are answered or timed out
                // (a lost connection's were counted as it went: lost())
                if (everAllOpen && !allOpen && nothingPending) {
                    break;
                }
                // connections that never all opened end the run: at once when the node closed one (its
                // CER refused), at --timeout when a CEA does not come
                if (now > hardStop || (!everAllOpen && (now - t0 > s.timeoutMillis() * 1_000_000L
                        || conns.stream().anyMatch(c -> !c.key.isValid())))) {
                    break;
                }
                selector.select(s.rate() > 0 ? 1 : 10);
                for (SelectionKey k : selector.selectedKeys()) {
                    Conn c = (Conn) k.attachment();
                    if (k.isReadable()) {
                        read(c);
                    }
                    if (k.isValid() && k.isWritable()) {
                        flush(c);
                    }
                }
                selector.selectedKeys().clear();
                now = System.nanoTime();
                if (now - lastTimeoutScan > 100_000_000L) {
                    lastTimeoutScan = now;
                    expire(now);
                }
                if (progress != null && now - lastProgress >= 1_000_000_000L) {
                    lastProgress = now;
                    double secs = (now - t0) / 1e9;
                    long inFlightNow = conns.stream().mapToLong(c -> c.pending.size()).sum();
                    progress.printf("\r%6.1f s  %8.0f CCR/s  in flight %5d  answered %9d  errors %d   ", secs,
                            answered / Math.max(1e-9, (now - (firstSend == 0 ? now : firstSend)) / 1e9), inFlightNow,
                            answered, errors + timeouts);
                }
            }
            if (progress != null) {
                progress.println();
            }
            disconnect(selector);
        } finally {
            for (Conn c : conns) {
                try {
                    c.ch.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
        double secs = (lastAnswer > firstSend ? lastAnswer - firstSend : 1) / 1e9;
        return new LoadResult(sent, answered, timeouts, errors, started, completed, secs, answered / secs,
                Map.copyOf(byResultCode), latency.copy(), new java.util.ArrayList<>(problems));
    }

    private void startNext(Worker w) {
        started++;
        w.step = 0;
        w.sessionId = w.conn.host + ";" + boot + ";" + started;
        w.subscriber = s.subscribers().get(nextSubscriber++ % s.subscribers().size());
        request(w);
    }

    private void request(Worker w) {
        int type;
        if (s.eventMode()) {
            type = 4;
        } else if (w.step == 0) {
            type = 1;
        } else if (w.step <= s.updates()) {
            type = 2;
        } else {
            type = 3;
        }
        Conn c = w.conn;
        if (c.disconnectedByNode) {
            return; // its session ends here, unfinished: the node asked this peer to go
        }
        int id = c.hbh++;
        List<Avp> avps = new ArrayList<>(12);
        avps.add(Avp.utf8(AvpCodes.SESSION_ID, w.sessionId));
        avps.add(Avp.utf8(AvpCodes.ORIGIN_HOST, c.host));
        avps.add(Avp.utf8(AvpCodes.ORIGIN_REALM, c.hostRealm.toString()));
        avps.add(Avp.utf8(AvpCodes.DESTINATION_REALM, s.destinationRealm() != null ? s.destinationRealm()
                : c.realm != null ? c.realm : "example.com"));
        avps.add(Avp.unsigned32(AvpCodes.AUTH_APPLICATION_ID, 4));
        avps.add(Avp.utf8(AvpCodes.SERVICE_CONTEXT_ID, "32251@3gpp.org"));
        avps.add(Avp.unsigned32(AvpCodes.CC_REQUEST_TYPE, type));
        avps.add(Avp.unsigned32(AvpCodes.CC_REQUEST_NUMBER, w.step));
        avps.add(Avp.grouped(AvpCodes.SUBSCRIPTION_ID, Avp.unsigned32(AvpCodes.SUBSCRIPTION_ID_TYPE, 0),
                Avp.utf8(AvpCodes.SUBSCRIPTION_ID_DATA, w.subscriber)));
        List<Avp> mscc = new ArrayList<>(4);
        if (type != 3) {
            mscc.add(Avp.grouped(AvpCodes.REQUESTED_SERVICE_UNIT, Avp.unsigned64(AvpCodes.CC_TOTAL_OCTETS, 1_048_576)));
        }
        if (type == 2 || type == 3) {
            mscc.add(Avp.grouped(AvpCodes.USED_SERVICE_UNIT, Avp.unsigned64(AvpCodes.CC_TOTAL_OCTETS, 524_288)));
        }
        mscc.add(Avp.unsigned32(AvpCodes.SERVICE_IDENTIFIER, 1));
        mscc.add(Avp.unsigned32(AvpCodes.RATING_GROUP, 100));
        avps.add(Avp.grouped(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL, mscc));
        long now = System.nanoTime();
        c.pending.put(id, new Pending(w, now));
        sent++;
        send(c, new DiameterMessage(0xC0, CommandCodes.CREDIT_CONTROL, 4, id, id, avps));
    }

    private void answered(Conn c, DiameterMessage a) {
        Pending p = c.pending.remove(a.hopByHop());
        if (p == null) {
            return; // late answer of a request already counted as timed out
        }
        long now = System.nanoTime();
        lastAnswer = now;
        answered++;
        latency.recordValue(Math.max(1, Math.min(60_000_000, (now - p.sentNanos()) / 1000)));
        long rc = 0;
        Avp r = a.avp(AvpCodes.RESULT_CODE);
        try {
            rc = r == null ? 0 : r.unsigned32();
        } catch (DiameterDecodeException e) {
            rc = 0;
        }
        byResultCode.merge(rc, 1L, Long::sum);
        Worker w = p.worker();
        boolean ok = rc >= 2000 && rc < 3000;
        if (!ok) {
            errors++;
            if (rc == 3003) {
                problem("3003 DIAMETER_REALM_NOT_SERVED: the node serves realm " + c.realm + ", not "
                        + s.destinationRealm() + " (--destination-realm)");
            }
        }
        boolean last = s.hold() ? w.step >= s.updates() : w.step > s.updates();
        if (s.eventMode() || last || (!ok && w.step == 0)) {
            completed++;
            idle.add(w);
            return;
        }
        w.step++;
        request(w);
    }

    private void expire(long now) {
        long limit = s.timeoutMillis() * 1_000_000L;
        for (Conn c : conns) {
            var it = c.pending.entrySet().iterator();
            while (it.hasNext()) {
                Pending p = it.next().getValue();
                if (now - p.sentNanos() > limit) {
                    it.remove();
                    timeouts++;
                    completed++;
                    idle.add(p.worker()); // the session is abandoned
                }
            }
        }
    }

    private void read(Conn c) {
        try {
            if (c.ch.read(c.in) < 0) {
                lost(c, "the node closed the connection" + (c.disconnectedByNode ? " after its DPR" : ""));
                return;
            }
        } catch (IOException e) {
            failed(c, e);
            return;
        }
        c.in.flip();
        while (c.in.remaining() >= 4) {
            int length = c.in.getInt(c.in.position()) & 0xFFFFFF;
            if (c.in.remaining() < length) {
                break;
            }
            byte[] frame = new byte[length];
            c.in.get(frame);
            try {
                handle(c, DiameterCodec.decode(frame));
            } catch (DiameterDecodeException e) {
                errors++;
            }
        }
        c.in.compact();
    }

    private void handle(Conn c, DiameterMessage m) {
        if (m.isRequest()) {
            if (m.commandCode() == CommandCodes.DEVICE_WATCHDOG || m.commandCode() == CommandCodes.DISCONNECT_PEER) {
                send(c, m.answer(false, List.of(Avp.unsigned32(AvpCodes.RESULT_CODE, 2001),
                        Avp.utf8(AvpCodes.ORIGIN_HOST, c.host), Avp.utf8(AvpCodes.ORIGIN_REALM, c.hostRealm.toString()))));
            }
            if (m.commandCode() == CommandCodes.DISCONNECT_PEER && !c.disconnectedByNode) {
                // the node is stopping: a request sent now would only be refused (3004) or lost
                c.open = false;
                c.disconnectedByNode = true;
                errors++;
                problem("the node sent DPR (it is stopping): the run ends");
            }
            return;
        }
        if (m.commandCode() == CommandCodes.CAPABILITIES_EXCHANGE) {
            long rc = resultCodeOf(m);
            if (rc != 2001) {
                errors++;
                problem("the node refused our CER (Origin-Host " + c.host + ") with Result-Code " + rc
                        + (rc == 3010 ? " DIAMETER_UNKNOWN_PEER: it is not among the node's allowed-peers" : ""));
                return;
            }
            Avp realm = m.avp(AvpCodes.ORIGIN_REALM);
            c.realm = realm == null ? null : realm.utf8();
            c.open = true;
            return;
        }
        if (m.commandCode() == CommandCodes.CREDIT_CONTROL) {
            answered(c, m);
        } else if (m.commandCode() == CommandCodes.DISCONNECT_PEER) {
            c.open = false; // the DPA: the node has let the peer go, and the connection may close
        }
    }

    private static long resultCodeOf(DiameterMessage m) {
        Avp r = m.avp(AvpCodes.RESULT_CODE);
        try {
            return r == null ? 0 : r.unsigned32();
        } catch (DiameterDecodeException e) {
            return 0;
        }
    }

    /**
     * The connection is gone (closed, or reset: a node killed under load): one error, nothing more
     * starts or is sent on it, and the run ends once the other connections have their answers.
     * A reset once counted an error per request written after it, and the run went on to its end.
     */
    private void lost(Conn c, String what) {
        if (!c.key.isValid()) {
            return; // said already
        }
        c.open = false;
        if (!c.disconnectedByNode || !c.pending.isEmpty()) { // after its DPR, only what it left unanswered
            errors++;
            problem(what + (c.pending.isEmpty() ? "" : " with " + c.pending.size() + " requests unanswered"));
        }
        c.pending.clear(); // counted here, not again as timeouts
        c.key.cancel();
    }

    private void failed(Conn c, IOException e) {
        lost(c, "the connection to the node failed (" + e.getMessage() + ")");
    }

    private void send(Conn c, DiameterMessage m) {
        if (!c.key.isValid()) {
            return; // lost: its requests are among those it left unanswered
        }
        ByteBuffer b = ByteBuffer.wrap(DiameterCodec.encode(m));
        if (c.out.isEmpty()) {
            try {
                c.ch.write(b);
            } catch (IOException e) {
                failed(c, e);
                return;
            }
            if (!b.hasRemaining()) {
                return;
            }
        }
        c.out.add(b);
        c.key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    }

    private void flush(Conn c) {
        try {
            while (!c.out.isEmpty()) {
                ByteBuffer b = c.out.peek();
                c.ch.write(b);
                if (b.hasRemaining()) {
                    return;
                }
                c.out.poll();
            }
            c.key.interestOps(SelectionKey.OP_READ);
        } catch (IOException e) {
            failed(c, e);
        }
    }

    /** DPR on each connection, up to a second for the DPAs. */
    private void disconnect(Selector selector) throws IOException {
        for (Conn c : conns) {
            if (c.open) {
                send(c, new DiameterMessage(0x80, CommandCodes.DISCONNECT_PEER, 0, c.hbh, c.hbh, List.of(
                        Avp.utf8(AvpCodes.ORIGIN_HOST, c.host), Avp.utf8(AvpCodes.ORIGIN_REALM, c.hostRealm.toString()),
                        Avp.unsigned32(AvpCodes.DISCONNECT_CAUSE, 2))));
            }
        }
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end && conns.stream().anyMatch(c -> c.key.isValid())) {
            selector.select(20);
            for (SelectionKey k : selector.selectedKeys()) {
                Conn c = (Conn) k.attachment();
                if (k.isValid() && k.isWritable()) {
                    flush(c);
                }
                if (k.isValid() && k.isReadable()) {
                    int before = c.in.position();
                    read(c);
                    if (c.in.position() == before && !c.key.isValid()) {
                        continue;
                    }
                }
            }
            selector.selectedKeys().clear();
            for (Conn c : conns) {
                // after its DPA (or the second), not as soon as the DPR is written
                if (c.key.isValid() && !c.open && c.out.isEmpty() && c.pending.isEmpty()) {
                    c.key.cancel();
                }
            }
        }
    }

    private static CharSequence realmOf(String host) {
        int dot = host.indexOf('.');
        return dot < 0 ? host : host.substring(dot + 1);
    }

    /**
     * The Origin-Host of connection {@code i}: the one given for the first, then
     * {@code bench-2.test.local}, {@code bench-3.test.local}... A Diameter identity has one
     * connection to a peer (RFC 6733 section 5.6.4: a second one is an election); jDiameter mode
     * refused the CERs of several connections of one Origin-Host with 5012 once that peer had been
     * seen before, so {@code -c 4} failed from its second run on.
     */
    static String originHost(String first, int i) {
        if (i == 0) {
            return first;
        }
        int dot = first.indexOf('.');
        return dot < 0 ? first + "-" + (i + 1) : first.substring(0, dot) + "-" + (i + 1) + first.substring(dot);
    }

    private DiameterMessage cer(Conn c, int i) {
        return new DiameterMessage(0x80, CommandCodes.CAPABILITIES_EXCHANGE, 0, 0x7000 + i, 0x7000 + i, List.of(
                Avp.utf8(AvpCodes.ORIGIN_HOST, c.host), Avp.utf8(AvpCodes.ORIGIN_REALM, c.hostRealm.toString()),
                Avp.address(AvpCodes.HOST_IP_ADDRESS, java.net.InetAddress.getLoopbackAddress()),
                Avp.unsigned32(AvpCodes.VENDOR_ID, 0), Avp.utf8(AvpCodes.PRODUCT_NAME, "ocs-bench").optional(),
                Avp.unsigned32(AvpCodes.AUTH_APPLICATION_ID, 4)));
    }
}
