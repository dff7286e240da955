-- polypay's own payment codes (issue 19).
--
-- paycode_devices: a user's device that derives offline codes. idx is the
-- device's index, unique in its app and mode, found from a code in one
-- lookup; the secret is sealed with the node's master key.
CREATE TABLE paycode_devices (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL,
    livemode      INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    idx           BIGINT NOT NULL,
    version       INTEGER NOT NULL,
    sealed_secret TEXT NOT NULL,
    max_amount    BIGINT NOT NULL,
    daily_count   INTEGER NOT NULL,
    revoked       BIGINT NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    failed_since  BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL,
    UNIQUE (app_id, livemode, idx)
);
CREATE INDEX paycode_devices_user ON paycode_devices (app_id, livemode, user_id);

-- paycode_online: single-use codes polypay issued, valid until expires.
CREATE TABLE paycode_online (
    code     TEXT PRIMARY KEY,
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    user_id  TEXT NOT NULL,
    expires  BIGINT NOT NULL,
    used     BIGINT NOT NULL DEFAULT 0,
    created  BIGINT NOT NULL
);

-- paycode_uses: each offline code accepted, one per device and time step,
-- whichever node accepts it: the primary key refuses a replay.
CREATE TABLE paycode_uses (
    device_id TEXT NOT NULL,
    step      BIGINT NOT NULL,
    charge_id TEXT NOT NULL,
    amount    BIGINT NOT NULL,
    created   BIGINT NOT NULL,
    PRIMARY KEY (device_id, step)
);
CREATE INDEX paycode_uses_day ON paycode_uses (device_id, created);

-- paycode_terminals: wrong codes scanned at a terminal, for its lockout.
CREATE TABLE paycode_terminals (
    app_id       TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    terminal_id  TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    failed_since BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, livemode, terminal_id)
);
