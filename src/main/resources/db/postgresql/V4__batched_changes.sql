-- PostgreSQL only: the balance changes of one group commit in one call, so a batch costs one
-- network round trip (and the commit) whatever its size. Kinds: 1 reserve, 2 settle, 3 release,
-- 4 debit. Returns one row per change, n = its position (1-based): reserve gives (reserved,
-- available); settle and debit give (debited, 0); release gives (0, 0). One failing change fails
-- the call, and the node then runs each change of the batch on its own.
CREATE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                          p_amount BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[], p_now TIMESTAMP)
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
            WHEN 1 THEN
                SELECT * INTO r FROM ocs_reserve(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i],
                                                 p_key[i], p_expires[i], p_now);
                a := r.reserved;
                b := r.available;
            WHEN 2 THEN
                a := ocs_settle(p_subscriber[i], p_unit[i], p_rating_group[i], p_key[i], p_amount[i], p_now);
            WHEN 3 THEN
                PERFORM ocs_release(p_key[i]);
                a := 0;
            WHEN 4 THEN
                a := ocs_debit_free(p_subscriber[i], p_unit[i], p_rating_group[i], p_amount[i], p_now);
        END CASE;
        RETURN NEXT;
    END LOOP;
END $$;
