-- One schema for both stores: only types and syntax that SQLite and
-- PostgreSQL read the same way (TEXT, BIGINT, INTEGER flags, ids made in Go).
CREATE TABLE apps (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    created            BIGINT NOT NULL,
    request_public_key TEXT NOT NULL DEFAULT ''
);

CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    created  BIGINT NOT NULL
);

-- Channel credentials per app and mode, sealed with the master key.
CREATE TABLE channel_configs (
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    family   TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    sealed   TEXT NOT NULL,
    created  BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, family)
);
CREATE INDEX channel_configs_merchant ON channel_configs (family, merchant_id);

-- Gateway-wide secrets (webhook signing key, simulator keys), sealed.
CREATE TABLE secrets (
    name    TEXT PRIMARY KEY,
    sealed  TEXT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE charges (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps(id),
    livemode        INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    order_no        TEXT NOT NULL,
    client_ip       TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    amount_settle   BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    description     TEXT NOT NULL,
    extra           TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    status          TEXT NOT NULL,
    created         BIGINT NOT NULL,
    time_paid       BIGINT NOT NULL DEFAULT 0,
    time_expire     BIGINT NOT NULL,
    transaction_no  TEXT NOT NULL DEFAULT '',
    amount_refunded BIGINT NOT NULL DEFAULT 0,
    -- pending + succeeded refunds: the bound that keeps refunds under the paid amount
    amount_reserved BIGINT NOT NULL DEFAULT 0,
    refunded        INTEGER NOT NULL DEFAULT 0,
    failure_code    TEXT NOT NULL DEFAULT '',
    failure_msg     TEXT NOT NULL DEFAULT '',
    credential      TEXT NOT NULL DEFAULT '',
    params_hash     TEXT NOT NULL,
    -- unix seconds when the poller next asks the channel about this charge
    next_check      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (app_id, livemode, order_no)
);
CREATE INDEX charges_list ON charges (app_id, livemode, id);
CREATE INDEX charges_pending ON charges (status, next_check);

CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps(id),
    livemode       INTEGER NOT NULL,
    charge_id      TEXT NOT NULL REFERENCES charges(id),
    order_no       TEXT NOT NULL UNIQUE,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL,
    created        BIGINT NOT NULL,
    time_succeed   BIGINT NOT NULL DEFAULT 0,
    description    TEXT NOT NULL,
    failure_code   TEXT NOT NULL DEFAULT '',
    failure_msg    TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL,
    extra          TEXT NOT NULL,
    transaction_no TEXT NOT NULL DEFAULT '',
    funding_source TEXT NOT NULL DEFAULT '',
    next_check     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX refunds_charge ON refunds (charge_id, id);
CREATE INDEX refunds_pending ON refunds (status, next_check);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    type       TEXT NOT NULL,
    created    BIGINT NOT NULL,
    object     TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_app ON events (app_id, livemode, id);

CREATE TABLE webhook_endpoints (
    id       TEXT PRIMARY KEY,
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    url      TEXT NOT NULL,
    created  BIGINT NOT NULL,
    deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, livemode);

-- The outbox: one row per event and endpoint, written with the state change.
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events(id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_at);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE delivery_attempts (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    at          BIGINT NOT NULL,
    status_code INTEGER NOT NULL,
    latency_ms  BIGINT NOT NULL,
    error       TEXT NOT NULL,
    response    TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, at);

CREATE TABLE idempotency_keys (
    app_id       TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created      BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, idem_key)
);

-- Double-entry ledger: amount > 0 debits the account, < 0 credits it; the
-- entries of one txn_id sum to zero.
CREATE TABLE ledger_entries (
    id       TEXT PRIMARY KEY,
    txn_id   TEXT NOT NULL,
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    account  TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    ref_type TEXT NOT NULL,
    ref_id   TEXT NOT NULL,
    created  BIGINT NOT NULL
);
CREATE INDEX ledger_txn ON ledger_entries (txn_id);
CREATE INDEX ledger_ref ON ledger_entries (ref_type, ref_id);

-- Every channel notification received, accepted or not: the audit trail for
-- forged, tampered, foreign and replayed ones.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    received    BIGINT NOT NULL,
    app_id      TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    notify_id   TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX notifications_object ON notifications (object_id);
