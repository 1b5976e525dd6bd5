-- PostgreSQL only: ocs_apply takes what a CCR-U does as one change (kind 5: settle the usage
-- against the reservation, then reserve the next grant under the same key), so its rows are
-- locked once and the request waits for one commit. Replaces the V4 function: the usage now has
-- an array of its own (p_used), for kinds 2 and 5.
DROP FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[], TIMESTAMP);

CREATE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                          p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                          p_now TIMESTAMP)
RETURNS TABLE (n INT, a BIGINT, b BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r RECORD;
BEGIN
    FOR i IN 1 .. COALESCE(array_length(p_kind, 1), 0) LOOP
        n := i;
        b := 0;
        CASE p_kind[i]
            WHEN 1, 5 THEN
                IF p_kind[i] = 5 THEN
                    PERFORM ocs_settle(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i], p_used[i], p_now);
                END IF;
                SELECT * INTO r FROM ocs_reserve(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i],
                                                 p_key[i], p_expires[i], p_now);
                a := r.reserved;
                b := r.available;
            WHEN 2 THEN
                a := ocs_settle(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i], p_used[i], p_now);
            WHEN 3 THEN
                PERFORM ocs_release(p_key[i]);
                a := 0;
            WHEN 4 THEN
                a := ocs_debit_free(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i], p_now);
        END CASE;
        RETURN NEXT;
    END LOOP;
END $$;
