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
                       org.gyocs.node.TlsSettings tls, EarlyAnswers early,
                       java.util.concurrent.atomic.AtomicInteger inFlight,
                       java.util.concurrent.atomic.AtomicBoolean stopping,
                       java.util.Set<ScreenedConnection> connections, java.util.List<String> listening) {

    TransportScreen(PeerAllowList peers, TransportLimits limits, NodeStatistics statistics,
                    org.gyocs.node.TlsSettings tls, EarlyAnswers early) {
        this(peers, limits, statistics, tls, early, new java.util.concurrent.atomic.AtomicInteger(),
                new java.util.concurrent.atomic.AtomicBoolean(), ConcurrentHashMap.newKeySet(),
                new java.util.concurrent.CopyOnWriteArrayList<>());
    }

    /** The open connection whose CER came from {@code originHost}, or null. */
    ScreenedConnection connectionOf(String originHost) {
        for (ScreenedConnection c : connections) {
            if (originHost != null && originHost.equalsIgnoreCase(c.originHost) && !c.isClosed()) {
                return c;
            }
        }
        return null;
    }

    /**
     * Closes at once, without DPR, every connection whose CER came from {@code originHost} (a
     * test behaviour's disconnect). @return how many were closed
     */
    int disconnect(String originHost) {
        int n = 0;
        for (ScreenedConnection c : connections) {
            if (originHost != null && originHost.equalsIgnoreCase(c.originHost)) {
                c.closeNow();
                n++;
            }
        }
        return n;
    }

    /**
     * Answers, before jDiameter sees them, the CCRs jDiameter would answer itself, outside the
     * statistics and unlike mock mode: one without Destination-Realm (jDiameter's 5005 had no
     * Failed-AVP and copied the request's AVPs) and one for a realm the node does not serve.
     */
    interface EarlyAnswers {
        /** @return the answer, or null when the request goes on to jDiameter */
        org.jdiameter.client.api.IMessage answer(java.nio.ByteBuffer ccr, org.jdiameter.client.api.parser.IMessageParser parser);
    }
    private static final Map<Integer, TransportScreen> BY_PORT = new ConcurrentHashMap<>();

    static void register(int port, TransportScreen screen) {
        BY_PORT.put(port, screen);
    }

    static void unregister(int port) {
        BY_PORT.remove(port);
    }

    /** The screen of a port; a stack started without a node (a client) gets the defaults and any peer. */
    static TransportScreen of(int port) {
        return BY_PORT.getOrDefault(port, new TransportScreen(PeerAllowList.ANY, TransportLimits.DEFAULT, new NodeStatistics(), null, null));
    }
}
