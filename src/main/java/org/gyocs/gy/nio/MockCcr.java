package org.gyocs.gy.nio;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.FailedAvp;
import org.gyocs.gy.AnswerAvps;
import org.gyocs.gy.AvpReader;
import org.gyocs.gy.CcaBuilder;
import org.gyocs.gy.InvalidAvpException;
import org.gyocs.gy.ReceivedCcr;
import org.gyocs.gy.WireAvp;

/** A CCR decoded by our codec, as the Gy pipeline reads and answers it. */
record MockCcr(DiameterMessage message, String peer, long receivedNanos, Later later)
        implements ReceivedCcr<DiameterMessage> {

    /** What the request's connection does for a test behaviour; callable from any thread. */
    interface Later {
        /** An answer to send later is held back (a stop waits for it). */
        Held<DiameterMessage> hold();

        /** Closes the connection at once. */
        void close();
    }

    /** A request refused before the pipeline decides it: no behaviour applies to it. */
    MockCcr(DiameterMessage message, String peer) {
        this(message, peer, System.nanoTime(), null);
    }

    @Override
    public Supplier<List<WireAvp>> recordedAvps() {
        List<Avp> avps = message.avps();
        return () -> {
            List<WireAvp> out = new ArrayList<>(avps.size());
            for (Avp a : avps) {
                out.add(new WireAvp(a.code(), a.isVendorSpecific() ? a.vendorId() : 0, a.flags(), a.data()));
            }
            return out;
        };
    }

    @Override
    public Held<DiameterMessage> holdBack() {
        if (later == null) {
            throw new IllegalStateException("no connection to answer this request later");
        }
        return later.hold();
    }

    @Override
    public void disconnect() {
        if (later != null) {
            later.close();
        }
    }

    @Override
    public void unanswered() {
        // the connection keeps nothing for an answer: a charging worker's count ends with its decision
    }

    @Override
    public AvpReader avps() {
        return new Avps(message.avps(), null);
    }

    @Override
    public boolean retransmitted() {
        return (message.flags() & DiameterMessage.FLAG_RETRANSMITTED) != 0;
    }

    @Override
    public CcaBuilder<DiameterMessage> answer() {
        return new Answer(message);
    }

    /** The core's view of a received AVP, Vendor-ID included (a 3GPP AVP is reported as such). */
    static FailedAvp failedAvp(Avp a) {
        return a == null ? null : new FailedAvp(a.code(), a.isVendorSpecific() ? a.vendorId() : 0, a.data());
    }

    /** AVPs decoded by our codec; Grouped AVPs are decoded when read. */
    private record Avps(List<Avp> avps, Avp source) implements AvpReader {
        @Override
        public byte[] data(int code, long vendorId) {
            for (Avp a : avps) {
                if (a.code() == code && (a.isVendorSpecific() ? a.vendorId() == vendorId : vendorId == 0)) {
                    return a.data();
                }
            }
            return null;
        }

        @Override
        public List<AvpReader> groups(int code) throws InvalidAvpException {
            List<AvpReader> out = null;
            for (Avp a : avps) {
                if (a.code() == code && !a.isVendorSpecific()) {
                    try {
                        if (out == null) {
                            out = new ArrayList<>(2);
                        }
                        out.add(new Avps(a.group(), a));
                    } catch (DiameterDecodeException e) {
                        throw new InvalidAvpException(e.resultCode(), failedAvp(e.failedAvp()), e.getMessage());
                    }
                }
            }
            return out == null ? List.of() : out;
        }

        @Override
        public FailedAvp origin() {
            return failedAvp(source);
        }
    }

    /** A builder that appends to {@code avps} (for the requests the node sends: SessionRequestLayout). */
    static AnswerAvps avpsInto(List<Avp> avps) {
        return new ListAvps(avps);
    }

    /** AVPs appended to a list, a Grouped one encoded once its content is complete. */
    private record ListAvps(List<Avp> avps) implements AnswerAvps {
        @Override
        public void add(int code, long vendorId, boolean mandatory, byte[] data) {
            int flags = (vendorId != 0 ? Avp.FLAG_VENDOR : 0) | (mandatory ? Avp.FLAG_MANDATORY : 0);
            avps.add(new Avp(code, flags, vendorId, data));
        }

        @Override
        public void addGroup(int code, Consumer<AnswerAvps> content) {
            List<Avp> children = new ArrayList<>(4);
            content.accept(new ListAvps(children));
            avps.add(Avp.grouped(code, children));
        }
    }

    /** Collects the AVPs of the answer; Session-Id first, as the request carried it. */
    private static final class Answer implements CcaBuilder<DiameterMessage> {
        private final DiameterMessage request;
        private final List<Avp> avps = new ArrayList<>(12);
        private final ListAvps into = new ListAvps(avps);

        Answer(DiameterMessage request) {
            this.request = request;
            Avp sessionId = request.avp(AvpCodes.SESSION_ID);
            if (sessionId != null) {
                avps.add(sessionId);
            }
        }

        @Override
        public void add(int code, long vendorId, boolean mandatory, byte[] data) {
            into.add(code, vendorId, mandatory, data);
        }

        @Override
        public void addGroup(int code, Consumer<AnswerAvps> content) {
            into.addGroup(code, content);
        }

        @Override
        public void addProxyInfo() {
            avps.addAll(request.all(AvpCodes.PROXY_INFO));
        }

        @Override
        public DiameterMessage build(boolean protocolError) {
            return request.answer(protocolError, avps);
        }
    }
}
