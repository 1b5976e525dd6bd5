package org.gyocs.gy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

import org.gyocs.core.SubscriptionId;

/**
 * The most recent requests the node received, with what it answered: a bounded ring written by
 * every request without a lock, read by GET /requests. It keeps each request's AVPs as they
 * arrived (the message, nothing of its connection) and decodes them only when read, so recording
 * costs two small objects per request.
 */
public final class RecentRequests {

    /**
     * One request.
     *
     * @param sequence    its place in the ring's history
     * @param timeMillis  when it was answered, or dropped
     * @param peer        the Origin-Host of the connection's CER, else the request's
     * @param sessionId   Session-Id, null when it had none
     * @param requestType CC-Request-Type as received, null when missing
     * @param number      CC-Request-Number, null when missing
     * @param subscribers its Subscription-Ids (empty when it could not be read)
     * @param result      the Result-Code answered, or "dropped" / "disconnected"
     * @param behaviour   the id of the test behaviour that changed it, or null
     * @param avps        its AVPs as they arrived, read when asked for
     */
    public record Entry(long sequence, long timeMillis, String peer, String sessionId, Long requestType, Long number,
                        List<SubscriptionId> subscribers, Object result, String behaviour,
                        Supplier<List<WireAvp>> avps) {

        /** Its AVPs, decoded now. */
        public List<java.util.Map<String, Object>> decodedAvps() {
            return AvpJson.decode(avps.get());
        }

        /** The data of its Subscription-Ids. */
        public List<String> subscriberIds() {
            return subscribers.stream().map(SubscriptionId::data).toList();
        }
    }

    /** A ring that records nothing, where nobody can read it (no HTTP interface). */
    public static final RecentRequests NONE = new RecentRequests(0);

    private final AtomicReferenceArray<Entry> ring;
    private final AtomicLong next = new AtomicLong();

    /** @param size how many requests are kept; 0 keeps none */
    public RecentRequests(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("requests-kept must be 0 or more");
        }
        ring = new AtomicReferenceArray<>(size);
    }

    public boolean enabled() {
        return ring.length() > 0;
    }

    public int size() {
        return ring.length();
    }

    void add(long timeMillis, String peer, String sessionId, Long requestType, Long number,
             List<SubscriptionId> subscribers, Object result, String behaviour, Supplier<List<WireAvp>> avps) {
        long seq = next.getAndIncrement();
        ring.setRelease((int) (seq % ring.length()),
                new Entry(seq, timeMillis, peer, sessionId, requestType, number, subscribers, result, behaviour, avps));
    }

    /**
     * The most recent requests, newest last.
     *
     * @param subscriber only those with this Subscription-Id (null: any)
     * @param sessionId  only those of this session (null: any)
     * @param limit      at most this many
     */
    public List<Entry> recent(String subscriber, String sessionId, int limit) {
        List<Entry> out = new ArrayList<>();
        int size = ring.length();
        if (size == 0) {
            return out;
        }
        long newest = next.get() - 1;
        for (long seq = newest; seq >= 0 && seq > newest - size && out.size() < limit; seq--) {
            Entry e = ring.getAcquire((int) (seq % size));
            if (e == null || e.sequence() != seq) {
                continue; // not written yet, or overwritten by a newer request meanwhile
            }
            if (sessionId != null && !sessionId.equals(e.sessionId())) {
                continue;
            }
            if (subscriber != null && e.subscribers().stream().noneMatch(id -> subscriber.equals(id.data()))) {
                continue;
            }
            out.add(e);
        }
        Collections.reverse(out);
        return out;
    }
}
