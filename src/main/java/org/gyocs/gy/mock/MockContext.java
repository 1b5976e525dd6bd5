package org.gyocs.gy.mock;

import org.gyocs.core.CreditControl;
import org.gyocs.core.NodeStatistics;
import org.gyocs.node.TransportLimits;

/** What every connection of the mock node shares. */
interface MockContext {
    CreditControl core();

    NodeStatistics statistics();

    BaseMessages base();

    TransportLimits limits();

    /** Which peers may connect. */
    org.gyocs.node.PeerAllowList peers();

    String originHost();

    String originRealm();

    /** Runs a charging decision on the worker of this session (one worker per session keeps its order). */
    void charge(String sessionId, Runnable decision);

    /** A connection has closed: it no longer counts against the connection cap. */
    void connectionClosed();
}
