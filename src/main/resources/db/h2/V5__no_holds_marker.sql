-- Embedded store (H2 only): the node keeps the holds of its sessions in its own memory
-- (MemoryBalances), so nothing reconciles bucket.reserved after an engine start any more and the
-- marker of V3 is unused. The reservation table stays for H2 stores that charge in SQL (tests).
DROP TABLE holds_cleared;
