package org.gyocs.gy.jdiameter;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.gyocs.core.NodeStatistics;
import org.gyocs.node.PeerAllowList;
import org.gyocs.node.TransportLimits;

/**
 * What the jDiameter node's network guard enforces: the same allow-list and limits as mock mode
 * (allowed-peers; --max-connections, --max-message, --stall-timeout). jDiameter builds its network
 * guard itself, by reflection, with nothing but its addresses and port, so each node registers
 * its screen under its port before the stack starts.
 */
record TransportScreen(PeerAllowList peers, TransportLimits limits, NodeStatistics statistics,
                       org.gyocs.node.TlsSettings tls) {
    private static final Map<Integer, TransportScreen> BY_PORT = new ConcurrentHashMap<>();

    static void register(int port, TransportScreen screen) {
        BY_PORT.put(port, screen);
    }

    static void unregister(int port) {
        BY_PORT.remove(port);
    }

    /** The screen of a port; a stack started without a node (a client) gets the defaults and any peer. */
    static TransportScreen of(int port) {
        return BY_PORT.getOrDefault(port, new TransportScreen(PeerAllowList.ANY, TransportLimits.DEFAULT, new NodeStatistics(), null));
    }
}
