-- Pre-authorization, 3-D Secure and processor attempts on charges.
ALTER TABLE charges ADD COLUMN auth_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE charges ADD COLUMN time_authorized BIGINT NOT NULL DEFAULT 0;
ALTER TABLE charges ADD COLUMN hold_expire BIGINT NOT NULL DEFAULT 0;
-- What was taken; refunds are bounded by it rather than by amount, which
-- for a partly captured pre-authorization is more than was taken.
ALTER TABLE charges ADD COLUMN amount_captured BIGINT NOT NULL DEFAULT 0;
ALTER TABLE charges ADD COLUMN three_d_secure TEXT NOT NULL DEFAULT '';
ALTER TABLE charges ADD COLUMN attempts TEXT NOT NULL DEFAULT '';
-- The channel account that took the charge, '' for the family's default.
ALTER TABLE charges ADD COLUMN account TEXT NOT NULL DEFAULT '';
UPDATE charges SET amount_captured = amount WHERE time_paid <> 0;
CREATE INDEX charges_holds ON charges (status, hold_expire);

-- Per-app, per-mode card settings (core.CardSettings as JSON): the 3-D
-- Secure policy and the card processors to try, in order.
CREATE TABLE card_settings (
    app_id   TEXT NOT NULL REFERENCES apps(id),
    livemode INTEGER NOT NULL,
    settings TEXT NOT NULL,
    updated  BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode)
);
