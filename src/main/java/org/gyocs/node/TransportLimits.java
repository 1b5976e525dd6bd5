package org.gyocs.node;

/**
 * Protections of the mock transport against bad or slow peers, and its watchdog.
 *
 * @param maxMessageBytes  a message announcing more is refused and its connection closed, before allocating it
 * @param maxConnections   connections beyond this are closed at once
 * @param watchdogMillis   Tw (RFC 3539): a DWR after this long without traffic; the peer is closed when
 *                         it does not answer within another Tw
 * @param stallMillis      a peer that sends no CER, or leaves half a message, for this long is closed
 */
public record TransportLimits(int maxMessageBytes, int maxConnections, long watchdogMillis, long stallMillis) {

    public static final TransportLimits DEFAULT = new TransportLimits(65_536, 1_000, 30_000, 10_000);

    public TransportLimits {
        if (maxMessageBytes < 20 || maxConnections < 1 || watchdogMillis < 1 || stallMillis < 1) {
            throw new IllegalArgumentException("transport limits must be positive (max message at least 20 bytes)");
        }
    }
}
