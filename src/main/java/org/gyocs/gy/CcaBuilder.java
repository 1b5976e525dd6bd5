package org.gyocs.gy;

/**
 * A transport's answer to one received CCR, being filled by {@link CcaLayout}: it already holds
 * the request's Session-Id (RFC 6733: first), and finishes as the transport's message type.
 *
 * @param <A> the transport's answer message
 */
public interface CcaBuilder<A> extends AnswerAvps {

    /** Appends the request's Proxy-Info AVPs as received (RFC 6733 section 6.7.3). */
    void addProxyInfo();

    /** The answer, with the E-bit set when {@code protocolError} (a 3xxx Result-Code, RFC 6733 7.1.3). */
    A build(boolean protocolError);
}
