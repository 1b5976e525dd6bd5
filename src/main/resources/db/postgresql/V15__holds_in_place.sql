-- PostgreSQL only: a reservation, a settlement, or both (a CCR-U) in one function that locks the
-- subscriber's buckets once, works out every bucket's new amount and every hold in PL/pgSQL
-- variables, and writes each row once: a hold that stays (a CCR-U re-reserving from the bucket it
-- settled) is one UPDATE, not a DELETE and an INSERT with its foreign key's check. A CCR-U ran
-- eight statements (the holds' lock, a bucket update, a delete; the buckets locked, read again,
-- updated again, the hold inserted, its key checked); it now runs four (the buckets' lock, their
-- read with the holds, a bucket update, the hold's update). Measured with bench/apply-postgres.sh:
-- 15 % less of PostgreSQL's time per change in ocs_apply (RESULTS.md).
-- The rules are V3's and SqlRules' (the contract tests check all stores alike):
--  * buckets are locked in id order; settled in id order against the key's holds, then what is
--    left debited from what is free, and reserved, in preference order (for a rating group its own
--    buckets before the generic ones; without one, generic first; then the soonest expiry, then
--    the oldest), among the buckets of the unit that serve the rating group and have not expired;
--  * a hold's bucket is settled even when it has expired since;
--  * a reservation under a key that still holds (no settlement) adds to its holds, as the
--    embedded store does.
-- ocs_apply keeps its V14 signature and results; kinds 1, 2 and 5 now come here. The V3 functions
-- stay for the V8 ocs_apply, which nodes of a previous version call during a rolling upgrade.

-- Every statement ocs_apply runs finds its rows by a key, and is planned without sequential
-- scans (enable_seqscan off, set on ocs_apply below). A table that a vacuum found empty is
-- truncated to no pages, and a plan made then reads it sequentially, for nothing; each connection
-- keeps its plans, so under load, once the table has filled with dead rows, every lookup read
-- them all until the next analyze: reservation's lookups did, after each benchmark run and on a
-- new database (up to 1,500 us of PostgreSQL's CPU per CCR instead of 200). The tables keep their
-- pages too, for the statements the node runs outside ocs_apply.
ALTER TABLE reservation SET (vacuum_truncate = false);
ALTER TABLE applied_change SET (vacuum_truncate = false);
ALTER TABLE charging_session SET (vacuum_truncate = false);

CREATE FUNCTION ocs_hold(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_key VARCHAR,
                         p_used BIGINT, p_amount BIGINT, p_expires TIMESTAMP, p_now TIMESTAMP,
                         OUT reserved BIGINT, OUT available BIGINT, OUT debited BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    -- per bucket, in id order (the lock order)
    ids BIGINT[] := '{}';
    amounts BIGINT[] := '{}';
    reserveds BIGINT[] := '{}';
    amounts0 BIGINT[] := '{}';  -- as read
    reserveds0 BIGINT[] := '{}';
    held BIGINT[] := '{}';      -- the key's hold before
    holds BIGINT[] := '{}';     -- the key's hold after
    usable BOOLEAN[] := '{}';   -- may be debited free and reserved from
    later BOOLEAN[] := '{}';    -- not of the rating group asked for (generic, or the other way)
    expiry TIMESTAMP[] := '{}';
    by_preference INT[] := '{}'; -- indexes into the arrays above, in preference order
    changed BOOLEAN := FALSE;
    rec RECORD;
    k INT;
    n INT := 0;
    left_over BIGINT;
    need BIGINT;
    free BIGINT;
    d BIGINT;
BEGIN
    IF p_used < 0 THEN
        RAISE EXCEPTION 'ocs_hold: usage % is negative', p_used USING ERRCODE = 'check_violation';
    END IF;
    reserved := 0;
    available := 0;
    debited := 0;
    -- The subscriber's buckets locked first, then read with the key's holds by another statement:
    -- a statement sees the rows it does not lock as they were when it began, so one reading the
    -- holds while it waited for a bucket's lock would still see a hold released by the transaction
    -- it waited for (another node's sweep), and release it a second time.
    PERFORM 1 FROM bucket b WHERE b.subscriber_id = p_subscriber ORDER BY b.id FOR UPDATE;
    FOR rec IN
        SELECT b.id, b.amount, b.reserved, b.expires_at, COALESCE(r.amount, 0) AS held,
               b.unit = p_unit
                 AND (p_rating_group IS NULL OR b.rating_group = p_rating_group OR b.rating_group IS NULL)
                 AND (b.expires_at IS NULL OR b.expires_at > p_now) AS usable,
               (p_rating_group IS NULL) <> (b.rating_group IS NULL) AS generic_later
          FROM bucket b
          LEFT JOIN reservation r ON r.reservation_key = p_key AND r.bucket_id = b.id
         WHERE b.subscriber_id = p_subscriber
           AND (r.bucket_id IS NOT NULL
                OR (b.unit = p_unit
                    AND (p_rating_group IS NULL OR b.rating_group = p_rating_group OR b.rating_group IS NULL)
                    AND (b.expires_at IS NULL OR b.expires_at > p_now)))
         ORDER BY b.id
    LOOP
        n := n + 1;
        ids[n] := rec.id;
        amounts[n] := rec.amount;
        reserveds[n] := rec.reserved;
        amounts0[n] := rec.amount;
        reserveds0[n] := rec.reserved;
        held[n] := rec.held;
        holds[n] := rec.held;
        usable[n] := rec.usable;
        later[n] := rec.generic_later;
        expiry[n] := rec.expires_at;
        -- insertion into the preference order (a bucket or two; ids come in ascending order)
        k := n;
        WHILE k > 1 AND (later[by_preference[k - 1]] > rec.generic_later
                         OR (later[by_preference[k - 1]] = rec.generic_later
                             AND COALESCE(expiry[by_preference[k - 1]] > rec.expires_at,
                                          expiry[by_preference[k - 1]] IS NULL AND rec.expires_at IS NOT NULL))) LOOP
            by_preference[k] := by_preference[k - 1];
            k := k - 1;
        END LOOP;
        by_preference[k] := n;
    END LOOP;

    IF p_used IS NOT NULL THEN
        -- 1. the usage against the key's holds, in id order; the holds are released
        left_over := p_used;
        FOR k IN 1 .. n LOOP
            IF held[k] > 0 THEN
                d := LEAST(left_over, held[k]);
                amounts[k] := amounts[k] - d;
                reserveds[k] := reserveds[k] - held[k];
                holds[k] := 0;
                left_over := left_over - d;
                debited := debited + d;
                changed := TRUE;
            END IF;
        END LOOP;
        -- 2. usage beyond them from what is free, never below zero
        FOR k IN 1 .. n LOOP
            EXIT WHEN left_over = 0;
            IF usable[by_preference[k]] THEN
                d := LEAST(left_over, amounts[by_preference[k]] - reserveds[by_preference[k]]);
                IF d > 0 THEN
                    amounts[by_preference[k]] := amounts[by_preference[k]] - d;
                    left_over := left_over - d;
                    debited := debited + d;
                    changed := TRUE;
                END IF;
            END IF;
        END LOOP;
    END IF;

    IF p_amount IS NOT NULL THEN
        need := p_amount;
        FOR k IN 1 .. n LOOP
            IF usable[by_preference[k]] THEN
                free := amounts[by_preference[k]] - reserveds[by_preference[k]];
                d := LEAST(free, need);
                IF d > 0 THEN
                    reserveds[by_preference[k]] := reserveds[by_preference[k]] + d;
                    holds[by_preference[k]] := holds[by_preference[k]] + d;
                    need := need - d;
                    changed := TRUE;
                END IF;
                available := available + free - GREATEST(0, d);
            END IF;
        END LOOP;
        reserved := p_amount - need;
    END IF;

    IF NOT changed THEN
        RETURN;
    END IF;
    -- Row by row: a bucket or two. One statement over unnest() of them all was planned anew at
    -- every call (its plan for the arrays' actual length always beat the generic one) and cost
    -- more than the statements it saved.
    FOR k IN 1 .. n LOOP
        IF amounts[k] <> amounts0[k] OR reserveds[k] <> reserveds0[k] THEN
            UPDATE bucket SET amount = amounts[k], reserved = reserveds[k] WHERE id = ids[k];
        END IF;
        IF held[k] > 0 AND holds[k] = 0 THEN
            DELETE FROM reservation WHERE reservation_key = p_key AND bucket_id = ids[k];
        ELSIF held[k] > 0 AND holds[k] > 0 THEN -- in place: no row deleted and inserted again
            UPDATE reservation SET amount = holds[k], expires_at = p_expires
             WHERE reservation_key = p_key AND bucket_id = ids[k];
        ELSIF holds[k] > 0 THEN
            INSERT INTO reservation (reservation_key, bucket_id, amount, expires_at) VALUES (p_key, ids[k], holds[k], p_expires);
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                                     p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                                     p_change_key VARCHAR[], p_now TIMESTAMP, p_session VARCHAR[], p_instance VARCHAR[],
                                     p_known BIGINT[], p_node VARCHAR[])
RETURNS TABLE (n INT, a BIGINT, b BIGINT, c BIGINT, fresh BOOLEAN)
LANGUAGE plpgsql SET lock_timeout = '100ms' SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
    r RECORD;
    earlier RECORD;
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
        CASE p_kind[i]
            WHEN 1, 5 THEN
                SELECT * INTO r FROM ocs_hold(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i],
                                              CASE WHEN p_kind[i] = 5 THEN COALESCE(p_used[i], 0) END, p_amount[i],
                                              p_expires[i], p_now);
                a := r.reserved;
                b := r.available;
                c := r.debited;
            WHEN 2 THEN
                SELECT * INTO r FROM ocs_hold(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i],
                                              COALESCE(p_used[i], 0), NULL, NULL, p_now);
                a := r.debited;
                c := a;
            WHEN 3 THEN
                PERFORM ocs_release(p_key[i]);
                a := 0;
            WHEN 4 THEN
                a := ocs_debit_free(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i], p_now);
                c := a;
        END CASE;
        IF p_change_key[i] IS NOT NULL THEN
            INSERT INTO applied_change (change_key, result, result2, applied_at) VALUES (p_change_key[i], a, b, p_now);
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
