-- PostgreSQL only: an ocs_apply of fourteen arguments, beside V8's, that tells the node what each
-- change did and checks what the node assumes of the change's session.
--  * c is the usage debited (kinds 2, 4: as a; kind 5: by its settlement; else 0); fresh is false
--    for a change key already recorded (its first results, nothing changed: its usage line was
--    kept with it then). The node writes the usage records' lines of a whole group commit in the
--    same transaction, in one batched statement. Before, a change with a usage note (every CCR-U
--    and CCR-T once usage records came) ran as the portable SQL, a dozen round trips.
--  * p_session, p_instance, p_known, p_node (NULL: no check): the node holds the session and did
--    not read it for this request; it assumes the store has it saved by that node, that instance,
--    no request after p_known, open. When another node has saved the session since, the change is
--    not made and its row says so (fresh NULL): the node reads the session and decides again. A
--    session not in the store passes, as the node's copy is then the one it continues. This
--    saves a read, a round trip through the group commit, before each session request.
-- The V8 function (ten arguments) stays beside it: nodes of the previous version, sharing the
-- store during a rolling upgrade, go on calling it.

CREATE FUNCTION ocs_apply(p_kind INT[], p_subscriber VARCHAR[], p_unit VARCHAR[], p_rating_group BIGINT[],
                          p_amount BIGINT[], p_used BIGINT[], p_key VARCHAR[], p_expires TIMESTAMP[],
                          p_change_key VARCHAR[], p_now TIMESTAMP, p_session VARCHAR[], p_instance VARCHAR[],
                          p_known BIGINT[], p_node VARCHAR[])
RETURNS TABLE (n INT, a BIGINT, b BIGINT, c BIGINT, fresh BOOLEAN)
LANGUAGE plpgsql SET lock_timeout = '100ms' AS $$
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
