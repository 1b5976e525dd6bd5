package org.gyocs.store;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.gyocs.core.rating.Tariff;

/** Provisioning: what bin/ocs-admin.sh and the CSV imports do to a store. */
public interface SubscriberAdmin {

    List<String> subscribers();

    List<Bucket> buckets(String subscriber);

    /**
     * Adds buckets (creating subscribers) in one transaction.
     *
     * @param replaceSubscribers true: the subscribers named lose their other buckets first (an import)
     */
    default void add(List<Bucket> buckets, boolean replaceSubscribers) {
        add(buckets, Map.of(), replaceSubscribers);
    }

    /**
     * Adds buckets and sets the plans of subscribers (subscriber to plan; a null plan: the default
     * one), in one transaction. A replaced subscriber that {@code plans} does not name keeps its plan.
     */
    void add(List<Bucket> buckets, Map<String, String> plans, boolean replaceSubscribers);

    /**
     * Deletes a subscriber with its buckets.
     *
     * @return false when there was none
     * @throws HeldBySessions when open sessions hold any of its buckets
     */
    boolean delete(String subscriber);

    /**
     * A delete or an import refused: open sessions hold reservations on buckets it would remove,
     * and the usage they report next would go uncharged. The store itself refuses, so that the
     * sessions of every node sharing it count (a node's own check sees only its sessions), and
     * so does ocs-admin run on its own against PostgreSQL.
     */
    final class HeldBySessions extends StoreException {
        private static final long serialVersionUID = 1L;

        HeldBySessions(String message) {
            super(message);
        }
    }

    /** The subscriber's plan; empty when it has none (the plan named default applies) or is not provisioned. */
    Optional<String> plan(String subscriber);

    /** Sets the plan of a provisioned subscriber (null: none). @return false when there is no such subscriber */
    boolean setPlan(String subscriber, String plan);

    /** The tariffs, in the order they were imported. */
    List<Tariff> tariffs();

    /**
     * The usage records of a subscriber (null: everyone's) that started in [since, until), oldest
     * first, at most {@code limit}.
     */
    List<UsageRecords.UsageRecord> usage(String subscriber, java.time.Instant since, java.time.Instant until, int limit);

    /** Replaces every tariff at once (the rows are checked by the caller: TariffCsv, TariffBook.check). */
    void replaceTariffs(List<Tariff> tariffs);
}
