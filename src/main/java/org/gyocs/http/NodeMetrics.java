package org.gyocs.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

import org.gyocs.core.NodeStatistics;
import org.gyocs.core.RequestType;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * The node's metrics in Prometheus' text format, names after Prometheus' conventions with the
 * {@code gyocs_} prefix and no subscriber in any label. Counters are read at scrape time from the
 * {@link NodeStatistics} the node keeps anyway; only the answer latency is observed as it
 * happens, into a fixed-bucket histogram (no per-request allocation, no exemplars).
 */
public final class NodeMetrics implements LongConsumer {
    /** Seconds: a charged answer takes tens of microseconds to a few milliseconds; the deadline is seconds. */
    private static final double[] LATENCY_BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram latency;
    private final Histogram store;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    /** What the metrics read from the running node. */
    public record Sources(Supplier<NodeStatistics> statistics, IntSupplier openSessions, IntSupplier connectedPeers,
                          Supplier<Boolean> storeUp, Supplier<Boolean> healthy,
                          Supplier<java.util.List<org.gyocs.behaviour.Behaviours.Rule>> behaviours) {
    }

    private final Sources sources;

    /** Whether the balance store can change balances now (as gyocs_store_up says). */
    public boolean storeUp() {
        return sources.storeUp().get();
    }

    public NodeMetrics(Sources node, String version, String mode) {
        this.sources = node;
        CounterWithCallback.builder().name("gyocs_requests_total")
                .help("Credit-Control-Requests received, by CC-Request-Type")
                .labelNames("command", "request_type")
                .callback(cb -> {
                    NodeStatistics s = node.statistics().get();
                    for (RequestType t : RequestType.values()) {
                        cb.call(s.requests(t), "CCR", t.name().toLowerCase(java.util.Locale.ROOT));
                    }
                }).register(registry);
        CounterWithCallback.builder().name("gyocs_answers_total")
                .help("Credit-Control-Answers sent, by top-level Result-Code")
                .labelNames("command", "result_code")
                .callback(cb -> node.statistics().get().answersByResultCode()
                        .forEach((code, n) -> cb.call(n, "CCA", String.valueOf(code)))).register(registry);
        CounterWithCallback.builder().name("gyocs_session_requests_total")
                .help("RARs and ASRs the node sent, by result: the answer's Result-Code, timeout, not_connected, error")
                .labelNames("command", "result")
                .callback(cb -> node.statistics().get().sessionRequests().forEach((k, n) -> {
                    int space = k.indexOf(' ');
                    cb.call(n, k.substring(0, space), k.substring(space + 1));
                })).register(registry);
        CounterWithCallback.builder().name("gyocs_behaviour_hits_total")
                .help("Requests whose answer a test behaviour changed, by behaviour id (none in normal operation)")
                .labelNames("behaviour")
                .callback(cb -> node.behaviours().get().forEach(r -> cb.call(r.hits(), r.id()))).register(registry);
        counter("gyocs_errors_total", "Requests refused or failed, broken connections and refused peers (each logged)",
                () -> node.statistics().get().errors());
        counter("gyocs_sessions_expired_total", "Sessions released after Tcc without a request (RFC 4006 section 13), or, on a shared store, "
                + "those of a node gone silent",
                () -> node.statistics().get().sessionsExpired());
        counter("gyocs_peers_refused_total", "Peers refused at their capabilities exchange (not in allowed-peers)",
                () -> node.statistics().get().peersRefused());
        gauge("gyocs_sessions_open", "Credit-control sessions open now", () -> node.openSessions().getAsInt());
        gauge("gyocs_peers_connected", "Diameter peers connected now (capabilities exchanged)",
                () -> node.connectedPeers().getAsInt());
        gauge("gyocs_store_up", "1 when the balance store can change balances, else 0",
                () -> node.storeUp().get() ? 1 : 0);
        gauge("gyocs_up", "1 when the node is healthy (as GET /health says), else 0",
                () -> node.healthy().get() ? 1 : 0);
        latency = Histogram.builder().name("gyocs_answer_latency_seconds").unit(Unit.SECONDS)
                .help("Time from taking a CCR to its answer being ready to send")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).withoutExemplars().register(registry);
        store = Histogram.builder().name("gyocs_store_latency_seconds").unit(Unit.SECONDS)
                .help("Time a change of balances took in the store (reserve, settle, debit, release, refund), "
                        + "its commit or journal sync included")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).withoutExemplars().register(registry);
        Info info = Info.builder().name("gyocs_build_info").help("The running gy-ocs: version and Diameter mode")
                .labelNames("version", "mode").register(registry);
        info.setLabelValues(version, mode);
    }

    /**
     * The JVM's and the process's metrics, registered once per process: each registration adds
     * listeners to the JVM that are never removed, and a node may be started many times.
     */
    private static final class Jvm {
        static final PrometheusRegistry REGISTRY = new PrometheusRegistry();

        static {
            JvmMetrics.builder().register(REGISTRY);
        }
    }

    private void counter(String name, String help, Supplier<Long> value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get())).register(registry);
    }

    private void gauge(String name, String help, Supplier<Number> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue()))
                .register(registry);
    }

    /** Observes one answer's latency, in nanoseconds (called by the Gy pipeline). */
    @Override
    public void accept(long nanos) {
        latency.observe(nanos / 1e9);
    }

    /** Observes how long one change of balances took in the store, in nanoseconds. */
    public void storeLatency(long nanos) {
        store.observe(nanos / 1e9);
    }

    /**
     * The answer latency histogram as it stands: each bucket's upper bound in seconds and how
     * many answers fell in it (not cumulative), for the console to compute quantiles over the
     * interval between two reads (the last bound is +Inf).
     */
    public java.util.List<double[]> latencyBuckets() {
        java.util.List<double[]> out = new java.util.ArrayList<>();
        for (io.prometheus.metrics.model.snapshots.ClassicHistogramBucket b : latency.collect().getDataPoints().get(0)
                .getClassicBuckets()) {
            out.add(new double[] {b.getUpperBound(), b.getCount()});
        }
        return out;
    }

    /** Every metric, in Prometheus' text exposition format. */
    public byte[] scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16_384);
        writer.write(out, registry.scrape());
        writer.write(out, Jvm.REGISTRY.scrape()); // the text format allows the two blocks one after the other
        return out.toByteArray();
    }

    public String contentType() {
        return writer.getContentType();
    }
}
