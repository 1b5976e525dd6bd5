package org.gyocs.gy.nio;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.CreditControlRequest;
import org.gyocs.core.ResultCode;
import org.gyocs.gy.GyPipeline;
import org.gyocs.gy.ReceivedCcr;
import org.gyocs.gy.SyncedAnswers;
import org.gyocs.node.TrafficLog;

/**
 * The credit-control requests of one connection: what mock mode checks before the pipeline (the
 * application, mandatory AVPs our dictionary does not know), and where each is decided: on the
 * event loop when it changes no balance, else on the session's charging worker, whose answer
 * comes back to the loop. Bounds the requests of one peer being decided at once.
 */
final class CcrDispatch {
    private static final Logger log = LogManager.getLogger(CcrDispatch.class);
    /** CCRs of one connection being decided at once; more are refused 3004. */
    static final int MAX_PENDING_DECISIONS = 10_000;

    /** What the dispatch needs of its connection; called on the event loop only. */
    interface Connection {
        void send(DiameterMessage m);

        /** A CCA counted as sent already: the count is taken back if it never goes out. */
        void sendAnswer(DiameterMessage answer);

        /** An answer decided on a worker has been sent. */
        void decided();

        /** The Origin-Host of the connection's CER. */
        String peerHost();

        /** The peer's address, for logs. */
        String remote();

        /** Closes the connection at once, without DPR. */
        void close(String reason);

        /** Whether it has closed. */
        boolean closed();
    }

    private final MockContext ctx;
    private final EventLoop loop;
    private final Connection connection;
    private int pending;

    CcrDispatch(MockContext ctx, EventLoop loop, Connection connection) {
        this.ctx = ctx;
        this.loop = loop;
        this.connection = connection;
    }

    /** Answers a test behaviour holds back to send later; any thread. */
    private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();

    /** Requests whose answers have not been sent yet: with the charging workers, or held back. */
    int pending() {
        return pending + held.get();
    }

    /**
     * A CCR that arrives after this node's DPR (the peer sent it before it saw the DPR): 3004,
     * nothing debited, and the PCEF sends it to another OCS (RFC 6733 7.1.3). Decided as usual,
     * its debit would be made, and its answer lost when the peer's DPA closes the connection at
     * once: a process test stopping under load saw 13 of 2,000 debits made without an answer.
     */
    void refuseAfterDpr(DiameterMessage m) {
        ctx.pipeline().peers().requestFrom(connection.peerHost());
        MockCcr received = new MockCcr(m, connection.peerHost(), System.nanoTime(), later);
        connection.sendAnswer(ctx.pipeline().refuse(received, ResultCode.TOO_BUSY,
                "The node is stopping (DPR sent): try another OCS", null));
    }

    void dispatch(DiameterMessage m) {
        if (TrafficLog.enabled()) {
            TrafficLog.info("Detected CCR message from {}", connection.remote());
        }
        ctx.pipeline().peers().requestFrom(connection.peerHost());
        if (m.applicationId() != CreditControlCore.CREDIT_CONTROL_APPLICATION_ID) {
            ctx.statistics().error();
            log.warn("CCR for application {} from {}: 3007", m.applicationId(), connection.remote());
            ctx.statistics().answerSent(ResultCode.APPLICATION_UNSUPPORTED);
            ctx.pipeline().peers().answerTo(connection.peerHost());
            connection.sendAnswer(ctx.base().error(m, ResultCode.APPLICATION_UNSUPPORTED, null, null));
            return;
        }
        MockCcr received = new MockCcr(m, connection.peerHost(), System.nanoTime(), later);
        GyPipeline pipeline = ctx.pipeline();
        Avp unsupported;
        try {
            unsupported = AvpCodes.firstUnsupportedMandatory(m.avps());
        } catch (DiameterDecodeException e) {
            connection.sendAnswer(pipeline.refuse(received, e.resultCode() == 0 ? ResultCode.INVALID_AVP_VALUE
                    : e.resultCode(), e.getMessage(), MockCcr.failedAvp(e.failedAvp())));
            return;
        }
        if (unsupported != null) {
            // jDiameter's dictionary refuses these before the application; here, our dictionary
            connection.sendAnswer(pipeline.refuse(received, ResultCode.AVP_UNSUPPORTED, "Unsupported AVP "
                    + unsupported.code() + (unsupported.isVendorSpecific() ? " of vendor " + unsupported.vendorId() : ""),
                    MockCcr.failedAvp(unsupported)));
            return;
        }
        GyPipeline.Read<DiameterMessage> read = pipeline.read(received);
        if (read.refusal() != null) {
            connection.sendAnswer(read.refusal());
            return;
        }
        CreditControlRequest ccr = read.request();
        if (pipeline.answersAtOnce(ccr)) {
            // no balance to change (an unprovisioned subscriber): a hand-off would cost more than
            // the decision, which waits for nothing
            DiameterMessage answer = pipeline.decide(received, ccr);
            if (answer != null) { // null: a test behaviour holds it back
                sent(answer);
            }
            return;
        }
        if (pending >= MAX_PENDING_DECISIONS) {
            // RFC 6733 7.1.3: DIAMETER_TOO_BUSY, the peer may try another OCS or retry later
            connection.sendAnswer(pipeline.refuse(received, ResultCode.TOO_BUSY, "Too many requests in flight", null));
            return;
        }
        pending++;
        SyncedAnswers synced = loop.syncedAnswers();
        if (synced != null && synced.points().ready() && !pipeline.waitsBeyondTheSync(ccr)) {
            // balances in memory, made durable by the journal's next sync: decided here, without a
            // hand-off, and sent once that sync is done (never before)
            DiameterMessage answer = pipeline.decideSentLater(received, ccr, synced.points());
            synced.whenDurable(new SyncedAnswers.Outcome() {
                @Override
                public void durable() {
                    pending--;
                    if (answer != null) {
                        pipeline.sentLater(received);
                        sent(answer);
                    }
                    connection.decided();
                }

                @Override
                public void refused(String why) {
                    pending--;
                    if (answer != null) {
                        pipeline.withdraw(resultCodeOf(answer));
                        sent(pipeline.unableToComply(received, new IllegalStateException(why)));
                    }
                    connection.decided();
                }
            });
            return;
        }
        // The decision may block on the balance store: it runs on the charging workers, never on
        // this event loop, whose other peers would wait. One worker per session keeps its order.
        ctx.charge(ccr.sessionId(), () -> {
            DiameterMessage answer = pipeline.decide(received, ccr);
            loop.execute(() -> {
                pending--;
                if (answer != null) {
                    sent(answer);
                }
                connection.decided();
            });
        });
    }

    /** What a test behaviour asks of this connection after the pipeline returned no answer; any thread. */
    private final MockCcr.Later later = new MockCcr.Later() {
        @Override
        public ReceivedCcr.Held<DiameterMessage> hold() {
            held.incrementAndGet();
            return new ReceivedCcr.Held<>() {
                @Override
                public void send(DiameterMessage answer, Runnable notSent) {
                    loop.execute(() -> {
                        held.decrementAndGet();
                        if (connection.closed()) {
                            notSent.run();
                        } else {
                            sent(answer);
                        }
                        connection.decided();
                    });
                }

                @Override
                public void cancel() {
                    loop.execute(() -> {
                        held.decrementAndGet();
                        connection.decided();
                    });
                }
            };
        }

        @Override
        public void close() {
            loop.execute(() -> connection.close("a test behaviour disconnects"));
        }
    };

    /** The Result-Code (or Experimental-Result-Code) of an answer we encoded, for the counts. */
    static long resultCodeOf(DiameterMessage answer) {
        try {
            Avp code = answer.avp(AvpCodes.RESULT_CODE);
            if (code == null && answer.avp(AvpCodes.EXPERIMENTAL_RESULT) != null) {
                code = DiameterMessage.find(answer.avp(AvpCodes.EXPERIMENTAL_RESULT).group(),
                        AvpCodes.EXPERIMENTAL_RESULT_CODE);
            }
            return code == null ? 0 : code.unsigned32();
        } catch (DiameterDecodeException e) {
            return 0; // not ours to fail on: the answer is replaced either way
        }
    }

    private void sent(DiameterMessage answer) {
        connection.sendAnswer(answer);
        if (TrafficLog.enabled()) {
            TrafficLog.info("Sent CCA response to {}", connection.remote());
        }
    }
}
