-- Where the test-mode channel simulators that took payments are served
-- (a node's own loopback listener, or a "polypay sim" process), so that an
-- operator command such as "polypay reconcile" in test mode downloads the
-- statements from the simulators that hold the trades, not from fresh ones
-- of its own with empty books. One row per URL; the newest start wins.
CREATE TABLE sandbox_hosts (
    url     TEXT PRIMARY KEY,
    started BIGINT NOT NULL
);
