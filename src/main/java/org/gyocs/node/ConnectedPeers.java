package org.gyocs.node;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The peers a node has open connections with (capabilities exchanged, not yet disconnected),
 * kept by either transport; read by the metrics and the operator's HTTP interface. Logs each
 * peer coming up and going down (logger {@code org.gyocs.peers}).
 */
public final class ConnectedPeers {
    private static final Logger log = LogManager.getLogger("org.gyocs.peers");

    /** One connected peer: its Origin-Host and Origin-Realm from its CER, its address, since when. */
    public record Peer(String originHost, String originRealm, String address, Instant since) {
    }

    private final Set<Peer> open = ConcurrentHashMap.newKeySet();

    /** A peer finished its capabilities exchange; the returned entry is handed back at {@link #disconnected}. */
    public Peer connected(String originHost, String originRealm, String address) {
        Peer p = new Peer(originHost, originRealm, address, Instant.now());
        open.add(p);
        log.info("Peer connected: {} {}", originHost, address);
        return p;
    }

    public void disconnected(Peer p, String reason) {
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
