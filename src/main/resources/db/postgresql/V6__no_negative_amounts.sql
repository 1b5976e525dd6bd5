-- A settlement or debit of a negative amount would add to the balance (an overflowed usage report
-- did exactly that). The node refuses such amounts before they reach the store; the functions
-- refuse them too, for any caller: the checked functions keep the old names, so ocs_apply and
-- ocs_settle (which calls ocs_debit_free) go through the check.

ALTER FUNCTION ocs_settle(VARCHAR, VARCHAR, BIGINT, VARCHAR, BIGINT, TIMESTAMP) RENAME TO ocs_settle_unchecked;
ALTER FUNCTION ocs_debit_free(VARCHAR, VARCHAR, BIGINT, BIGINT, TIMESTAMP) RENAME TO ocs_debit_free_unchecked;

CREATE FUNCTION ocs_settle(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_key VARCHAR,
                           p_used BIGINT, p_now TIMESTAMP)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    IF p_used < 0 THEN
        RAISE EXCEPTION 'ocs_settle: usage % is negative', p_used USING ERRCODE = 'check_violation';
    END IF;
    RETURN ocs_settle_unchecked(p_subscriber, p_unit, p_rating_group, p_key, p_used, p_now);
END $$;

CREATE FUNCTION ocs_debit_free(p_subscriber VARCHAR, p_unit VARCHAR, p_rating_group BIGINT, p_amount BIGINT,
                               p_now TIMESTAMP)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    IF p_amount < 0 THEN
        RAISE EXCEPTION 'ocs_debit_free: amount % is negative', p_amount USING ERRCODE = 'check_violation';
    END IF;
    RETURN ocs_debit_free_unchecked(p_subscriber, p_unit, p_rating_group, p_amount, p_now);
END $$;
