-- Rated usage records (issue 14): one per session or balance-changing event; its lines are kept
-- in the same commit as the debits they describe. Portable SQL: H2 and PostgreSQL.
CREATE TABLE usage_record (
    record_id         VARCHAR(40) PRIMARY KEY,
    kind              VARCHAR(8) NOT NULL,            -- session | event | refund
    subscriber_id     VARCHAR(64) NOT NULL,           -- no reference: a record outlives its subscriber
    session_id        VARCHAR(1024) NOT NULL,
    peer              VARCHAR(255),
    started_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,             -- the last line or end kept
    ended_at          TIMESTAMP,                      -- NULL while the session is open
    result_code       BIGINT,
    termination_cause VARCHAR(40)
);
CREATE INDEX usage_by_subscriber ON usage_record (subscriber_id, started_at);
CREATE INDEX usage_by_start ON usage_record (started_at);

CREATE TABLE usage_line (
    record_id     VARCHAR(40) NOT NULL REFERENCES usage_record(record_id) ON DELETE CASCADE,
    rating_group  BIGINT NOT NULL,                    -- -1: the request named none
    unit          VARCHAR(8) NOT NULL,                -- octets | seconds | units | money
    units         BIGINT NOT NULL,
    cost          BIGINT NOT NULL,                    -- minor units of currency
    currency      CHAR(3),                            -- NULL: not priced
    PRIMARY KEY (record_id, rating_group, unit)
);
