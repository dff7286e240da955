-- Debit agreements (Ping++'s agreement, issue 20): signed once at the
-- channel, then debited without the customer. contract_no is the
-- merchant's number, unique per app and mode; contract_id the channel's
-- once signed. canceled_by is 'merchant' or 'user' (at the channel).
CREATE TABLE agreements (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    contract_no    TEXT NOT NULL,
    contract_id    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    credential     TEXT NOT NULL DEFAULT '{}',
    extra          TEXT NOT NULL DEFAULT '{}',
    metadata       TEXT NOT NULL DEFAULT '{}',
    failure_code   TEXT NOT NULL DEFAULT '',
    failure_msg    TEXT NOT NULL DEFAULT '',
    time_succeeded BIGINT NOT NULL DEFAULT 0,
    time_canceled  BIGINT NOT NULL DEFAULT 0,
    canceled_by    TEXT NOT NULL DEFAULT '',
    created        BIGINT NOT NULL,
    CHECK (status IN ('created', 'succeeded', 'canceled'))
);
CREATE UNIQUE INDEX agreements_contract_no ON agreements (app_id, livemode, contract_no);
CREATE INDEX agreements_app ON agreements (app_id, livemode, created);
