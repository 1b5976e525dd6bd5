-- Embedded store (H2 only): the last group-commit batch the database holds. Each batch's
-- transaction sets it; at start the node applies the batches of its journal past it
-- (AmountJournal), as H2 writes its pages in the background and the journal is what makes an
-- acknowledged debit durable.
CREATE TABLE journal_applied (
    id    INT PRIMARY KEY,
    batch BIGINT NOT NULL
);
INSERT INTO journal_applied (id, batch) VALUES (1, 0);
