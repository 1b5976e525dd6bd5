-- Embedded store (H2 only): the records a killed node left open are found among the usage parts
-- kept since its last start, by row id (parts are only ever appended, and H2 numbers the rows of a
-- table without a primary key in order), not by started_at: a clock set back since, which V14
-- allowed for with a day's margin, does not matter, and a restart after a day of traffic no longer
-- reads that whole day (7 s of a start with 200,000 records). 0 for a file of an earlier version:
-- its first start looks at every record, once.
ALTER TABLE node_run ADD COLUMN last_part BIGINT DEFAULT 0 NOT NULL;
ALTER TABLE node_run DROP COLUMN started_at;
