-- PostgreSQL only: a change that finds a row locked elsewhere (a transaction left open in psql,
-- another node) gives up after 100 ms instead of the connection's 5 s, so the other changes of
-- its group commit are not held up: the node runs it again alone, later, until its request's
-- deadline (GroupCommit). Applies while ocs_apply runs, to everything it calls.
ALTER FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[],
                         VARCHAR[], TIMESTAMP) SET lock_timeout = '100ms';
