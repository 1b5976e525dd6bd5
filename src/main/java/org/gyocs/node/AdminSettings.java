package org.gyocs.node;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Where the operator's HTTP interface listens and what it asks of callers.
 *
 * @param bindAddress where it listens (loopback by default)
 * @param port        its TCP port; 0 for no HTTP interface; {@link #ANY_PORT} for one the system
 *                    chooses when it binds (GyDiameterApplication#getAdminPort says which)
 * @param token       the bearer token every request but GET /health must carry; null for none,
 *                    which only a loopback address allows
 */
public record AdminSettings(String bindAddress, int port, String token) {
    public static final AdminSettings NONE = new AdminSettings("127.0.0.1", 0, null);
    /**
     * A port the system chooses as the interface binds, for an embedding program or a test: a
     * port found free first and bound later may be taken by another process in between.
     */
    public static final int ANY_PORT = -1;

    public static AdminSettings onAnyPort(String bindAddress, String token) {
        return new AdminSettings(bindAddress, ANY_PORT, token);
    }

    public boolean enabled() {
        return port != 0;
    }

    /** The port to bind: 0, the system's choice, for ANY_PORT. */
    public int bindPort() {
        return Math.max(port, 0);
    }

    /** Refuses an interface beyond loopback that anyone could use without a token. */
    public void check() throws NodeStartException {
        if (!enabled() || token != null) {
            return;
        }
        try {
            if (!InetAddress.getByName(bindAddress).isLoopbackAddress()) {
                throw new NodeStartException("admin-ip " + bindAddress + " is reachable from other machines: "
                        + "set admin-token-file, or keep admin-ip on loopback (127.0.0.1)");
            }
        } catch (UnknownHostException e) {
            throw new NodeStartException("admin-ip " + bindAddress + " is not an address of this machine", e);
        }
    }
}
