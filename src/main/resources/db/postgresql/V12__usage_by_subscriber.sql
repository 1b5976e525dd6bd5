-- PostgreSQL only: a subscriber's usage records found by index (usage SUBSCRIBER, GET /usage).
-- The embedded store has none (db/migration/V11: it scans the time asked), as its node writes
-- thousands of records a second back into H2, where a random index cost more than the CCRs.
CREATE INDEX usage_part_by_subscriber ON usage_part (subscriber_id, started_at);
