package org.gyocs.gy.nio;

import org.gyocs.core.NodeStatistics;
import org.gyocs.node.TransportLimits;

/** What every connection of the mock node shares. */
interface MockContext {
    /** What every CCR goes through, in this mode as in jDiameter mode. */
    org.gyocs.gy.GyPipeline pipeline();

    NodeStatistics statistics();

    BaseMessages base();

    TransportLimits limits();

    /** Which peers may connect. */
    org.gyocs.node.PeerAllowList allowedPeers();

    /** The peers connected now. */
    org.gyocs.node.ConnectedPeers peers();

    String originHost();

    String originRealm();

    /** Runs a charging decision on the worker of this session (one worker per session keeps its order). */
    void charge(String sessionId, Runnable decision);

    /** A connection finished its capabilities exchange: the node's requests to its peer go there. */
    void opened(PeerConnection connection);

    /** A connection that had opened has closed: the node's requests no longer go there. */
    void closed(PeerConnection connection);

    /** A connection has closed: it no longer counts against the connection cap. */
    void connectionClosed();
}
