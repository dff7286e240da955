-- Orders: what a customer pays through the hosted cashier. Paying an order
-- creates ordinary charges (order_charges), one per channel the customer
-- chose; the order is paid once one of them is.
CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL REFERENCES apps(id),
    livemode          INTEGER NOT NULL,
    merchant_order_no TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    subject           TEXT NOT NULL,
    body              TEXT NOT NULL,
    description       TEXT NOT NULL,
    channels          TEXT NOT NULL,
    return_url        TEXT NOT NULL,
    metadata          TEXT NOT NULL,
    status            TEXT NOT NULL,
    created           BIGINT NOT NULL,
    time_paid         BIGINT NOT NULL DEFAULT 0,
    time_expire       BIGINT NOT NULL,
    charge_id         TEXT NOT NULL DEFAULT '',
    -- the cashier URL's capability token (compared in constant time)
    cashier_token     TEXT NOT NULL,
    params_hash       TEXT NOT NULL,
    UNIQUE (app_id, livemode, merchant_order_no)
);

CREATE TABLE order_charges (
    order_id  TEXT NOT NULL REFERENCES orders(id),
    charge_id TEXT NOT NULL REFERENCES charges(id),
    channel   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    created   BIGINT NOT NULL,
    PRIMARY KEY (order_id, charge_id),
    UNIQUE (order_id, seq)
);
