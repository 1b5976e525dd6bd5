-- Rating (issue 14): monetary buckets, a plan per subscriber, and the tariffs.
-- Portable SQL: the same migration runs on H2 (embedded store) and PostgreSQL.
ALTER TABLE bucket DROP CONSTRAINT bucket_unit;
ALTER TABLE bucket ADD CONSTRAINT bucket_unit CHECK (unit IN ('octets', 'seconds', 'units', 'money'));

-- NULL: the plan named 'default' applies
ALTER TABLE subscriber ADD COLUMN plan VARCHAR(64);

-- The tariff file as imported, in its order; replaced whole by each import.
CREATE TABLE tariff (
    row_no        INTEGER PRIMARY KEY,
    plan          VARCHAR(64) NOT NULL,
    rating_group  BIGINT,                          -- NULL: every other rating group of the plan
    unit          VARCHAR(8)  NOT NULL,            -- octets | seconds | units
    price         BIGINT NOT NULL,                 -- minor units of currency ...
    per           BIGINT NOT NULL,                 -- ... per this many units
    currency      CHAR(3) NOT NULL,                -- ISO 4217
    from_time     CHAR(5),                         -- HH:MM, NULL: all day
    to_time       CHAR(5),
    CONSTRAINT tariff_amounts CHECK (price >= 0 AND per > 0)
);
