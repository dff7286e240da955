-- Discounts: per-app, per-mode rules the cashier applies to an order's
-- charge. channel is a channel family ("alipay", "wx") or one Ping++
-- channel name. A deleted rule keeps its row (deleted > 0) because charges'
-- metadata and orders name it.
CREATE TABLE discounts (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    livemode    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    type        TEXT NOT NULL,
    amount_off  BIGINT NOT NULL,
    percent_off INTEGER NOT NULL,
    min_amount  BIGINT NOT NULL,
    label       TEXT NOT NULL,
    created     BIGINT NOT NULL,
    deleted     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX discounts_app ON discounts (app_id, livemode, deleted);

-- The discount each of an order's charges was created with (0 and '' for none).
ALTER TABLE order_charges ADD COLUMN discount_id TEXT NOT NULL DEFAULT '';
ALTER TABLE order_charges ADD COLUMN discount_amount BIGINT NOT NULL DEFAULT 0;

-- The order's coupon_amount (Ping++'s field): that of the charge that paid
-- it, else of its latest charge. actual_amount is amount - coupon_amount.
ALTER TABLE orders ADD COLUMN coupon_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN discount_id TEXT NOT NULL DEFAULT '';
