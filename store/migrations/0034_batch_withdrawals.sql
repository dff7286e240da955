-- Batch withdrawals (issue 18): many created withdrawals confirmed (or
-- canceled) by one request. The batch records which ones and the action;
-- its totals are read from the withdrawals themselves.
CREATE TABLE batch_withdrawals (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    withdrawals TEXT NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX batch_withdrawals_created ON batch_withdrawals (app_id, livemode, created);
