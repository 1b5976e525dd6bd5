package org.gyocs.node;

/**
 * Protections of both transports against bad or slow peers, the mock transport's watchdog, and how
 * long a stop may take.
 *
 * @param maxMessageBytes  a message announcing more is refused and its connection closed, before allocating it
 * @param maxConnections   connections beyond this are closed at once
 * @param watchdogMillis   Tw (RFC 3539): a DWR after this long without traffic; the peer is closed when
 *                         it does not answer within another Tw
 * @param stallMillis      a peer that sends no CER, or leaves half a message, for this long is closed
 * @param drainMillis      on stop, how long answers still being decided may delay the DPRs (then the
 *                         node waits up to {@link #DPA_WAIT_MILLIS} for the DPAs)
 */
public record TransportLimits(int maxMessageBytes, int maxConnections, long watchdogMillis, long stallMillis,
                              long drainMillis) {

    /** On stop, how long the node waits for its peers' DPAs after the DPRs. */
    public static final long DPA_WAIT_MILLIS = 2_000;

    public static final TransportLimits DEFAULT = new TransportLimits(65_536, 1_000, 30_000, 10_000, 5_000);

    public TransportLimits {
        if (maxMessageBytes < 20 || maxConnections < 1 || watchdogMillis < 1 || stallMillis < 1 || drainMillis < 0) {
            throw new IllegalArgumentException("transport limits must be positive (max message at least 20 bytes)");
        }
    }

    /** The default drain (5 s). */
    public TransportLimits(int maxMessageBytes, int maxConnections, long watchdogMillis, long stallMillis) {
        this(maxMessageBytes, maxConnections, watchdogMillis, stallMillis, 5_000);
    }
}
