-- The card vault (vault package). Card numbers are never stored in the
-- clear: a card row holds the number, expiry and name sealed with
-- AES-256-GCM under a per-card data key, and that key wrapped by a
-- key-encryption key that lives outside the database (vault.keys or
-- $POLYPAY_VAULT_KEYS). The CVC is never stored.
CREATE TABLE vault_customers (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps(id),
    livemode       INTEGER NOT NULL,
    created        BIGINT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    currency       TEXT NOT NULL DEFAULT 'cny',
    description    TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    default_source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX vault_customers_list ON vault_customers (app_id, livemode, id);

CREATE TABLE vault_cards (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    livemode    INTEGER NOT NULL,
    -- '' while the card only backs a token
    customer_id TEXT NOT NULL DEFAULT '',
    created     BIGINT NOT NULL,
    brand       TEXT NOT NULL,
    funding     TEXT NOT NULL,
    bank        TEXT NOT NULL DEFAULT '',
    last4       TEXT NOT NULL,
    exp_month   INTEGER NOT NULL,
    exp_year    INTEGER NOT NULL,
    -- hex HMAC-SHA256 of the number under the keyring's fingerprint key
    fingerprint TEXT NOT NULL,
    -- base64: the data key wrapped by KEK key_id (AAD card id + key id)
    wrapped_key TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    -- base64: number, expiry and name sealed under the data key
    ciphertext  TEXT NOT NULL,
    nonce       TEXT NOT NULL
);
CREATE INDEX vault_cards_customer ON vault_cards (app_id, livemode, customer_id, id);
CREATE INDEX vault_cards_key ON vault_cards (key_id, id);

CREATE TABLE vault_tokens (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    livemode    INTEGER NOT NULL,
    card_id     TEXT NOT NULL,
    -- the customer named at tokenization ('' for none)
    customer_id TEXT NOT NULL DEFAULT '',
    created     BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    used        INTEGER NOT NULL DEFAULT 0,
    time_used   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX vault_tokens_card ON vault_tokens (card_id);
