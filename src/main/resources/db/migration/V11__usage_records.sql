-- Rated usage records (issue 14): one per session or balance-changing event. Append-only, so that
-- the embedded node writes a second's worth in a few batched statements: a record's head once,
-- its lines as they are kept (the record's line per rating group and unit is their sum), its end
-- once. Each line is kept in the same commit as the debit it describes.
-- Portable SQL: H2 and PostgreSQL.
CREATE TABLE usage_record (
    record_id         VARCHAR(40) PRIMARY KEY,
    kind              VARCHAR(8) NOT NULL,            -- session | event | refund
    subscriber_id     VARCHAR(64) NOT NULL,           -- no reference: a record outlives its subscriber
    session_id        VARCHAR(1024) NOT NULL,
    peer              VARCHAR(255),
    started_at        TIMESTAMP NOT NULL
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
    kept_at       TIMESTAMP NOT NULL
);
CREATE INDEX usage_line_by_record ON usage_line (record_id);

CREATE TABLE usage_end (
    record_id         VARCHAR(40) PRIMARY KEY REFERENCES usage_record(record_id) ON DELETE CASCADE,
    ended_at          TIMESTAMP NOT NULL,
    result_code       BIGINT,
    termination_cause VARCHAR(40)
);
CREATE INDEX usage_end_by_time ON usage_end (ended_at);
