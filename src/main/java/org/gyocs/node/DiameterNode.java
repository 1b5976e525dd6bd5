package org.gyocs.node;

/** A transport serving the Gy application: jDiameter or the mock codec. Each owns its threads. */
public interface DiameterNode {

    /** Starts and returns once the port really listens. */
    void start() throws NodeStartException;

    /** Sends DPR to connected peers, closes everything and leaves no thread behind. Idempotent. */
    void stop();

    /** The port actually listened on (useful when the settings asked for port 0). */
    int port();

    /** The peers connected now (capabilities exchanged). */
    ConnectedPeers peers();

    /**
     * Sends a RAR or an ASR to the peer holding a session (on the connection it opened the session
     * on); completes with the answer's Result-Code, or exceptionally: SessionRequest.PeerNotConnected,
     * SessionRequest.NoAnswer.
     */
    java.util.concurrent.CompletableFuture<Long> send(SessionRequest request);

    /**
     * Where the node listens for Diameter over TCP while it runs, "address:port" each ("[v6]:port"),
     * when that is not simply its bind address and port: jDiameter listens for 0.0.0.0 on each
     * IPv4 address of an interface up at its start, not on the wildcard. Empty: the bind address
     * and port, or stopped.
     */
    default java.util.List<String> listening() {
        return java.util.List.of();
    }

    /** The TLS port actually listened on, or 0 without TLS. */
    default int tlsPort() {
        return 0;
    }
}
