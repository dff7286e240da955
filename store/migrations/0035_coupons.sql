-- Coupons and Ping++'s order API (issue 18).
--
-- coupon_templates: times_circulated only grows through a conditional
-- UPDATE that refuses to pass max_circulation (0: no limit), so
-- concurrent issues never exceed it; the CHECK says so too.
CREATE TABLE coupon_templates (
    id                   TEXT PRIMARY KEY,
    app_id               TEXT NOT NULL,
    livemode             INTEGER NOT NULL,
    name                 TEXT NOT NULL DEFAULT '',
    type                 INTEGER NOT NULL,
    amount_off           BIGINT NOT NULL DEFAULT 0,
    percent_off          BIGINT NOT NULL DEFAULT 0,
    amount_available     BIGINT NOT NULL DEFAULT 0,
    max_circulation      BIGINT NOT NULL DEFAULT 0,
    max_user_circulation BIGINT NOT NULL DEFAULT 0,
    time_start           BIGINT NOT NULL DEFAULT 0,
    time_end             BIGINT NOT NULL DEFAULT 0,
    duration             BIGINT NOT NULL DEFAULT 0,
    refundable           INTEGER NOT NULL DEFAULT 1,
    times_circulated     BIGINT NOT NULL DEFAULT 0,
    times_redeemed       BIGINT NOT NULL DEFAULT 0,
    metadata             TEXT NOT NULL DEFAULT '{}',
    created              BIGINT NOT NULL,
    deleted              BIGINT NOT NULL DEFAULT 0,
    CHECK (max_circulation = 0 OR times_circulated <= max_circulation),
    CHECK (times_redeemed >= 0)
);
CREATE INDEX coupon_templates_app ON coupon_templates (app_id, livemode, deleted);

-- coupons: a user's n-th coupon of a template is unique, so two
-- concurrent issues past max_user_circulation cannot both land. order_id
-- holds the coupon for the order that will redeem it: set only where it
-- is '' (one order at a time), cleared when that order is canceled.
CREATE TABLE coupons (
    id                    TEXT PRIMARY KEY,
    app_id                TEXT NOT NULL,
    livemode              INTEGER NOT NULL,
    user_id               TEXT NOT NULL,
    template_id           TEXT NOT NULL REFERENCES coupon_templates(id),
    time_start            BIGINT NOT NULL DEFAULT 0,
    time_end              BIGINT NOT NULL DEFAULT 0,
    order_id              TEXT NOT NULL DEFAULT '',
    redeemed              INTEGER NOT NULL DEFAULT 0,
    actual_amount         BIGINT NOT NULL DEFAULT 0,
    user_times_circulated BIGINT NOT NULL,
    metadata              TEXT NOT NULL DEFAULT '{}',
    created               BIGINT NOT NULL,
    UNIQUE (template_id, user_id, user_times_circulated)
);
CREATE INDEX coupons_user ON coupons (app_id, livemode, user_id);
CREATE INDEX coupons_template ON coupons (template_id);

-- Ping++'s order parameters on orders, and the order a refund was made for.
ALTER TABLE orders ADD COLUMN coupon TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_created ON orders (app_id, livemode, created);

-- A charge of an order paid partly from a user's balance has a partner:
-- the balance charge and the channel charge name each other, and the
-- order is paid only when both are.
ALTER TABLE order_charges ADD COLUMN partner TEXT NOT NULL DEFAULT '';

-- order_refunds: Ping++'s order refund, made of a refund of the balance
-- part and one of the channel part; each is an ordinary refund.
CREATE TABLE order_refunds (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders(id),
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    charge_id      TEXT NOT NULL DEFAULT '',
    charge_amount  BIGINT NOT NULL DEFAULT 0,
    charge_refund  TEXT NOT NULL DEFAULT '',
    balance_charge TEXT NOT NULL DEFAULT '',
    balance_amount BIGINT NOT NULL DEFAULT 0,
    balance_refund TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',
    refund_mode    TEXT NOT NULL DEFAULT '',
    created        BIGINT NOT NULL
);
CREATE INDEX order_refunds_order ON order_refunds (order_id, created);
