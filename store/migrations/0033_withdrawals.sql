-- Settle accounts and withdrawals (issue 18).
--
-- settle_accounts: where a user's withdrawals are paid, one per user and
-- channel; recipient is the payee as JSON (account, name, type, open_bank,
-- open_bank_code). The account number of a bank card is sealed
-- (recipient_sealed) and the JSON holds it masked.
CREATE TABLE settle_accounts (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    livemode         INTEGER NOT NULL,
    user_id          TEXT NOT NULL,
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    recipient_sealed TEXT NOT NULL DEFAULT '',
    created          BIGINT NOT NULL
);
CREATE UNIQUE INDEX settle_accounts_user_channel ON settle_accounts (app_id, livemode, user_id, channel);

-- withdrawals: a user's balance paid out. The amount leaves the balance
-- when the withdrawal is created (status created), is given back if it is
-- canceled or its transfer fails, and is paid out by a transfer (order_no
-- transfer_order_no on channel) once confirmed (pending → succeeded).
CREATE TABLE withdrawals (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL,
    livemode            INTEGER NOT NULL,
    user_id             TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    user_fee            BIGINT NOT NULL,
    channel             TEXT NOT NULL,
    order_no            TEXT NOT NULL,
    settle_account      TEXT NOT NULL,
    transfer_order_no   TEXT NOT NULL,
    transfer_id         TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    metadata            TEXT NOT NULL DEFAULT '{}',
    failure_msg         TEXT NOT NULL DEFAULT '',
    balance_transaction TEXT NOT NULL,
    params_hash         TEXT NOT NULL,
    created             BIGINT NOT NULL,
    time_confirmed      BIGINT NOT NULL DEFAULT 0,
    time_succeeded      BIGINT NOT NULL DEFAULT 0,
    time_canceled       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX withdrawals_order_no ON withdrawals (app_id, livemode, order_no);
CREATE UNIQUE INDEX withdrawals_transfer ON withdrawals (app_id, livemode, channel, transfer_order_no);
CREATE INDEX withdrawals_created ON withdrawals (app_id, livemode, created);
CREATE INDEX withdrawals_unsent ON withdrawals (status, time_confirmed);
