-- Card fingerprints are keyed per app and mode (vault/envelope.go): the
-- same number has unrelated fingerprints in two apps, or in one app's test
-- and live modes, so tenants cannot link a customer through them. Version
-- 1 is the earlier fingerprint, one key for every app; rows carrying it are
-- re-derived by the vault when a node starts (Vault.ScopeFingerprints),
-- and their fingerprint is not shown until then.
ALTER TABLE vault_cards ADD COLUMN fingerprint_version INTEGER NOT NULL DEFAULT 1;
