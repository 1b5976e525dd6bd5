-- PostgreSQL only: every statement ocs_apply runs finds its rows by a key, and is now planned
-- without sequential scans (enable_seqscan off while it runs, for everything it calls). A table
-- that a vacuum finds empty is truncated to no pages, and a plan made then reads it sequentially,
-- as the cheapest way to read nothing; each connection keeps its plans, so under load, once the
-- table had filled with dead rows, every lookup read them all until the next analyze. The holds'
-- table did, after each benchmark run and on a new database: 270-1,480 us of PostgreSQL's CPU per
-- CCR against 170-270 since (bench/RESULTS.md). The tables looked up by key also keep their pages,
-- for the statements the node runs outside ocs_apply. Both versions of ocs_apply (V8's, which
-- nodes of a previous version call during a rolling upgrade, and V14's) run this way.
ALTER TABLE reservation SET (vacuum_truncate = false);
ALTER TABLE applied_change SET (vacuum_truncate = false);
ALTER TABLE charging_session SET (vacuum_truncate = false);
ALTER FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[], VARCHAR[],
                         TIMESTAMP) SET enable_seqscan = off;
ALTER FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[], VARCHAR[],
                         TIMESTAMP, VARCHAR[], VARCHAR[], BIGINT[], VARCHAR[]) SET enable_seqscan = off;
