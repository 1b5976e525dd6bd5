package org.gyocs.gy.jdiameter;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.gyocs.codec.AvpCodes;
import org.gyocs.core.FailedAvp;
import org.gyocs.core.ResultCode;
import org.gyocs.gy.AnswerAvps;
import org.gyocs.gy.AvpReader;
import org.gyocs.gy.CcaBuilder;
import org.gyocs.gy.InvalidAvpException;
import org.gyocs.gy.ReceivedCcr;
import org.gyocs.gy.WireAvp;
import org.jdiameter.api.Answer;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpDataException;
import org.jdiameter.api.AvpSet;
import org.jdiameter.api.Request;

/**
 * A CCR parsed by jDiameter, as the Gy pipeline reads and answers it.
 *
 * @param reply how an answer the pipeline holds back goes out later, and what a request left
 *              unanswered gives back; null where no test behaviour can apply (a refusal)
 */
record JDiameterCcr(Request request, long receivedNanos, Reply reply) implements ReceivedCcr<Answer> {

    /** What the transport does for a test behaviour that holds an answer back. */
    interface Reply {
        /** At hold time: how the answer goes out later, bound to the connection the request came on. */
        Sender hold();

        /** The request will get no answer. */
        void unanswered();

        /** Closes the connections of the request's peer. */
        void disconnect(String peer);
    }

    /** Sends a held answer. */
    interface Sender {
        /** @throws PeerGone when the request's connection is gone (nothing was sent) */
        void send(Answer answer) throws Exception;
    }

    /** The connection a request came on has closed: its late answer goes nowhere (not to its successor). */
    static final class PeerGone extends Exception {
        private static final long serialVersionUID = 1L;

        PeerGone() {
            super("the connection the request came on is gone", null, false, false);
        }
    }

    /** jDiameter keeps no time of receipt: the latency counts from when our code takes the request. */
    JDiameterCcr(Request request) {
        this(request, System.nanoTime(), null);
    }

    JDiameterCcr(Request request, Reply reply) {
        this(request, System.nanoTime(), reply);
    }

    @Override
    public java.util.function.Supplier<List<WireAvp>> recordedAvps() {
        Request message = request;
        return () -> {
            List<WireAvp> out = new ArrayList<>();
            for (Avp a : message.getAvps()) {
                byte[] d = a.getRawData(); // a Grouped AVP's children encoded again
                int flags = (a.isVendorId() ? org.gyocs.codec.Avp.FLAG_VENDOR : 0)
                        | (a.isMandatory() ? org.gyocs.codec.Avp.FLAG_MANDATORY : 0)
                        | (a.isEncrypted() ? org.gyocs.codec.Avp.FLAG_PROTECTED : 0);
                out.add(new WireAvp(a.getCode(), a.isVendorId() ? a.getVendorId() : 0, flags, d == null ? new byte[0] : d));
            }
            return out;
        };
    }

    @Override
    public Held<Answer> holdBack() {
        if (reply == null) {
            throw new IllegalStateException("no way to answer this request later");
        }
        Sender sender = reply.hold();
        return new Held<>() {
            @Override
            public void send(Answer answer, Runnable notSent) {
                try {
                    sender.send(answer);
                } catch (PeerGone e) {
                    reply.unanswered(); // nothing reached a connection: it no longer counts as in flight
                    notSent.run();
                } catch (Exception e) {
                    // the stack failed on its way: whether its connection counted the answer out is
                    // unknown, so it stays in flight (a stop then waits its bound for it, no longer)
                    org.apache.logging.log4j.LogManager.getLogger(JDiameterCcr.class).warn(
                            "Late answer of session {} not sent: {}", request.getSessionId(), e.toString());
                    notSent.run();
                }
            }

            @Override
            public void cancel() {
                reply.unanswered();
            }
        };
    }

    @Override
    public void disconnect() {
        if (reply != null) {
            reply.disconnect(peer());
        }
    }

    @Override
    public void unanswered() {
        if (reply != null) {
            reply.unanswered();
        }
    }

    @Override
    public AvpReader avps() {
        return new Avps(request.getAvps(), null);
    }

    @Override
    public boolean retransmitted() {
        return request.isReTransmitted();
    }

    /**
     * The Origin-Host the connection's CER gave, as jDiameter records it on the received message;
     * null when jDiameter did not.
     */
    @Override
    public String peer() {
        return peerOf(request);
    }

    /** {@link #peer()} of a request, without a record around it. */
    static String peerOf(Request request) {
        try {
            if (request instanceof org.jdiameter.client.api.IMessage im && im.getPeer() != null
                    && im.getPeer().getUri() != null) {
                return im.getPeer().getUri().getFQDN();
            }
        } catch (RuntimeException e) {
            // no peer recorded
        }
        return null;
    }

    @Override
    public CcaBuilder<Answer> answer() {
        return new AnswerBuilder(request);
    }

    private static byte[] raw(Avp a) {
        try {
            byte[] d = a.getRaw();
            return d == null ? new byte[0] : d;
        } catch (AvpDataException e) {
            return new byte[0];
        }
    }

    /** jDiameter's AVPs; a Grouped AVP is decoded by jDiameter when read. */
    private record Avps(AvpSet set, Avp source) implements AvpReader {
        @Override
        public byte[] data(int code, long vendorId) {
            Avp a = set.getAvp(code, vendorId);
            return a == null ? null : raw(a);
        }

        @Override
        public List<AvpReader> groups(int code) throws InvalidAvpException {
            AvpSet all = set.getAvps(code, 0);
            if (all.size() == 0) {
                return List.of();
            }
            List<AvpReader> out = new ArrayList<>(all.size());
            for (Avp a : all) {
                try {
                    out.add(new Avps(a.getGrouped(), a));
                } catch (AvpDataException e) {
                    throw new InvalidAvpException(ResultCode.INVALID_AVP_VALUE, failed(a), "AVP " + code
                            + " has invalid data");
                }
            }
            return out;
        }

        @Override
        public FailedAvp origin() {
            return source == null ? null : failed(source);
        }

        /** A Grouped AVP's data once jDiameter has decoded it lies in its children: encoded again. */
        private static FailedAvp failed(Avp a) {
            byte[] d = a.getRawData();
            return new FailedAvp(a.getCode(), a.getVendorId(), d == null ? new byte[0] : d);
        }
    }

    /**
     * jDiameter's answer, AVPs in the order they are added: createAnswer() puts Session-Id first
     * and copies Auth-Application-Id and Proxy-Info, which are removed here and re-added by the
     * layout in their ABNF places (jDiameter would leave them where it put them).
     */
    private static final class AnswerBuilder implements CcaBuilder<Answer> {
        private final Answer answer;
        private final Group top;
        private final AvpSet proxyInfo;

        AnswerBuilder(Request request) {
            answer = request.createAnswer();
            // RFC 6733 section 3: the T-bit MUST NOT be set in answers; jDiameter copies it from the request.
            answer.setReTransmitted(false);
            AvpSet set = answer.getAvps();
            set.removeAvp(AvpCodes.AUTH_APPLICATION_ID);
            proxyInfo = set.removeAvp(AvpCodes.PROXY_INFO);
            top = new Group(set);
        }

        @Override
        public void add(int code, long vendorId, boolean mandatory, byte[] data) {
            top.add(code, vendorId, mandatory, data);
        }

        @Override
        public void addGroup(int code, Consumer<AnswerAvps> content) {
            top.addGroup(code, content);
        }

        @Override
        public void addProxyInfo() {
            if (proxyInfo != null) {
                top.set().addAvp(proxyInfo);
            }
        }

        @Override
        public Answer build(boolean protocolError) {
            answer.setError(protocolError);
            return answer;
        }
    }

    /** A builder that appends to jDiameter's {@code set} (for the requests the node sends: SessionRequestLayout). */
    static AnswerAvps avpsInto(AvpSet set) {
        return new Group(set);
    }

    private record Group(AvpSet set) implements AnswerAvps {
        @Override
        public void add(int code, long vendorId, boolean mandatory, byte[] data) {
            set.addAvp(code, data, vendorId, mandatory, false);
        }

        @Override
        public void addGroup(int code, Consumer<AnswerAvps> content) {
            content.accept(new Group(set.addGroupedAvp(code, true, false)));
        }
    }
}
