-- Console sign-in throttling per (email, source address), replacing the
-- per-account lock that let anyone lock an owner out. A row counts the
-- attempts one source made for one email since its last success; id is the
-- hex SHA-256 of both, so a spray of made-up emails stores fixed-size rows,
-- and each row is forgotten at expires. console_users.failed and
-- locked_until are no longer written; they stay while older nodes sharing
-- the database may still read them.
CREATE TABLE console_signin_throttle (
    id      TEXT PRIMARY KEY,
    failed  INTEGER NOT NULL,
    next_at BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX console_signin_throttle_expires ON console_signin_throttle (expires);
