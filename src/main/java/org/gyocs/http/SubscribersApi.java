package org.gyocs.http;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.gyocs.core.UnitType;
import org.gyocs.core.rating.Tariff;
import org.gyocs.core.rating.TariffCsv;
import org.gyocs.store.Bucket;
import org.gyocs.store.SubscriberAdmin;
import org.gyocs.store.SubscriberCsv;
import org.gyocs.store.UsageRecords;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * /subscribers/{id}: a subscriber's buckets read, replaced, deleted or topped up, while the node
 * charges them. Every body is checked whole before anything changes (the same checks as the CSV
 * import), and each change is one transaction: a refused request changes nothing.
 */
final class SubscribersApi {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** What the API needs of the node: its store's administration and a top-up. */
    interface Store {
        SubscriberAdmin admin();

        /**
         * Adds to the bucket of that unit and rating group (created when missing); the node reads
         * it at once, and sends a RAR for each open session of the subscriber.
         */
        void topUp(String subscriber, UnitType unit, Long ratingGroup, long amount, String idempotencyKey);

        /** The subscriber's buckets were replaced: a RAR for each of its open sessions. */
        void changed(String subscriber);

        /** The subscriber's open credit-control sessions. */
        int openSessions(String subscriber);

        /** Every subscriber with an open credit-control session (one pass over the sessions). */
        java.util.Set<String> subscribersInSession();
    }

    /** A bucket in a request body. */
    record BucketBody(String unit, Long amount, Long ratingGroup, String expires) {
    }

    /**
     * PUT /subscribers/{id}: the subscriber's buckets, all of them, and its plan; without one (or
     * null: Jackson does not tell them apart) the plan stays. PUT /subscribers/{id}/plan sets the default.
     */
    record PutBody(List<BucketBody> buckets, String plan) {
    }

    /** PUT /subscribers/{id}/plan. */
    record PlanBody(String plan) {
    }

    /** POST /subscribers/{id}/topup. */
    record TopUpBody(String unit, Long amount, Long ratingGroup) {
    }

    /** A bucket as GET shows it: free is what a request may still take. */
    record BucketJson(long id, String unit, long amount, long reserved, long free, Long ratingGroup, String expires) {
        static BucketJson of(Bucket b) {
            return new BucketJson(b.id(), Bucket.unitName(b.unit()), b.amount(), b.reserved(), b.amount() - b.reserved(),
                    b.ratingGroup(), b.expires() == null ? null : b.expires().toString());
        }
    }

    /** plan: null when the subscriber has none (the default plan's tariffs apply). */
    record SubscriberJson(String subscriber, String plan, List<BucketJson> buckets) {
    }

    private final Store store;

    SubscribersApi(Store store) {
        this.store = store;
    }

    Object get(String subscriber) {
        List<Bucket> buckets = store.admin().buckets(subscriber);
        if (buckets.isEmpty()) {
            throw new ApiException(404, "subscriber " + subscriber + " has no buckets (unknown, or none provisioned)");
        }
        return view(subscriber, buckets);
    }

    Object put(String subscriber, byte[] body) {
        PutBody put = read(body, PutBody.class);
        if (put.buckets() == null) {
            throw new ApiException(400, "buckets is missing: {\"buckets\": [{\"unit\": \"octets\", \"amount\": 1000000}]}");
        }
        List<Bucket> buckets = new ArrayList<>();
        for (int i = 0; i < put.buckets().size(); i++) {
            BucketBody b = put.buckets().get(i);
            if (b == null) {
                throw new ApiException(400, "buckets[" + i + "] is null");
            }
            buckets.add(checked("buckets[" + i + "]", subscriber, b.unit(), b.amount(), b.ratingGroup(), b.expires()));
        }
        if (buckets.isEmpty()) {
            throw new ApiException(400, "buckets is empty: DELETE /subscribers/" + subscriber + " removes a subscriber");
        }
        refuseWhileOpen(subscriber, "replaced");
        Map<String, String> plans = new java.util.HashMap<>();
        if (put.plan() != null) {
            plans.put(subscriber, plan(put.plan()));
        }
        store.admin().add(buckets, plans, true);
        store.changed(subscriber);
        return view(subscriber, store.admin().buckets(subscriber));
    }

    /** PUT /subscribers/{id}/plan: {"plan": "gold"}, or {"plan": null} for the default plan; seen by new sessions. */
    Object putPlan(String subscriber, byte[] body) {
        PlanBody b = read(body, PlanBody.class);
        if (!store.admin().setPlan(subscriber, b.plan() == null ? null : plan(b.plan()))) {
            throw new ApiException(404, "no subscriber " + subscriber);
        }
        return view(subscriber, store.admin().buckets(subscriber));
    }

    /** At most this many records per GET /usage. */
    static final int MAX_USAGE = 10_000;

    /**
     * GET /usage?subscriber=&since=&until=, or ?day= (every subscriber's records that started that
     * day, UTC: the day's export), with format=csv for CSV; limit (at most 10,000) records, oldest first.
     */
    Object usage(String subscriber, String since, String until, String day, String limit, boolean csv) {
        java.time.Instant from;
        java.time.Instant to;
        int max;
        try {
            if (day != null) {
                if (since != null || until != null) {
                    throw new IllegalArgumentException("day is a whole day: not with since or until");
                }
                from = UsageRecords.time("day", day);
                to = from.plusSeconds(86_400);
            } else {
                if (subscriber == null) {
                    throw new IllegalArgumentException("subscriber is missing (or day=DATE for everyone's records of a day)");
                }
                from = since == null ? java.time.Instant.EPOCH : UsageRecords.time("since", since);
                to = until == null ? java.time.Instant.now().plusSeconds(86_400) : UsageRecords.time("until", until);
            }
            max = limit == null ? MAX_USAGE : Integer.parseInt(limit);
            if (max < 1 || max > MAX_USAGE) {
                throw new IllegalArgumentException("limit must be 1 to " + MAX_USAGE);
            }
        } catch (NumberFormatException e) {
            throw new ApiException(400, "limit must be a number from 1 to " + MAX_USAGE);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        List<UsageRecords.UsageRecord> records = store.admin().usage(subscriber, from, to, max);
        return csv ? UsageRecords.csv(records) : records;
    }

    /** GET /tariffs: the tariff file as imported. */
    String tariffsCsv() {
        return TariffCsv.write(store.admin().tariffs());
    }

    /**
     * POST /subscribers: a subscriber CSV (the format of ocs-admin import, plan column too): the
     * subscribers named get these buckets instead of theirs, in one transaction; a bad row names
     * its line and nothing is imported. It refuses subscribers with open sessions, as PUT and
     * ocs-admin import on a running node do (OpenSessionRule); one that opens a session while the import runs gets a RAR after it.
     * One import at a time: each holds its rows in the node's heap.
     */
    synchronized Object importCsv(byte[] body) {
        SubscriberCsv.Provisioning rows;
        try {
            rows = SubscriberCsv.read(body, "body");
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        // as PUT /subscribers/{id}: no bucket is replaced under an open session's holds
        List<String> named = rows.buckets().stream().map(Bucket::subscriber).distinct().toList();
        String refused = org.gyocs.admin.OpenSessionRule.importRefusal(named, store.subscribersInSession());
        if (refused != null) {
            throw new ApiException(409, refused);
        }
        store.admin().add(rows.buckets(), rows.plans(), true);
        // a session opened while the import ran: its PCEF asks again, from the new buckets
        List<String> opened = org.gyocs.admin.OpenSessionRule.openedDuring(named, store.subscribersInSession());
        opened.forEach(store::changed);
        return Map.of("buckets", rows.buckets().size(), "plans", rows.namedPlans(), "subscribers", named.size(),
                "reauthorized", opened.size());
    }

    /** PUT /tariffs: a whole tariff file (text/csv), checked whole, then every tariff replaced at once. */
    Object putTariffs(byte[] body) {
        List<Tariff> rows;
        try {
            rows = TariffCsv.parse(new String(body, java.nio.charset.StandardCharsets.UTF_8).lines().toList(), "body");
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        store.admin().replaceTariffs(rows);
        return Map.of("tariffs", rows.size(), "plans", rows.stream().map(Tariff::plan).distinct().sorted().toList());
    }

    private static String plan(String plan) {
        try {
            return TariffCsv.plan(plan);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
    }

    Object delete(String subscriber) {
        refuseWhileOpen(subscriber, "deleted");
        if (!store.admin().delete(subscriber)) {
            throw new ApiException(404, "no subscriber " + subscriber);
        }
        return Map.of("deleted", subscriber);
    }

    /** @param idempotencyKey the request's Idempotency-Key: a top-up repeated with it is credited once; or null */
    Object topUp(String subscriber, byte[] body, String idempotencyKey) {
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 200)) {
            throw new ApiException(400, "Idempotency-Key must have 1 to 200 characters");
        }
        TopUpBody t = read(body, TopUpBody.class);
        Bucket b = checked("", subscriber, t.unit(), t.amount(), t.ratingGroup(), null);
        if (b.amount() == 0) {
            throw new ApiException(400, "amount must be at least 1");
        }
        for (Bucket held : store.admin().buckets(subscriber)) {
            if (held.unit() == b.unit() && java.util.Objects.equals(held.ratingGroup(), b.ratingGroup())
                    && held.amount() > Long.MAX_VALUE - b.amount()) {
                throw new ApiException(400, "amount: the bucket holds " + held.amount() + "; adding " + b.amount()
                        + " would pass 2^63-1");
            }
        }
        store.topUp(subscriber, b.unit(), b.ratingGroup(), b.amount(), idempotencyKey);
        return view(subscriber, store.admin().buckets(subscriber));
    }

    /**
     * Replacing or deleting buckets that open sessions hold reservations on would let the usage
     * they then report go uncharged: refused while the subscriber has open sessions (a top-up is
     * fine; so is ending the sessions first, with POST /sessions/{id}/abort).
     */
    private void refuseWhileOpen(String subscriber, String what) {
        String refused = org.gyocs.admin.OpenSessionRule.changeRefusal(subscriber, store.openSessions(subscriber), what,
                "POST /subscribers/" + subscriber + "/topup");
        if (refused != null) {
            throw new ApiException(409, refused);
        }
    }

    private static Bucket checked(String where, String subscriber, String unit, Long amount, Long ratingGroup,
                                  String expires) {
        String prefix = where.isEmpty() ? "" : where + ": ";
        if (amount == null) {
            throw new ApiException(400, prefix + "amount is missing");
        }
        try {
            return SubscriberCsv.bucket(subscriber, unit, amount, ratingGroup, expires);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, prefix + e.getMessage().replace("rating_group", "ratingGroup"));
        }
    }

    private SubscriberJson view(String subscriber, List<Bucket> buckets) {
        return new SubscriberJson(subscriber, store.admin().plan(subscriber).orElse(null),
                buckets.stream().map(BucketJson::of).toList());
    }

    private static <T> T read(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw new ApiException(400, "a JSON body is required");
        }
        try {
            T value = JSON.readValue(body, type);
            if (value == null) {
                throw new ApiException(400, "a JSON object is required, not null");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new ApiException(400, "unknown field '" + e.getPropertyName() + "' (known: "
                    + e.getKnownPropertyIds() + ")");
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "not valid JSON for this request: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ApiException(400, "cannot read the body: " + e.getMessage());
        }
    }

}
