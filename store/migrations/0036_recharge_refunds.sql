-- Recharge refunds (issue 18): a recharge is refunded once, in full; the
-- refund of its charge is refund_id. refunded goes back to 0 if that
-- refund fails (the balance is given back with it).
ALTER TABLE recharges ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recharges ADD COLUMN refund_id TEXT NOT NULL DEFAULT '';
