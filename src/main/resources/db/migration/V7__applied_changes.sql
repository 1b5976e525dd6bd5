-- The change keys of the balance changes made within the retransmission window (an hour): a
-- change whose key is here is not made again, its first result is returned (BalanceStore
-- #recordedChange). The key is 128 bits of the SHA-256 of the request's Session-Id,
-- CC-Request-Number and service, in hex. result and result2: what the change returned (debited,
-- or reserved and available).
CREATE TABLE applied_change (
    change_key  CHAR(32)  PRIMARY KEY,
    result      BIGINT    NOT NULL,
    result2     BIGINT    NOT NULL,
    applied_at  TIMESTAMP NOT NULL
);
CREATE INDEX applied_change_by_time ON applied_change (applied_at);
