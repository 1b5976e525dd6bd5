package org.gyocs.node;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything a node needs to start, read once and never changed. Values given here win over the
 * transport's own configuration file.
 *
 * @param originHost   our Diameter identity (Origin-Host)
 * @param realm        our Origin-Realm
 * @param bindAddress  the IP address to listen on, 0.0.0.0 for all
 * @param port         the TCP port, 0 to let the system pick a free one
 * @param configFile   the jDiameter XML configuration
 * @param verbose      log each request and answer
 * @param limits       protections and watchdog of the mock transport
 * @param peers        which peers may connect (Origin-Host and source address)
 * @param tls          Diameter over TLS on a port of its own, or null for none
 */
public record NodeSettings(String originHost, String realm, String bindAddress, int port, Path configFile,
                           boolean verbose, TransportLimits limits, PeerAllowList peers, TlsSettings tls) {

    /** Settings that accept any peer, over TCP only. */
    public NodeSettings(String originHost, String realm, String bindAddress, int port, Path configFile,
                        boolean verbose, TransportLimits limits) {
        this(originHost, realm, bindAddress, port, configFile, verbose, limits, PeerAllowList.ANY, null);
    }

    /** Settings over TCP only. */
    public NodeSettings(String originHost, String realm, String bindAddress, int port, Path configFile,
                        boolean verbose, TransportLimits limits, PeerAllowList peers) {
        this(originHost, realm, bindAddress, port, configFile, verbose, limits, peers, null);
    }

    public static final String DEFAULT_HOST = "gy-server.example.com";
    public static final String DEFAULT_REALM = "example.com";
    public static final String DEFAULT_BIND_ADDRESS = "0.0.0.0";
    public static final int DEFAULT_PORT = 3868;
    public static final Path DEFAULT_CONFIG = Path.of("config", "jdiameter-config.xml");

    public NodeSettings {
        Objects.requireNonNull(originHost, "originHost");
        Objects.requireNonNull(realm, "realm");
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(peers, "peers");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0 to 65535, not " + port);
        }
    }

    /** The same settings on another port (the one actually bound when port 0 was asked). */
    public NodeSettings withPort(int newPort) {
        return new NodeSettings(originHost, realm, bindAddress, newPort, configFile, verbose, limits, peers, tls);
    }

    /** The address operators see in logs and errors, e.g. 0.0.0.0:3868. */
    public String listenAddress() {
        return bindAddress + ":" + port;
    }
}
