-- Reconciliation (对账): one row per run of one app, mode, channel family
-- and day (the channel's own day), with its progress and counts.
CREATE TABLE recon_runs (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    family          TEXT NOT NULL,
    day             TEXT NOT NULL,
    status          TEXT NOT NULL,
    progress        BIGINT NOT NULL DEFAULT 0,
    total           BIGINT NOT NULL DEFAULT 0,
    statement_lines BIGINT NOT NULL DEFAULT 0,
    matched         BIGINT NOT NULL DEFAULT 0,
    only_polypay    BIGINT NOT NULL DEFAULT 0,
    only_channel    BIGINT NOT NULL DEFAULT 0,
    amount_differs  BIGINT NOT NULL DEFAULT 0,
    status_differs  BIGINT NOT NULL DEFAULT 0,
    settled         BIGINT NOT NULL DEFAULT 0,
    open            BIGINT NOT NULL DEFAULT 0,
    fees_posted     BIGINT NOT NULL DEFAULT 0,
    fee_amount      BIGINT NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    started         BIGINT NOT NULL,
    finished        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX recon_runs_day ON recon_runs (app_id, livemode, day, family);

-- A difference between a statement line and polypay's records. A re-run of
-- the day replaces the open ones; resolved ones stay as history.
CREATE TABLE recon_discrepancies (
    id              TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES recon_runs(id),
    app_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    family          TEXT NOT NULL,
    day             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    line_kind       TEXT NOT NULL,
    charge_id       TEXT NOT NULL,
    refund_id       TEXT NOT NULL,
    refund_no       TEXT NOT NULL,
    transaction_no  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    channel_amount  BIGINT NOT NULL,
    polypay_amount  BIGINT NOT NULL,
    channel_status  TEXT NOT NULL,
    polypay_status  TEXT NOT NULL,
    detail          TEXT NOT NULL,
    resolved        INTEGER NOT NULL DEFAULT 0,
    resolved_by     TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    resolved_at     BIGINT NOT NULL DEFAULT 0,
    created         BIGINT NOT NULL
);
CREATE INDEX recon_discrepancies_day ON recon_discrepancies (app_id, livemode, day, family, resolved);

-- Channel fees posted to the ledger, one row per statement line: the
-- primary key makes posting a line's fee twice impossible.
CREATE TABLE recon_fees (
    ref_id   TEXT PRIMARY KEY,
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    channel  TEXT NOT NULL,
    day      TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    run_id   TEXT NOT NULL,
    created  BIGINT NOT NULL
);
CREATE INDEX recon_fees_day ON recon_fees (app_id, livemode, day);

-- The daily job's claims, so that several nodes run each day once.
CREATE TABLE recon_jobs (
    job      TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    claimed  BIGINT NOT NULL,
    finished BIGINT NOT NULL DEFAULT 0
);
