package org.gyocs.store;

import java.util.List;

/** Provisioning: what bin/ocs-admin.sh and the CSV import do to a store. */
public interface SubscriberAdmin {

    List<String> subscribers();

    List<Bucket> buckets(String subscriber);

    /**
     * Adds buckets (creating subscribers) in one transaction.
     *
     * @param replaceSubscribers true: the subscribers named lose their other buckets first (an import)
     */
    void add(List<Bucket> buckets, boolean replaceSubscribers);

    /** Deletes a subscriber with its buckets. @return false when there was none */
    boolean delete(String subscriber);
}
