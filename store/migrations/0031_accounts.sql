-- The account system (issue 18): an app's users and their stored value.
--
-- users: merchant-chosen ids, unique per app and mode. available_balance is
-- what the merchant owes the user (minor units of cny); the CHECK keeps it
-- from ever going below zero, and every debit is a conditional UPDATE, so
-- concurrent debits cannot overdraw on either store.
CREATE TABLE users (
    app_id               TEXT NOT NULL,
    livemode             INTEGER NOT NULL,
    id                   TEXT NOT NULL,
    type                 TEXT NOT NULL DEFAULT 'customer',
    name                 TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    mobile               TEXT NOT NULL DEFAULT '',
    gender               TEXT NOT NULL DEFAULT '',
    address              TEXT NOT NULL DEFAULT '',
    avatar               TEXT NOT NULL DEFAULT '',
    disabled             INTEGER NOT NULL DEFAULT 0,
    identified           INTEGER NOT NULL DEFAULT 0,
    available_balance    BIGINT NOT NULL DEFAULT 0 CHECK (available_balance >= 0),
    withdrawable_balance BIGINT NOT NULL DEFAULT 0 CHECK (withdrawable_balance >= 0),
    metadata             TEXT NOT NULL DEFAULT '{}',
    created              BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, id)
);
CREATE INDEX users_created ON users (app_id, livemode, created);

-- balance_transactions: every movement of a user's balance, with the
-- balance right after it.
CREATE TABLE balance_transactions (
    id                TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL,
    livemode          INTEGER NOT NULL,
    user_id           TEXT NOT NULL,
    type              TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    available_balance BIGINT NOT NULL,
    source            TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    created           BIGINT NOT NULL
);
CREATE INDEX balance_transactions_user ON balance_transactions (app_id, livemode, user_id, created);
CREATE INDEX balance_transactions_app ON balance_transactions (app_id, livemode, created);

-- balance_bonuses and balance_transfers: order_no is unique per app and
-- mode; params_hash tells a retry from a clash.
CREATE TABLE balance_bonuses (
    id                  TEXT PRIMARY KEY,
    app_id              TEXT NOT NULL,
    livemode            INTEGER NOT NULL,
    user_id             TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    order_no            TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    metadata            TEXT NOT NULL DEFAULT '{}',
    balance_transaction TEXT NOT NULL,
    params_hash         TEXT NOT NULL,
    created             BIGINT NOT NULL
);
CREATE UNIQUE INDEX balance_bonuses_order_no ON balance_bonuses (app_id, livemode, order_no);
CREATE INDEX balance_bonuses_created ON balance_bonuses (app_id, livemode, created);

CREATE TABLE balance_transfers (
    id                            TEXT PRIMARY KEY,
    app_id                        TEXT NOT NULL,
    livemode                      INTEGER NOT NULL,
    user_id                       TEXT NOT NULL,
    recipient                     TEXT NOT NULL,
    amount                        BIGINT NOT NULL,
    user_fee                      BIGINT NOT NULL,
    order_no                      TEXT NOT NULL,
    description                   TEXT NOT NULL DEFAULT '',
    metadata                      TEXT NOT NULL DEFAULT '{}',
    user_balance_transaction      TEXT NOT NULL,
    recipient_balance_transaction TEXT NOT NULL,
    params_hash                   TEXT NOT NULL,
    created                       BIGINT NOT NULL
);
CREATE UNIQUE INDEX balance_transfers_order_no ON balance_transfers (app_id, livemode, order_no);
CREATE INDEX balance_transfers_created ON balance_transfers (app_id, livemode, created);
