-- PostgreSQL only (Flyway location db/postgresql): each balance change in one statement, so one
-- network round trip instead of three or four. The same rules as JdbcBalanceStore's portable
-- statements, which the embedded store runs, and the same contract tests check both:
--  * buckets are locked in id order (no deadlock between nodes), then used in preference order:
--    for a rating group its own buckets before the generic ones; without one, generic first;
--    then the soonest expiry, then the oldest;
--  * usage beyond a reservation is debited from what is still free, never below zero.

CREATE FUNCTION ocs_lock_buckets(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_now TIMESTAMP)
RETURNS TABLE (bucket_id BIGINT, amount BIGINT, reserved BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM bucket b
     WHERE b.subscriber_id = p_subscriber AND b.unit = p_unit
       AND (p_rating_group IS NULL OR b.rating_group = p_rating_group OR b.rating_group IS NULL)
       AND (b.expires_at IS NULL OR b.expires_at > p_now)
     ORDER BY b.id FOR UPDATE;
    RETURN QUERY
    SELECT b.id, b.amount, b.reserved FROM bucket b
     WHERE b.subscriber_id = p_subscriber AND b.unit = p_unit
       AND (p_rating_group IS NULL OR b.rating_group = p_rating_group OR b.rating_group IS NULL)
       AND (b.expires_at IS NULL OR b.expires_at > p_now)
     ORDER BY CASE WHEN (p_rating_group IS NULL) = (b.rating_group IS NULL) THEN 0 ELSE 1 END,
              b.expires_at ASC NULLS LAST, b.id;
END $$;

CREATE FUNCTION ocs_reserve(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_amount BIGINT,
                            p_key VARCHAR, p_expires TIMESTAMP, p_now TIMESTAMP,
                            OUT reserved BIGINT, OUT available BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    b RECORD;
    need BIGINT := p_amount;
    free BIGINT;
    take BIGINT;
BEGIN
    available := 0;
    FOR b IN SELECT * FROM ocs_lock_buckets(p_subscriber, p_unit, p_rating_group, p_now) LOOP
        free := b.amount - b.reserved;
        take := LEAST(free, need);
        IF take > 0 THEN
            UPDATE bucket SET reserved = bucket.reserved + take WHERE id = b.bucket_id;
            INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at)
                VALUES (p_key, b.bucket_id, take, p_expires);
            need := need - take;
        END IF;
        available := available + free - GREATEST(0, take);
    END LOOP;
    reserved := p_amount - need;
END $$;

CREATE FUNCTION ocs_debit_free(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_amount BIGINT,
                               p_now TIMESTAMP)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    b RECORD;
    left_over BIGINT := p_amount;
    d BIGINT;
BEGIN
    FOR b IN SELECT * FROM ocs_lock_buckets(p_subscriber, p_unit, p_rating_group, p_now) LOOP
        d := LEAST(left_over, b.amount - b.reserved);
        IF d > 0 THEN
            UPDATE bucket SET amount = bucket.amount - d WHERE id = b.bucket_id;
            left_over := left_over - d;
        END IF;
    END LOOP;
    RETURN p_amount - left_over;
END $$;

CREATE FUNCTION ocs_settle(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_key VARCHAR,
                           p_used BIGINT, p_now TIMESTAMP)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    h RECORD;
    left_over BIGINT := p_used;
    debited BIGINT := 0;
    d BIGINT;
BEGIN
    FOR h IN SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id
              WHERE r.reservation_key = p_key ORDER BY r.bucket_id FOR UPDATE LOOP
        d := LEAST(left_over, h.amount);
        UPDATE bucket SET amount = amount - d, reserved = reserved - h.amount WHERE id = h.bucket_id;
        left_over := left_over - d;
        debited := debited + d;
    END LOOP;
    DELETE FROM reservation WHERE reservation_key = p_key;
    IF left_over > 0 THEN
        debited := debited + ocs_debit_free(p_subscriber, p_unit, p_rating_group, left_over, p_now);
    END IF;
    RETURN debited;
END $$;

CREATE FUNCTION ocs_release(p_key VARCHAR)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    h RECORD;
BEGIN
    FOR h IN SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id
              WHERE r.reservation_key = p_key ORDER BY r.bucket_id FOR UPDATE LOOP
        UPDATE bucket SET reserved = reserved - h.amount WHERE id = h.bucket_id;
    END LOOP;
    DELETE FROM reservation WHERE reservation_key = p_key;
END $$;
