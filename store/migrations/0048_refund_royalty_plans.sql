-- An order refund naming the royalties it takes back (Ping++'s order
-- refund royalty_users, issue 21): kept with the channel refund it made,
-- and applied when that refund succeeds instead of the template's
-- refund_mode.
CREATE TABLE refund_royalty_plans (
    refund_id TEXT PRIMARY KEY,
    users     TEXT NOT NULL
);
-- The order refund keeps its royalty_users too, for a channel part the
-- poller makes after a crash.
ALTER TABLE order_refunds ADD COLUMN royalty_users TEXT NOT NULL DEFAULT '';
