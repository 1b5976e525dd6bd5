-- PostgreSQL only: ocs_apply (V14's fourteen arguments, the one this version calls) makes a
-- reservation, a settlement and a CCR-U's settlement with its next reservation in fewer statements,
-- with the same rules and the same results. PostgreSQL spends most of a change's time starting and
-- ending statements, not on the rows they touch (bench/RESULTS.md, issue 15 item 5): a CCR-U ran
-- twelve inside ocs_apply (two of them only calls of functions that ran the others), seven now:
--  * the key's holds are read and locked with their buckets, as ocs_settle did; then the buckets
--    the next grant may come from are locked in id order and read in preference order by one
--    statement (a locking subquery, whose rows are the latest versions), not two;
--  * what the settlement and the reservation do to each bucket is worked out first and written
--    once per bucket, and a hold that stays on its bucket is updated in place, not deleted and
--    inserted again.
-- Usage beyond the holds is settled first and then debited from what is free, as before (the
-- holds written, ocs_debit_free, then the reservation reads the buckets again). Kinds 3 (release)
-- and 4 (debit) call the functions of V3/V6 as before; any other kind is refused (it was: the
-- CASE had no ELSE). V8's ocs_apply (ten arguments), which nodes of a previous version call during
-- a rolling upgrade, is unchanged but for the settlement and release it calls (below).

-- A release, and a settlement as V8's ocs_apply (nodes of the previous version) and ocs_settle make
-- it, delete the holds they locked and counted off their buckets, and only those: they deleted
-- every hold of the key, also one that a CCR-U on another node had added meanwhile (a statement
-- of its own sees what committed before it began), whose bucket then kept it reserved for good.
CREATE OR REPLACE FUNCTION ocs_release(p_key VARCHAR)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    h RECORD;
BEGIN
    FOR h IN SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket b ON b.id = r.bucket_id
              WHERE r.reservation_key = p_key ORDER BY r.bucket_id FOR UPDATE LOOP
        UPDATE bucket SET reserved = reserved - h.amount WHERE id = h.bucket_id;
        DELETE FROM reservation WHERE reservation_key = p_key AND bucket_id = h.bucket_id;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION ocs_settle_unchecked(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT,
                                                p_key VARCHAR, p_used BIGINT, p_now TIMESTAMP)
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
        DELETE FROM reservation WHERE reservation_key = p_key AND bucket_id = h.bucket_id;
        left_over := left_over - d;
        debited := debited + d;
    END LOOP;
    IF left_over > 0 THEN
        debited := debited + ocs_debit_free(p_subscriber, p_unit, p_rating_group, left_over, p_now);
    END IF;
    RETURN debited;
END $$;

-- Writes what one change does to its buckets and to the key's holds on them: per bucket, what
-- leaves the amount, what is added to the reserved (negative: a hold settled), the key's hold on
-- it before and after (0: none).
CREATE FUNCTION ocs_write_holds(p_key VARCHAR, p_expires TIMESTAMP, p_ids BIGINT[], p_taken BIGINT[],
                                p_reserved BIGINT[], p_held BIGINT[], p_holding BIGINT[])
RETURNS INT
LANGUAGE plpgsql AS $$
BEGIN
    FOR j IN 1 .. COALESCE(array_length(p_ids, 1), 0) LOOP
        IF p_taken[j] <> 0 OR p_reserved[j] <> 0 THEN
            UPDATE bucket SET amount = amount - p_taken[j], reserved = reserved + p_reserved[j] WHERE id = p_ids[j];
        END IF;
        IF p_held[j] > 0 AND p_holding[j] > 0 THEN
            UPDATE reservation SET amount = p_holding[j], expires_at = p_expires
             WHERE reservation_key = p_key AND bucket_id = p_ids[j];
        ELSIF p_held[j] > 0 THEN
            DELETE FROM reservation WHERE reservation_key = p_key AND bucket_id = p_ids[j];
        ELSIF p_holding[j] > 0 THEN
            INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at)
                VALUES (p_key, p_ids[j], p_holding[j], p_expires);
        END IF;
    END LOOP;
    RETURN 0;
END $$;

CREATE OR REPLACE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                                     p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                                     p_change_key VARCHAR[], p_now TIMESTAMP, p_session VARCHAR[], p_instance VARCHAR[],
                                     p_known BIGINT[], p_node VARCHAR[])
RETURNS TABLE (n INT, a BIGINT, b BIGINT, c BIGINT, fresh BOOLEAN)
LANGUAGE plpgsql SET lock_timeout = '100ms' SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
    earlier RECORD;
    h RECORD;
    ids BIGINT[];       -- the buckets the change writes, and for each:
    taken BIGINT[];     --   what leaves its amount
    reserving BIGINT[]; --   what is added to its reserved (negative: a hold settled)
    held BIGINT[];      --   the key's hold on it before the change (0: none)
    holding BIGINT[];   --   and after it
    j INT;
    left_over BIGINT;
    need BIGINT;
    free BIGINT;
    take BIGINT;
    d BIGINT;
    done INT;
BEGIN
    FOR i IN 1 .. COALESCE(array_length(p_kind, 1), 0) LOOP
        n := i;
        a := 0;
        b := 0;
        c := 0;
        IF p_session[i] IS NOT NULL THEN
            PERFORM 1 FROM charging_session cs
             WHERE cs.session_id = p_session[i]
               AND (cs.node <> p_node[i] OR cs.instance <> p_instance[i] OR cs.last_number > p_known[i] OR cs.closed);
            IF FOUND THEN
                fresh := NULL; -- moved: nothing made
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        IF p_change_key[i] IS NOT NULL THEN
            SELECT ac.result, ac.result2 INTO earlier FROM applied_change ac WHERE ac.change_key = p_change_key[i];
            IF FOUND THEN
                a := earlier.result;
                b := earlier.result2;
                fresh := FALSE;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        fresh := TRUE;
        IF p_kind[i] IN (1, 2, 5) THEN
            ids := '{}';
            taken := '{}';
            reserving := '{}';
            held := '{}';
            holding := '{}';
            IF p_kind[i] <> 1 THEN
                IF p_used[i] < 0 THEN
                    RAISE EXCEPTION 'ocs_settle: usage % is negative', p_used[i] USING ERRCODE = 'check_violation';
                END IF;
                -- the holds, locked with their buckets in id order (a release meanwhile: gone from here)
                left_over := p_used[i];
                FOR h IN SELECT r.bucket_id, r.amount FROM reservation r JOIN bucket bk ON bk.id = r.bucket_id
                          WHERE r.reservation_key = p_key[i] ORDER BY r.bucket_id FOR UPDATE LOOP
                    d := LEAST(left_over, h.amount);
                    ids := ids || h.bucket_id;
                    taken := taken || d;
                    reserving := reserving || -h.amount;
                    held := held || h.amount;
                    holding := holding || 0::BIGINT;
                    left_over := left_over - d;
                    c := c + d;
                END LOOP;
                IF left_over > 0 THEN -- beyond the holds: settled, then debited from what is free
                    done := ocs_write_holds(p_key[i], p_expires[i], ids, taken, reserving, held, holding);
                    c := c + ocs_debit_free_unchecked(p_subscriber[i], p_unit[i], p_rating_group[i], left_over, p_now);
                    ids := '{}';
                    taken := '{}';
                    reserving := '{}';
                    held := '{}';
                    holding := '{}';
                END IF;
                a := c;
            END IF;
            IF p_kind[i] <> 2 THEN
                -- the buckets it may come from, locked in id order, taken in preference order: for
                -- a rating group its own before the generic ones, then the soonest expiry, the oldest
                need := p_amount[i];
                FOR h IN SELECT s.id, s.amount, s.reserved FROM (
                             SELECT bk.id, bk.amount, bk.reserved, bk.rating_group, bk.expires_at FROM bucket bk
                              WHERE bk.subscriber_id = p_subscriber[i] AND bk.unit = p_unit[i]
                                AND (p_rating_group[i] IS NULL OR bk.rating_group = p_rating_group[i]
                                     OR bk.rating_group IS NULL)
                                AND (bk.expires_at IS NULL OR bk.expires_at > p_now)
                              ORDER BY bk.id FOR UPDATE) s
                          ORDER BY CASE WHEN (p_rating_group[i] IS NULL) = (s.rating_group IS NULL) THEN 0 ELSE 1 END,
                                   s.expires_at ASC NULLS LAST, s.id LOOP
                    j := array_position(ids, h.id);
                    IF j IS NULL THEN
                        ids := ids || h.id;
                        taken := taken || 0::BIGINT;
                        reserving := reserving || 0::BIGINT;
                        held := held || 0::BIGINT;
                        holding := holding || 0::BIGINT;
                        j := array_length(ids, 1);
                    END IF;
                    free := (h.amount - taken[j]) - (h.reserved + reserving[j]);
                    take := LEAST(free, need);
                    IF take > 0 THEN
                        reserving[j] := reserving[j] + take;
                        holding[j] := take;
                        need := need - take;
                    END IF;
                    b := b + free - GREATEST(0, take);
                END LOOP;
                a := p_amount[i] - need;
            END IF;
            done := ocs_write_holds(p_key[i], p_expires[i], ids, taken, reserving, held, holding);
        ELSIF p_kind[i] = 3 THEN
            PERFORM ocs_release(p_key[i]);
        ELSIF p_kind[i] = 4 THEN
            a := ocs_debit_free(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i], p_now);
            c := a;
        ELSE
            RAISE EXCEPTION 'ocs_apply: no change of kind %', p_kind[i] USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF p_change_key[i] IS NOT NULL THEN
            INSERT INTO applied_change (change_key, result, result2, applied_at) VALUES (p_change_key[i], a, b, p_now);
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
ALTER FUNCTION ocs_write_holds(VARCHAR, TIMESTAMP, BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[]) SET enable_seqscan = off;
