-- Rated usage records (issue 14): one per session or balance-changing event, kept as parts, each
-- in the same commit as the debits it describes: a part holds the record's head (repeated: no
-- second table to look up), the units and cost on one rating group and unit since the last part,
-- and the end when it came. A record is the sum of its parts (UsageRecords.find).
-- Why one table with one index on the start time: on the embedded store the node writes a
-- second's parts back at once; every index with a random key (subscriber, record id) dirtied a
-- page per record, and writing those pages cost more than the rest of a CCR (bench/RESULTS.md).
-- Rows arrive in about the order of started_at: appended at the end of this index.
-- Portable SQL: H2 and PostgreSQL (which adds an index by subscriber: db/postgresql/V12).
CREATE TABLE usage_part (
    record_id         VARCHAR(40) NOT NULL,
    kind              VARCHAR(8) NOT NULL,            -- session | event | refund
    subscriber_id     VARCHAR(64) NOT NULL,           -- no reference: a record outlives its subscriber
    session_id        VARCHAR(1024) NOT NULL,
    peer              VARCHAR(255),
    started_at        TIMESTAMP NOT NULL,
    rating_group      BIGINT,                         -- -1: the request named none; NULL: no usage in this part
    unit              VARCHAR(8),                     -- octets | seconds | units | money
    units             BIGINT NOT NULL,
    cost              BIGINT NOT NULL,                -- minor units of currency
    currency          CHAR(3),                        -- NULL: not priced
    kept_at           TIMESTAMP NOT NULL,             -- when its last change was made
    ended_at          TIMESTAMP,                      -- the record's end, on the part that brought it
    result_code       BIGINT,
    termination_cause VARCHAR(40)
);
CREATE INDEX usage_part_by_start ON usage_part (started_at);
