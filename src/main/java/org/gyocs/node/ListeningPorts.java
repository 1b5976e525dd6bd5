package org.gyocs.node;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Port checks around a transport that binds asynchronously and swallows bind errors (jDiameter's
 * NetworkGuard): before start we try the bind ourselves to get the real error; after start we
 * watch the kernel's socket table until the port is in LISTEN state.
 */
public final class ListeningPorts {

    private ListeningPorts() {
    }

    /** Fails with the operator's message when the address cannot be bound. */
    public static void checkBindable(String host, int port) throws NodeStartException {
        String where = host + ":" + port;
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        } catch (BindException e) {
            String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("permission")) {
                throw new NodeStartException("Permission denied binding " + where
                        + " (ports below 1024 need root or CAP_NET_BIND_SERVICE)", e);
            }
            if (m.contains("assign")) {
                throw new NodeStartException("Cannot assign requested address (" + where
                        + "): the IP is not configured on this machine", e);
            }
            throw new NodeStartException("Address already in use (" + where + ")", e);
        } catch (SocketException e) {
            throw new NodeStartException(e.getMessage() + " (" + where + ")", e);
        } catch (IOException e) {
            throw new NodeStartException("Cannot bind " + where + ": " + e.getMessage(), e);
        }
    }

    /** Picks a free ephemeral port on the loopback interface. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port", e);
        }
    }

    /**
     * A free loopback port, kept bound by the returned socket until its caller closes it just
     * before binding the port itself: between freePort() and that bind, another bind(0) may be
     * given the same port.
     */
    public static ServerSocket holdFreePort() throws IOException {
        return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    /** Waits until something listens on the port; returns false on timeout. */
    public static boolean awaitListening(String host, int port, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (isListening(host, port)) {
                return true;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return isListening(host, port);
    }

    /**
     * True when a socket listens on the port. Reads /proc/net/tcp{,6} on Linux, which does not
     * open a connection (a probe connection would reach the transport as a peer without CER).
     */
    public static boolean isListening(String host, int port) {
        Path v4 = Path.of("/proc/net/tcp");
        if (Files.isReadable(v4)) {
            String address = procAddress(host);
            // Java binds an IPv4 address through an IPv6 socket when it can: ::ffff:a.b.c.d in tcp6
            String mapped = address == null ? null : "0000000000000000FFFF0000" + address;
            return listedAsListening(v4, address, "00000000", port)
                    || listedAsListening(Path.of("/proc/net/tcp6"), mapped, "00000000000000000000000000000000", port);
        }
        String target = "0.0.0.0".equals(host) ? "127.0.0.1" : host;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(target, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * An IPv4 literal as /proc/net/tcp writes it (little-endian hex: 127.0.0.1 is 0100007F), or null
     * for a wildcard, a name or IPv6: then a listener at any address counts.
     */
    private static String procAddress(String host) {
        String[] octets = host.split("\\.");
        if (octets.length != 4 || "0.0.0.0".equals(host)) {
            return null;
        }
        StringBuilder hex = new StringBuilder();
        try {
            for (int i = 3; i >= 0; i--) {
                hex.append(String.format("%02X", Integer.parseInt(octets[i])));
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return hex.toString();
    }

    /**
     * Whether the table lists a LISTEN socket on the port at {@code address} or at the table's
     * wildcard (address null: at any address). Another process's listener at another address is not ours: counting
     * it said "listening" before our transport had bound.
     */
    private static boolean listedAsListening(Path table, String address, String wildcard, int port) {
        String hexPort = String.format(":%04X", port);
        try {
            List<String> lines = Files.readAllLines(table);
            for (int i = 1; i < lines.size(); i++) {
                String[] f = lines.get(i).trim().split("\\s+");
                // f[1] = local address:port in hex, f[3] = state; 0A = TCP_LISTEN
                if (f.length > 3 && f[1].endsWith(hexPort) && "0A".equals(f[3]) && (address == null
                        || f[1].startsWith(address + ":") || f[1].startsWith(wildcard + ":"))) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
