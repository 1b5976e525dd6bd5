package org.gyocs.bench;

import java.util.LinkedHashMap;
import java.util.Map;

import org.HdrHistogram.Histogram;

/** What a load run measured; latencies in microseconds. */
public record LoadResult(long sent, long answered, long timeouts, long errors, long started, long completed,
                         double seconds, double ccrPerSecond, Map<Long, Long> byResultCode, Histogram latency,
                         java.util.List<String> problems) {

    public LoadResult {
        problems = problems == null ? java.util.List.of() : java.util.List.copyOf(problems);
    }

    public double percentileMillis(double p) {
        return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(p) / 1000.0;
    }

    /** The figures as a map, for the JSON file. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sent", sent);
        m.put("answered", answered);
        m.put("timeouts", timeouts);
        m.put("errors", errors);
        m.put("started", started);
        m.put("completed", completed);
        m.put("seconds", seconds);
        m.put("ccr_per_second", Math.round(ccrPerSecond));
        Map<String, Long> codes = new LinkedHashMap<>();
        byResultCode.forEach((k, v) -> codes.put(String.valueOf(k), v));
        m.put("answers_by_result_code", codes);
        Map<String, Double> lat = new LinkedHashMap<>();
        lat.put("p50", percentileMillis(50));
        lat.put("p90", percentileMillis(90));
        lat.put("p99", percentileMillis(99));
        lat.put("p99_9", percentileMillis(99.9));
        lat.put("max", latency.getMaxValue() / 1000.0);
        m.put("latency_ms", lat);
        m.put("problems", problems);
        return m;
    }

    /** The closing lines printed by ocs-bench. */
    public String summary() {
        return String.format("ocs-bench: %d sent, %d answered, %d timeouts, %d errors in %.3f s => %.0f CCR/s%n"
                        + "ocs-bench: Result-Codes %s%n"
                        + "ocs-bench: latency ms p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f",
                sent, answered, timeouts, errors, seconds, ccrPerSecond, byResultCode, percentileMillis(50),
                percentileMillis(90), percentileMillis(99), percentileMillis(99.9), latency.getMaxValue() / 1000.0)
                + (problems.isEmpty() ? "" : "\nocs-bench: what went wrong: " + String.join("; ", problems));
    }
}
