-- Embedded store (H2 only): when the node that opens this file last started. The usage records a
-- killed node left open are ended when it starts again; they are all of its last run (its sessions
-- lived in its memory), so only the records started since then are looked at, through the index
-- on started_at: a scan of every usage part (90 days of them) took 6 s of a start with 300,000.
-- 1970 for a file of an earlier version: its first start looks at every record, once.
CREATE TABLE node_run (
    id         INT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL
);
INSERT INTO node_run (id, started_at) VALUES (1, TIMESTAMP '1970-01-01 00:00:00');
