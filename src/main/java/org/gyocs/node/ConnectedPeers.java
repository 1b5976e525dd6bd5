package org.gyocs.node;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The peers a node has open connections with (capabilities exchanged, not yet disconnected),
 * kept by either transport; read by the metrics and the operator's HTTP interface. Logs each
 * peer coming up and going down (logger {@code org.gyocs.peers}).
 */
public final class ConnectedPeers {
    private static final Logger log = LogManager.getLogger("org.gyocs.peers");

    /**
     * One connected peer: its Origin-Host and Origin-Realm from its CER, its address, since when,
     * and the CCRs it sent and the CCAs it got on this connection.
     */
    public record Peer(String originHost, String originRealm, String address, Instant since, LongAdder requests,
                       LongAdder answers, java.util.concurrent.atomic.AtomicReference<String> state) {

        /** OPEN; SUSPECT while its watchdog goes unanswered; CLOSING once a DPR is on its way. */
        public String stateNow() {
            return state.get();
        }
    }

    public static final String OPEN = "OPEN";
    public static final String SUSPECT = "SUSPECT";
    public static final String CLOSING = "CLOSING";

    private final Set<Peer> open = ConcurrentHashMap.newKeySet();
    /** The connection each Origin-Host opened last, for the counts. */
    private final Map<String, Peer> byHost = new ConcurrentHashMap<>();

    /** A peer finished its capabilities exchange; the returned entry is handed back at {@link #disconnected}. */
    public Peer connected(String originHost, String originRealm, String address) {
        Peer p = new Peer(originHost, originRealm, address, Instant.now(), new LongAdder(), new LongAdder(),
                new java.util.concurrent.atomic.AtomicReference<>(OPEN));
        open.add(p);
        if (originHost != null) {
            byHost.put(originHost, p);
        }
        log.info("Peer connected: {} {}", originHost, address);
        return p;
    }

    /** The peer's connection moved to {@code state} (OPEN, SUSPECT, CLOSING). */
    public void state(Peer p, String state) {
        if (p != null) {
            p.state().set(state);
        }
    }

    /** The connection this Origin-Host opened last, if it is connected. */
    public java.util.Optional<Peer> find(String originHost) {
        return java.util.Optional.ofNullable(originHost == null ? null : byHost.get(originHost));
    }

    /** A CCR came from this peer (the Origin-Host of its CER; null: not known, not counted). */
    public void requestFrom(String originHost) {
        Peer p = originHost == null ? null : byHost.get(originHost);
        if (p != null) {
            p.requests().increment();
        }
    }

    /** A CCA went to this peer. */
    public void answerTo(String originHost) {
        Peer p = originHost == null ? null : byHost.get(originHost);
        if (p != null) {
            p.answers().increment();
        }
    }

    public void disconnected(Peer p, String reason) {
        if (p != null && p.originHost() != null) {
            byHost.remove(p.originHost(), p);
        }
        if (p != null && open.remove(p)) {
            log.info("Peer disconnected: {} {}{}", p.originHost(), p.address(), reason == null ? "" : " (" + reason + ")");
        }
    }

    public int count() {
        return open.size();
    }

    /** The peers connected now, oldest first. */
    public List<Peer> list() {
        List<Peer> l = new ArrayList<>(open);
        l.sort(Comparator.comparing(Peer::since).thenComparing(Peer::originHost));
        return l;
    }
}
