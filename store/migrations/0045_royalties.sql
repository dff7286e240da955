-- Profit sharing (Ping++'s royalty family, issue 21).
--
-- A royalty template splits an order among the levels of its app's tree
-- (level 0 the platform). An order's royalty plan (its royalty_users or
-- template, and its service app) is kept apart from the order and applied
-- when the order is paid: one royalty per recipient, then one negative
-- royalty per recipient for each refund the template's refund_mode
-- unwinds. A royalty settlement groups a payer's unsettled royalties into
-- one royalty transaction per recipient and pays them.
CREATE TABLE royalty_templates (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    royalty_mode    TEXT NOT NULL,
    refund_mode     TEXT NOT NULL,
    allocation_mode TEXT NOT NULL,
    data            TEXT NOT NULL,
    created         BIGINT NOT NULL,
    deleted         BIGINT NOT NULL DEFAULT 0,
    CHECK (royalty_mode IN ('rate', 'fixed')),
    CHECK (refund_mode IN ('no_refund', 'proportional', 'full_refund')),
    CHECK (allocation_mode IN ('receipt_reserved', 'service_reserved'))
);
CREATE INDEX royalty_templates_app ON royalty_templates (app_id, livemode, deleted);

CREATE TABLE order_royalty_plans (
    order_id    TEXT PRIMARY KEY,
    users       TEXT NOT NULL DEFAULT '[]',
    template_id TEXT NOT NULL DEFAULT '',
    service_app TEXT NOT NULL DEFAULT ''
);

CREATE TABLE royalties (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL,
    livemode            INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    status              TEXT NOT NULL,
    method              TEXT NOT NULL DEFAULT '',
    recipient_app       TEXT NOT NULL,
    source_user         TEXT NOT NULL DEFAULT '',
    user_app            TEXT NOT NULL DEFAULT '',
    source_app          TEXT NOT NULL,
    order_id            TEXT NOT NULL,
    source_no           TEXT NOT NULL,
    charge_id           TEXT NOT NULL,
    refund_id           TEXT NOT NULL DEFAULT '',
    level               INTEGER NOT NULL DEFAULT -1,
    royalty_transaction TEXT NOT NULL DEFAULT '',
    royalty_settlement  TEXT NOT NULL DEFAULT '',
    time_settled        BIGINT NOT NULL DEFAULT 0,
    description         TEXT NOT NULL DEFAULT '',
    metadata            TEXT NOT NULL DEFAULT '{}',
    created             BIGINT NOT NULL,
    CHECK (amount <> 0),
    CHECK (status IN ('created', 'waiting', 'succeeded')),
    UNIQUE (order_id, refund_id, recipient_app, source_user)
);
CREATE INDEX royalties_payer ON royalties (app_id, livemode, status);
CREATE INDEX royalties_recipient ON royalties (recipient_app, livemode);
CREATE INDEX royalties_order ON royalties (order_id);
CREATE INDEX royalties_settlement ON royalties (royalty_settlement);

CREATE TABLE royalty_settlements (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    livemode         INTEGER NOT NULL,
    method           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    amount_succeeded BIGINT NOT NULL DEFAULT 0,
    amount_failed    BIGINT NOT NULL DEFAULT 0,
    amount_canceled  BIGINT NOT NULL DEFAULT 0,
    count            INTEGER NOT NULL,
    count_succeeded  INTEGER NOT NULL DEFAULT 0,
    count_failed     INTEGER NOT NULL DEFAULT 0,
    count_canceled   INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    time_finished    BIGINT NOT NULL DEFAULT 0,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created          BIGINT NOT NULL,
    CHECK (amount > 0 AND count > 0)
);
CREATE INDEX royalty_settlements_app ON royalty_settlements (app_id, livemode);

CREATE TABLE royalty_transactions (
    id                  TEXT PRIMARY KEY,
    settlement_id       TEXT NOT NULL,
    app_id              TEXT NOT NULL,
    livemode            INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    status              TEXT NOT NULL,
    recipient_app       TEXT NOT NULL,
    source_user         TEXT NOT NULL DEFAULT '',
    user_app            TEXT NOT NULL DEFAULT '',
    balance_transaction TEXT NOT NULL DEFAULT '',
    failure_msg         TEXT NOT NULL DEFAULT '',
    created             BIGINT NOT NULL,
    CHECK (amount > 0)
);
CREATE INDEX royalty_transactions_settlement ON royalty_transactions (settlement_id);
CREATE INDEX royalty_transactions_app ON royalty_transactions (app_id, livemode);
CREATE INDEX royalty_transactions_recipient ON royalty_transactions (recipient_app, livemode);
