-- Per-app, per-mode cashier settings: channel order, labels, disabled
-- channels and the extra origins allowed to embed the cashier, as one JSON
-- object (core.CashierSettings validates it).
CREATE TABLE cashier_settings (
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    settings TEXT NOT NULL,
    updated  BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode)
);

-- Ping++'s order uid: the merchant's id of the customer ('' for none).
ALTER TABLE orders ADD COLUMN uid TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_uid ON orders (app_id, livemode, uid, status);

-- A discount rule that applies only to a customer's (uid's) first paid
-- order in the rule's channel family.
ALTER TABLE discounts ADD COLUMN first_payment_only INTEGER NOT NULL DEFAULT 0;
