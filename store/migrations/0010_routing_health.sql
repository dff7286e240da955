-- Routing between an app's accounts of one channel family, per mode
-- (core.RouteSettings as JSON: accounts with priority and weight).
CREATE TABLE channel_routes (
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    family   TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated  BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, family)
);

-- SLA figures per channel account and UTC day, from probes and real
-- traffic: request counts per latency bucket (bucket -1: refused by an
-- open circuit breaker, never sent). Nodes add their counts, so the
-- figures survive restarts and cover every node.
CREATE TABLE channel_sla (
    day      TEXT NOT NULL,
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    account  TEXT NOT NULL,
    source   TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    ok       BIGINT NOT NULL DEFAULT 0,
    failed   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, app_id, livemode, account, source, bucket)
);
