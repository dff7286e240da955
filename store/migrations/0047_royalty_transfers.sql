-- Royalty settlements paid by transfer (issue 21): a royalty transaction
-- of method alipay, wx, wx_pub, wx_lite or unionpay pays its recipient
-- user's settle account through the transfer engine, from the payer's
-- funds; it is pending until the transfer is decided.
ALTER TABLE royalty_transactions ADD COLUMN method TEXT NOT NULL DEFAULT 'balance';
ALTER TABLE royalty_transactions ADD COLUMN transfer_order_no TEXT NOT NULL DEFAULT '';
ALTER TABLE royalty_transactions ADD COLUMN transfer_id TEXT NOT NULL DEFAULT '';
CREATE INDEX royalty_transactions_transfer ON royalty_transactions (app_id, livemode, method, transfer_order_no);
