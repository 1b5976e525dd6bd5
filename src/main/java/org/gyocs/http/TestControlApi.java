package org.gyocs.http;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.gyocs.behaviour.Behaviour;
import org.gyocs.behaviour.BehaviourJson;
import org.gyocs.behaviour.Behaviours;
import org.gyocs.core.RequestType;
import org.gyocs.gy.RecentRequests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Test control over HTTP: the behaviours (/behaviours) and the record of recent requests
 * (/requests). A bad rule is refused 400 naming its field; nothing is half added.
 */
final class TestControlApi {
    /** GET /requests answers this many when no limit is given. */
    static final int DEFAULT_LIMIT = 100;

    /** What the API works on. */
    interface Control {
        /** Whether behaviours may be added (test-control=true). */
        boolean testControlOn();

        Behaviours behaviours();

        RecentRequests recentRequests();
    }

    private final Control control;
    private final ObjectMapper json;

    TestControlApi(Control control, ObjectMapper json) {
        this.control = control;
        this.json = json;
    }

    List<Map<String, Object>> list() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Behaviours.Rule r : control.behaviours().list()) {
            out.add(BehaviourJson.write(r.behaviour(), r.hits()));
        }
        return out;
    }

    Map<String, Object> get(String id) {
        Behaviours.Rule r = control.behaviours().find(id)
                .orElseThrow(() -> new ApiException(404, "no behaviour " + id));
        return BehaviourJson.write(r.behaviour(), r.hits());
    }

    /** POST /behaviours: one rule (or an array of rules, all or none). */
    Object create(byte[] body) {
        if (!control.testControlOn()) {
            throw new ApiException(403, "test control is off on this node (test-control=false)");
        }
        JsonNode n;
        try {
            n = json.readTree(body);
        } catch (IOException e) {
            throw new ApiException(400, "the body is not JSON: " + e.getMessage());
        }
        if (n != null && n.isArray()) {
            List<Behaviour> rules = new ArrayList<>();
            for (int i = 0; i < n.size(); i++) {
                try {
                    rules.add(BehaviourJson.read(n.get(i)));
                } catch (IllegalArgumentException e) {
                    throw new ApiException(400, "behaviour " + (i + 1) + ": " + e.getMessage());
                }
            }
            try {
                return control.behaviours().addAll(rules).stream()
                        .map(r -> BehaviourJson.write(r.behaviour(), r.hits())).toList();
            } catch (Behaviours.IdTaken e) {
                throw new ApiException(409, e.getMessage());
            }
        }
        try {
            Behaviours.Rule r = control.behaviours().add(BehaviourJson.read(n));
            return BehaviourJson.write(r.behaviour(), r.hits());
        } catch (Behaviours.IdTaken e) {
            throw new ApiException(409, e.getMessage());
        }
    }

    Map<String, Object> delete(String id) {
        if (!control.behaviours().remove(id)) {
            throw new ApiException(404, "no behaviour " + id);
        }
        return Map.of("deleted", id);
    }

    Map<String, Object> deleteAll() {
        return Map.of("deleted", control.behaviours().clear());
    }

    /** GET /requests: the most recent requests, newest last. */
    List<Map<String, Object>> requests(String subscriber, String session, String limit) {
        RecentRequests recent = control.recentRequests();
        if (!recent.enabled()) {
            throw new ApiException(404, "no requests are kept (requests-kept is 0, or the node is stopping)");
        }
        int n = DEFAULT_LIMIT;
        if (limit != null) {
            try {
                n = Integer.parseInt(limit);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1) {
                throw new ApiException(400, "limit: a number of requests from 1 to " + recent.size());
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (RecentRequests.Entry e : recent.recent(blankToNull(subscriber), blankToNull(session), Math.min(n, recent.size()))) {
            out.add(entry(e));
        }
        return out;
    }

    private static Map<String, Object> entry(RecentRequests.Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", Instant.ofEpochMilli(e.timeMillis()).toString());
        m.put("peer", e.peer());
        m.put("sessionId", e.sessionId());
        RequestType t = e.requestType() == null ? null : RequestType.fromCode(e.requestType());
        m.put("request", t == null ? e.requestType() : t == RequestType.TERMINATION ? "TERMINATE" : t.name());
        m.put("number", e.number());
        m.put("subscribers", e.subscriberIds());
        m.put("resultCode", e.result());
        m.put("behaviour", e.behaviour());
        m.put("avps", e.decodedAvps());
        return m;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
