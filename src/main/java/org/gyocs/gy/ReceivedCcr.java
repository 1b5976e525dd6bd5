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

    /**
     * Its top-level AVPs as they arrived, for the record of recent requests: read only when
     * someone reads the record, and holding the message alone (nothing of its connection).
     */
    java.util.function.Supplier<java.util.List<WireAvp>> recordedAvps();

    /**
     * Its answer is to be sent later (a test behaviour delays it): the handle it goes out
     * through. Called on the deciding thread, before the pipeline returns no answer, so that the
     * transport counts it as still to be answered (a stop waits for it).
     */
    Held<A> holdBack();

    /** Closes the connection it came on, without answering it (a test behaviour's disconnect). */
    void disconnect();

    /**
     * It will get no answer (a test behaviour dropped it, or disconnected): the transport lets go
     * of what it holds for its answer (a stop waits for none, a session waiting for it is released).
     */
    void unanswered();

    /** An answer held back, to be sent later or not at all. */
    interface Held<A> {
        /** Sends it now, from any thread; runs {@code notSent} (on any thread) when it could not go out. */
        void send(A answer, Runnable notSent);

        /** It will not be sent after all (the node stops first): the transport lets go of it. */
        void cancel();
    }
}
