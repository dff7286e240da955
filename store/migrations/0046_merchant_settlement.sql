-- Fees and settlement of sub-merchants (issue 21). A sub-app's fee
-- schedule is set by its parent, who collects the fees: per channel (or
-- "*"), a percentage in basis points plus a fixed part, with a minimum.
-- Settlement terms: T+N days, a rolling reserve (holdback_bp of the last
-- holdback_days of takings), a minimum payout, the payout channel.
CREATE TABLE fee_schedules (
    app_id         TEXT PRIMARY KEY,
    collector      TEXT NOT NULL,
    rules          TEXT NOT NULL DEFAULT '[]',
    delay_days     INTEGER NOT NULL DEFAULT 1,
    holdback_bp    INTEGER NOT NULL DEFAULT 0,
    holdback_days  INTEGER NOT NULL DEFAULT 0,
    min_payout     BIGINT NOT NULL DEFAULT 0,
    payout_channel TEXT NOT NULL DEFAULT 'unionpay',
    auto_settle    INTEGER NOT NULL DEFAULT 0,
    updated        BIGINT NOT NULL
);

-- The fee taken on one paid charge (at most one per charge).
CREATE TABLE platform_fees (
    charge_id TEXT PRIMARY KEY,
    app_id    TEXT NOT NULL,
    livemode  INTEGER NOT NULL,
    collector TEXT NOT NULL,
    channel   TEXT NOT NULL,
    currency  TEXT NOT NULL,
    amount    BIGINT NOT NULL,
    created   BIGINT NOT NULL,
    CHECK (amount > 0)
);
CREATE INDEX platform_fees_app ON platform_fees (app_id, livemode, created);

-- One settlement run per sub-app, mode, currency and day (Beijing time):
-- what was owed for takings up to the cutoff, the reserve kept, and the
-- payout made through the transfer engine.
CREATE TABLE merchant_settlements (
    id                TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL,
    livemode          INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    settle_date       TEXT NOT NULL,
    cutoff            BIGINT NOT NULL,
    eligible          BIGINT NOT NULL,
    holdback          BIGINT NOT NULL,
    amount            BIGINT NOT NULL,
    status            TEXT NOT NULL,
    channel           TEXT NOT NULL,
    transfer_order_no TEXT NOT NULL DEFAULT '',
    transfer_id       TEXT NOT NULL DEFAULT '',
    failure_msg       TEXT NOT NULL DEFAULT '',
    created           BIGINT NOT NULL,
    finished          BIGINT NOT NULL DEFAULT 0,
    CHECK (status IN ('pending', 'paid', 'failed', 'skipped')),
    UNIQUE (app_id, livemode, currency, settle_date)
);
CREATE INDEX merchant_settlements_transfer ON merchant_settlements (app_id, livemode, channel, transfer_order_no);
