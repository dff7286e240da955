-- Merchant console: users with roles, and their sessions. A session row is
-- keyed by the SHA-256 of the cookie value, so a leaked database does not
-- hand out live sessions.
CREATE TABLE console_users (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    password     TEXT NOT NULL,
    created      BIGINT NOT NULL,
    failed       INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES console_users(id),
    csrf    TEXT NOT NULL,
    created BIGINT NOT NULL,
    seen    BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Search across apps and charts per day read charges by creation time.
CREATE INDEX charges_created ON charges (created);
CREATE INDEX refunds_created ON refunds (created);
