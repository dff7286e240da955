-- The shop's QR code (收款码, issue 19): one printed code for every wallet.
-- amount 0 is an open amount the customer enters; times_used counts the
-- orders made from it and never passes max_uses (0: no limit).
CREATE TABLE qr_codes (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    label      TEXT NOT NULL,
    amount     BIGINT NOT NULL DEFAULT 0,
    currency   TEXT NOT NULL DEFAULT 'cny',
    expires    BIGINT NOT NULL DEFAULT 0,
    max_uses   BIGINT NOT NULL DEFAULT 0,
    times_used BIGINT NOT NULL DEFAULT 0,
    metadata   TEXT NOT NULL DEFAULT '{}',
    created    BIGINT NOT NULL,
    deleted    BIGINT NOT NULL DEFAULT 0,
    CHECK (max_uses = 0 OR times_used <= max_uses)
);
CREATE INDEX qr_codes_app ON qr_codes (app_id, livemode, deleted);
