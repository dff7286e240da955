-- A charge's risk review ('' none, open, approved, rejected, expired): an
-- open review of a charge that cannot be held as an authorization keeps it
-- unsent until the merchant approves (polypay.Charge.HeldUnsent).
ALTER TABLE charges ADD COLUMN risk_review TEXT NOT NULL DEFAULT '';
