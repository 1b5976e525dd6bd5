package org.gyocs.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

/** The start-up check that the transport listens: at the address it was given, not at another. */
class ListeningPortsTest {

    @Test
    void aListenerCountsAtItsOwnAddressAndAtTheWildcardOnly() throws Exception {
        try (ServerSocket other = new ServerSocket()) {
            // 127.0.0.2 is loopback on Linux: another process's listener on our port at another address
            other.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
            int port = other.getLocalPort();
            assertTrue(ListeningPorts.isListening("127.0.0.2", port));
            assertFalse(ListeningPorts.isListening("127.0.0.1", port), "not ours: it listens elsewhere");
            assertTrue(ListeningPorts.isListening("0.0.0.0", port), "a wildcard check takes any address");
            try (ServerSocket ours = new ServerSocket()) {
                ours.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
                assertTrue(ListeningPorts.isListening("127.0.0.1", port));
            }
            assertFalse(ListeningPorts.isListening("127.0.0.1", port), "closed again");
        }
    }

    @Test
    void aWildcardListenerServesEveryAddress() throws Exception {
        try (ServerSocket any = new ServerSocket(0)) {
            assertTrue(ListeningPorts.isListening("127.0.0.1", any.getLocalPort()));
            assertTrue(ListeningPorts.isListening("0.0.0.0", any.getLocalPort()));
        }
    }
}
