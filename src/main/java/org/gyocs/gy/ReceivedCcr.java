package org.gyocs.gy;

/**
 * One CCR as a transport received it: what {@link GyPipeline} reads it through and how it answers
 * it. Each transport has one small implementation over its own message type.
 *
 * @param <A> the transport's answer message
 */
public interface ReceivedCcr<A> {

    /** The request's top-level AVPs. */
    AvpReader avps();

    /** The T-bit of its header: the peer may have sent it before (RFC 6733 section 3). */
    boolean retransmitted();

    /** The Origin-Host the connection's CER gave, or null when the transport does not know it. */
    String peer();

    /** {@link System#nanoTime()} when the transport took the request, for the answer latency. */
    long receivedNanos();

    /** A new answer to this request (Session-Id in place), for {@link CcaLayout} to fill. */
    CcaBuilder<A> answer();

    /** Its top-level AVPs as they arrived, for the record of recent requests. */
    java.util.List<WireAvp> wireAvps();

    /**
     * Sends its answer now, from any thread, after the pipeline returned none (a test behaviour
     * delayed it); nothing when the connection has closed meanwhile.
     */
    void sendLater(A answer);

    /** Closes the connection it came on, without answering it (a test behaviour's disconnect). */
    void disconnect();

    /**
     * It will get no answer (a test behaviour dropped it, or disconnected): the transport lets go
     * of what it holds for its answer (a stop waits for none, a session waiting for it is released).
     */
    void unanswered();
}
