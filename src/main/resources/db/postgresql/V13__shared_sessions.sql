-- PostgreSQL only: credit-control sessions where every node sharing the store finds them, so that
-- any node answers any request of any session (RFC 4006 section 5.7 failover), and the nodes'
-- heartbeats, by which the sessions of a node that is gone are released by another.
-- Times are the database's (now()): the nodes' clocks need not agree.
CREATE TABLE charging_session (
    session_id   VARCHAR(1024) PRIMARY KEY,
    node         VARCHAR(255)  NOT NULL,           -- Origin-Host of the node that answered it last
    last_number  BIGINT        NOT NULL,           -- CC-Request-Number of its last answered request
    closed       BOOLEAN       NOT NULL,           -- ended; kept until expires_at for a retransmission
    expires_at   TIMESTAMPTZ   NOT NULL,           -- 1.5 x Tcc after its last save (saves may skip Tcc/2)
    instance     VARCHAR(64)   NOT NULL,           -- which session of this Session-Id (a client may use one again)
    state        TEXT          NOT NULL            -- SessionState as JSON
);
CREATE INDEX charging_session_by_expiry ON charging_session (expires_at);
CREATE INDEX charging_session_by_node ON charging_session (node) WHERE NOT closed;

CREATE TABLE ocs_node (
    name     VARCHAR(255) PRIMARY KEY,             -- Origin-Host
    seen_at  TIMESTAMPTZ  NOT NULL                 -- its last heartbeat
);
