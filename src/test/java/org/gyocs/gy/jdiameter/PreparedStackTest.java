package org.gyocs.gy.jdiameter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import org.gyocs.core.CreditControlCore;
import org.gyocs.core.GrantPolicy;
import org.gyocs.core.NodeStatistics;
import org.gyocs.gy.GyPipeline;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.PeerAllowList;
import org.gyocs.node.TransportLimits;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;

/**
 * The port a prepared stack chose (the settings say 0) stays bound until the node starts the
 * stack on it: found free and left free, it was taken during the stack's second of
 * initialisation once, and the start failed with "Address already in use".
 */
class PreparedStackTest {
    static final NodeSettings SETTINGS = new NodeSettings("ocs.test.local", "test.local", "127.0.0.1", 0,
            Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT, PeerAllowList.ANY);

    @Test
    void theChosenPortIsHeldUntilTheStackListensOnIt() throws Exception {
        PreparedStack prepared = PreparedStack.begin(SETTINGS);
        int port = prepared.port();
        try (ServerSocket other = new ServerSocket()) {
            assertThrows(BindException.class,
                    () -> other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)),
                    "another bind meanwhile is refused");
        } catch (AssertionError e) {
            prepared.close(); // no stack left running
            throw e;
        }
        NodeStatistics stats = new NodeStatistics();
        JDiameterGyNode node = new JDiameterGyNode(SETTINGS,
                new GyPipeline(new CreditControlCore(GrantPolicy.DEFAULT), stats, "ocs.test.local", "test.local"),
                prepared);
        node.start();
        try (TestPeer peer = new TestPeer(node.port())) {
            assertEquals(port, node.port());
            assertEquals(2001, GyRequests.resultCode(peer.handshake()));
            peer.awaitOpen();
            assertEquals(2001, GyRequests.resultCode(peer.request(GyRequests.simple(1, "held;1", 4, 0))));
        } finally {
            node.stop();
        }
    }

    /**
     * For 0.0.0.0 jDiameter listens on each address the machine has, not on the wildcard: the
     * banner said 0.0.0.0 where `ss` showed 127.0.0.1 and 192.0.2.2 (a newcomer pass). The node
     * tells where it listens, each address on the one port.
     */
    @Test
    void forEveryAddressTheNodeTellsWhichItListensOn() throws Exception {
        NodeSettings everywhere = new NodeSettings("ocs.test.local", "test.local", "0.0.0.0", 0,
                Path.of("config/jdiameter-config.xml"), false, TransportLimits.DEFAULT, PeerAllowList.ANY);
        NodeStatistics stats = new NodeStatistics();
        JDiameterGyNode node = new JDiameterGyNode(everywhere,
                new GyPipeline(new CreditControlCore(GrantPolicy.DEFAULT), stats, "ocs.test.local", "test.local"));
        node.start();
        try {
            int port = node.port();
            assertEquals(StackConfiguration.listenAddresses("0.0.0.0").stream().map(a -> a + ":" + port).toList(),
                    node.listening(), "each address the stack was given, on the one port");
            try (TestPeer peer = new TestPeer(port)) {
                assertEquals(2001, GyRequests.resultCode(peer.handshake()));
            }
        } finally {
            node.stop();
        }
        assertEquals(java.util.List.of(), node.listening(), "a stopped node listens nowhere");
    }

    @Test
    void aPreparationClosedUnusedLetsItsPortGo() throws Exception {
        PreparedStack prepared = PreparedStack.begin(SETTINGS);
        int port = prepared.port();
        prepared.close();
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }
    }
}
