-- Recharges (issue 18): a user's balance paid in through a charge. The
-- balance moves only when that charge's verified payment arrives, in the
-- transaction that records the payment; succeeded makes it happen once.
-- A recharge is stored before its charge, under the charge's order_no
-- (unique per app and mode, as charges' are), so a payment recorded while
-- the charge is being created (a payment code paid at once) finds it;
-- charge_id is filled in when the charge exists.
CREATE TABLE recharges (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL,
    livemode            INTEGER NOT NULL,
    user_id             TEXT NOT NULL,
    charge_order_no     TEXT NOT NULL,
    charge_id           TEXT NOT NULL DEFAULT '',
    params_hash         TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    user_fee            BIGINT NOT NULL DEFAULT 0,
    bonus_amount        BIGINT NOT NULL DEFAULT 0,
    description         TEXT NOT NULL DEFAULT '',
    metadata            TEXT NOT NULL DEFAULT '{}',
    succeeded           INTEGER NOT NULL DEFAULT 0,
    time_succeeded      BIGINT NOT NULL DEFAULT 0,
    balance_transaction TEXT NOT NULL DEFAULT '',
    balance_bonus       TEXT NOT NULL DEFAULT '',
    created             BIGINT NOT NULL
);
CREATE UNIQUE INDEX recharges_charge_order_no ON recharges (app_id, livemode, charge_order_no);
CREATE INDEX recharges_charge ON recharges (charge_id);
CREATE INDEX recharges_created ON recharges (app_id, livemode, created);
