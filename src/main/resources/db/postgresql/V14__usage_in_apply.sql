-- PostgreSQL only: ocs_apply tells the node what each change settled and whether it made it now,
-- so that the usage records' lines of a whole group commit are written in the same transaction
-- by one batched statement. Before, a change with a usage note (every CCR-U and CCR-T once usage
-- records came) ran as the portable SQL, a dozen round trips, and halved the rate.
-- Replaces the V8 function: c is the usage debited (kinds 2, 4: as a; kind 5: by its settlement;
-- else 0), fresh is false for a change key already recorded (its first results, nothing changed:
-- its line was kept with it then).
DROP FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[], VARCHAR[],
                        TIMESTAMP);

CREATE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                          p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                          p_change_key VARCHAR[], p_now TIMESTAMP)
RETURNS TABLE (n INT, a BIGINT, b BIGINT, c BIGINT, fresh BOOLEAN)
LANGUAGE plpgsql SET lock_timeout = '100ms' AS $$
#variable_conflict use_column
DECLARE
    r RECORD;
    earlier RECORD;
BEGIN
    FOR i IN 1 .. COALESCE(array_length(p_kind, 1), 0) LOOP
        n := i;
        b := 0;
        c := 0;
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
                IF p_kind[i] = 5 THEN
                    c := ocs_settle(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i], p_used[i], p_now);
                END IF;
                SELECT * INTO r FROM ocs_reserve(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i],
                                                 p_key[i], p_expires[i], p_now);
                a := r.reserved;
                b := r.available;
            WHEN 2 THEN
                a := ocs_settle(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i], p_used[i], p_now);
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
