-- Embedded store (H2 only): reservations live in memory, not in the file.
--
-- A reservation is a hold for an open credit-control session, and the embedded store serves one
-- node whose sessions live in its memory: after a crash or restart those sessions are gone, and
-- their holds must go with them. Kept in the file, the reservation table was most of what each
-- commit wrote (H2 rewrites every B-tree page a transaction touches: the row, its primary key,
-- its expiry index, for every reservation made, renewed or settled), and held the node to about
-- half the reference's rate with 100,000 subscribers. NOT PERSISTENT keeps the table in the
-- database's memory, still transactional and shared by every connection (ocs-admin over the
-- auto-server too), and never written to disk. bucket.reserved (the sum of a bucket's holds, kept
-- in the same transactions) is made the sum of the holds again after the database engine starts
-- (JdbcBalanceStore), so the holds of a node that died are released when it starts again.
DROP TABLE reservation;
CREATE MEMORY TABLE reservation (
    reservation_key VARCHAR(512) NOT NULL,         -- Session-Id | service
    bucket_id       BIGINT NOT NULL REFERENCES bucket(id) ON DELETE CASCADE,
    amount          BIGINT NOT NULL,
    expires_at      TIMESTAMP NOT NULL,            -- Tcc: released after this
    PRIMARY KEY (reservation_key, bucket_id)
) NOT PERSISTENT;
CREATE INDEX reservation_by_expiry ON reservation (expires_at);
CREATE INDEX reservation_by_bucket ON reservation (bucket_id);
UPDATE bucket SET reserved = 0 WHERE reserved <> 0;

-- One row once bucket.reserved has been reconciled since the database engine started: the store
-- that inserts it reconciles; any other (ocs-admin over the auto-server) finds it there and
-- leaves the live holds alone.
CREATE MEMORY TABLE holds_cleared (id INT PRIMARY KEY) NOT PERSISTENT;
