-- PostgreSQL only: ocs_apply makes each change at most once per change key (applied_change, V7).
-- A key already recorded returns its first results and changes nothing; otherwise the change is
-- made and its key recorded in the same transaction. A twin of the change running at the same
-- time on another node is held by the buckets' row locks, then fails on the key's primary key
-- (unique_violation): that batch is rolled back and its changes run again alone, which finds the
-- key. So a batch run again after a commit whose outcome was unknown, or a retransmission that
-- reached another node, returns the first result and changes nothing. One lookup and one insert
-- per change (a claim before and an update after cost a third of the throughput).
-- Replaces the V5 function: p_change_key is new (NULL: no key).
DROP FUNCTION ocs_apply(INT[], VARCHAR[], VARCHAR[], BIGINT[], BIGINT[], BIGINT[], VARCHAR[], TIMESTAMP[], TIMESTAMP);

CREATE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                          p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                          p_change_key VARCHAR[], p_now TIMESTAMP)
RETURNS TABLE (n INT, a BIGINT, b BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r RECORD;
    earlier RECORD;
BEGIN
    FOR i IN 1 .. COALESCE(array_length(p_kind, 1), 0) LOOP
        n := i;
        b := 0;
        IF p_change_key[i] IS NOT NULL THEN
            SELECT ac.result, ac.result2 INTO earlier FROM applied_change ac WHERE ac.change_key = p_change_key[i];
            IF FOUND THEN
                a := earlier.result;
                b := earlier.result2;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
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
        IF p_change_key[i] IS NOT NULL THEN
            INSERT INTO applied_change (change_key, result, result2, applied_at) VALUES (p_change_key[i], a, b, p_now);
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
