-- One row counting changes to the subscriber table. Nodes remember which identities are
-- provisioned (a lookup per CCR otherwise) and forget it when this number changes; every change
-- of the subscriber table increments it in the same transaction. After editing subscribers with
-- SQL, run: UPDATE provisioning SET generation = generation + 1;
CREATE TABLE provisioning (
    id          INT PRIMARY KEY,
    generation  BIGINT NOT NULL,
    CONSTRAINT provisioning_one_row CHECK (id = 1)
);
INSERT INTO provisioning (id, generation) VALUES (1, 0);
