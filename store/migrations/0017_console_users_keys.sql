-- Console user management: a user can be disabled (kept for the audit
-- trail, refused at sign-in, sessions ended) and scoped to some apps
-- (apps: space-separated app ids; empty means every app). API keys get an
-- expiry so that a rolled key keeps working for an overlap period
-- (0: never expires).
ALTER TABLE console_users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE console_users ADD COLUMN apps TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires BIGINT NOT NULL DEFAULT 0;
