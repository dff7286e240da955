-- Money out (issue 17): transfers (企业付款), batch transfers, red
-- envelopes and batch refunds, in Ping++'s shapes.
--
-- transfers: one payout to one payee. order_no is unique per app, mode and
-- channel (Ping++'s rule). extra_sealed holds what must not sit in
-- plaintext (a UnionPay payee's card number), sealed with the master key;
-- extra keeps the rest with the number masked. next_check schedules the
-- poller's query of a pending transfer (and the first send of a batch
-- member); sent records that a send was attempted, so a transfer whose
-- send outcome is unknown is queried before it is ever sent again.
CREATE TABLE transfers (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    livemode         INTEGER NOT NULL,
    channel          TEXT NOT NULL,
    order_no         TEXT NOT NULL,
    batch_id         TEXT NOT NULL DEFAULT '',
    batch_no         TEXT NOT NULL DEFAULT '',
    type             TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    recipient        TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    extra            TEXT NOT NULL DEFAULT '{}',
    extra_sealed     TEXT NOT NULL DEFAULT '',
    metadata         TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL,
    created          BIGINT NOT NULL,
    time_transferred BIGINT NOT NULL DEFAULT 0,
    transaction_no   TEXT NOT NULL DEFAULT '',
    failure_code     TEXT NOT NULL DEFAULT '',
    failure_msg      TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL DEFAULT '',
    approved_by      TEXT NOT NULL DEFAULT '',
    approved_at      BIGINT NOT NULL DEFAULT 0,
    params_hash      TEXT NOT NULL DEFAULT '',
    sent             INTEGER NOT NULL DEFAULT 0,
    next_check       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX transfers_order_no ON transfers (app_id, livemode, channel, order_no);
CREATE INDEX transfers_list ON transfers (app_id, livemode, id);
CREATE INDEX transfers_due ON transfers (status, next_check);
CREATE INDEX transfers_batch ON transfers (batch_id, id);

-- batch_transfers: id is Ping++'s 18 digits (yyMMddHHmmss + 6 random).
CREATE TABLE batch_transfers (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    batch_no       TEXT NOT NULL,
    channel        TEXT NOT NULL,
    type           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL,
    created        BIGINT NOT NULL,
    time_succeeded BIGINT NOT NULL DEFAULT 0,
    failure_msg    TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    approved_by    TEXT NOT NULL DEFAULT '',
    approved_at    BIGINT NOT NULL DEFAULT 0,
    params_hash    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX batch_transfers_no ON batch_transfers (app_id, livemode, batch_no);
CREATE INDEX batch_transfers_list ON batch_transfers (app_id, livemode, id);
CREATE INDEX batch_transfers_open ON batch_transfers (status);

CREATE TABLE red_envelopes (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    order_no       TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    subject        TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    extra          TEXT NOT NULL DEFAULT '{}',
    metadata       TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL,
    created        BIGINT NOT NULL,
    received       BIGINT NOT NULL DEFAULT 0,
    refunded       BIGINT NOT NULL DEFAULT 0,
    transaction_no TEXT NOT NULL DEFAULT '',
    failure_msg    TEXT NOT NULL DEFAULT '',
    params_hash    TEXT NOT NULL DEFAULT '',
    sent           INTEGER NOT NULL DEFAULT 0,
    next_check     BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX red_envelopes_order_no ON red_envelopes (app_id, livemode, order_no);
CREATE INDEX red_envelopes_list ON red_envelopes (app_id, livemode, id);
CREATE INDEX red_envelopes_due ON red_envelopes (status, next_check);

-- batch_refunds: items is the JSON array of {charge, amount, description,
-- funding_source, refund} as validated; each refund is an ordinary refund.
CREATE TABLE batch_refunds (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    batch_no       TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    items          TEXT NOT NULL,
    status         TEXT NOT NULL,
    created        BIGINT NOT NULL,
    time_succeeded BIGINT NOT NULL DEFAULT 0,
    params_hash    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX batch_refunds_no ON batch_refunds (app_id, livemode, batch_no);
CREATE INDEX batch_refunds_list ON batch_refunds (app_id, livemode, id);
CREATE INDEX batch_refunds_open ON batch_refunds (status);

-- payout_settings: per app and mode, transfers above approve_above (minor
-- units; 0 = none) and, with approve_batches, every batch wait scheduled
-- for a finance user's approval.
CREATE TABLE payout_settings (
    app_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    approve_above   BIGINT NOT NULL DEFAULT 0,
    approve_batches INTEGER NOT NULL DEFAULT 0,
    updated         BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode)
);
