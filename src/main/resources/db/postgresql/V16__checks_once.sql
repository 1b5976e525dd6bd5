-- PostgreSQL only: the bucket's rules and the holds' tie to their bucket, kept, at a cost paid
-- where a value is written instead of at every statement. PostgreSQL reads a table's CHECK
-- constraints back from their stored text and prepares them at each statement that updates or
-- inserts a row of it, and an INSERT into a table with a foreign key runs a query of its own to
-- check the key: for a charged CCR about a dozen statements inside ocs_apply, two or three of them
-- updates of bucket and one an INSERT into reservation. bench/apply-postgres.sh: 88-90 us per
-- change before, 75-77 after (bench/RESULTS.md).
--  * A bucket's unit is checked by a trigger on the rows that write it (INSERT, or an UPDATE
--    that sets unit), not at every UPDATE of an amount. Still refused, with the same SQLSTATE
--    (23514 check_violation): any unit but these four. A trigger, not a domain as the column's
--    type: changing the type rewrites the table under an exclusive lock (0.33 s per 100,000
--    buckets here), and every node's changes would wait for it during a rolling upgrade.
--  * bucket_amount (amount >= 0) goes: bucket_reserved (0 <= reserved <= amount) implies it.
--  * reservation's foreign key to bucket goes. A hold is only ever inserted by a statement that
--    locked its bucket in the same transaction (ocs_lock_buckets, SqlRules.lockBuckets), so its
--    bucket exists; what the key did besides, removing a deleted bucket's holds (ON DELETE
--    CASCADE: a subscriber deleted or replaced by an import, and its buckets with it), a trigger
--    now does, once per statement.
-- Nodes charge on this store while a newer one migrates it (a rolling upgrade), and each of their
-- changes waits 100 ms at most for a lock: rather than hold every node's changes up behind a
-- long transaction on bucket, the migration gives up after 5 s and the node that runs it does
-- not start (started again, it tries again).
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION ocs_check_unit() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.unit NOT IN ('octets', 'seconds', 'units', 'money') THEN
        RAISE EXCEPTION 'bucket: unit % is not octets, seconds, units or money', NEW.unit
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bucket_unit BEFORE INSERT OR UPDATE OF unit ON bucket
    FOR EACH ROW EXECUTE FUNCTION ocs_check_unit();
ALTER TABLE bucket DROP CONSTRAINT bucket_unit;
ALTER TABLE bucket DROP CONSTRAINT bucket_amount;

CREATE FUNCTION ocs_holds_of_deleted_buckets() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reservation r USING gone g WHERE r.bucket_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER bucket_holds_go_with_it AFTER DELETE ON bucket REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ocs_holds_of_deleted_buckets();
-- TRUNCATE fires no DELETE trigger: a bucket table emptied by hand empties the holds too (the
-- foreign key refused TRUNCATE bucket without CASCADE, and with it emptied reservation)
CREATE FUNCTION ocs_holds_of_truncated_buckets() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reservation;
    RETURN NULL;
END $$;
CREATE TRIGGER bucket_truncated_holds_go AFTER TRUNCATE ON bucket
    FOR EACH STATEMENT EXECUTE FUNCTION ocs_holds_of_truncated_buckets();
ALTER TABLE reservation DROP CONSTRAINT reservation_bucket_id_fkey;
