-- The risk engine (package risk). Numbered 0030 to stay clear of
-- migrations being added alongside it; versions apply in order with gaps.
--
-- risk_attempts: one row per attempt to spend or test a card or account
-- (a charge, a token), kept about a day for the velocity counters that all
-- nodes on one database share. Keys that come from requests are fixed-size
-- (an IP in canonical form, hashes of email, device and customer), so a
-- request cannot grow a row.
CREATE TABLE risk_attempts (
    id        TEXT PRIMARY KEY,
    app_id    TEXT NOT NULL,
    livemode  INTEGER NOT NULL,
    charge_id TEXT NOT NULL DEFAULT '',
    ip        TEXT NOT NULL DEFAULT '',
    card      TEXT NOT NULL DEFAULT '',
    email     TEXT NOT NULL DEFAULT '',
    device    TEXT NOT NULL DEFAULT '',
    customer  TEXT NOT NULL DEFAULT '',
    failed    INTEGER NOT NULL DEFAULT 0,
    at_ms     BIGINT NOT NULL
);
-- Each counter is one range scan of a covering index: the key, the time,
-- then the columns it counts (the distinct column and failed).
CREATE INDEX risk_attempts_ip ON risk_attempts (app_id, livemode, ip, at_ms, card, failed);
CREATE INDEX risk_attempts_card ON risk_attempts (app_id, livemode, card, at_ms, ip, failed);
CREATE INDEX risk_attempts_email ON risk_attempts (app_id, livemode, email, at_ms, card, failed);
CREATE INDEX risk_attempts_device ON risk_attempts (app_id, livemode, device, at_ms, card, failed);
CREATE INDEX risk_attempts_customer ON risk_attempts (app_id, livemode, customer, at_ms, card, failed);
CREATE INDEX risk_attempts_charge ON risk_attempts (charge_id);
CREATE INDEX risk_attempts_at ON risk_attempts (at_ms);

-- risk_blocks: a fact (an IP, a card) refused until a time, set by a
-- built-in rule; one row per app, mode, kind and value.
CREATE TABLE risk_blocks (
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    rule     TEXT NOT NULL,
    until    BIGINT NOT NULL,
    created  BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, kind, value)
);
CREATE INDEX risk_blocks_until ON risk_blocks (until);

-- risk_lists: the merchant's allow and block lists.
CREATE TABLE risk_lists (
    id       TEXT PRIMARY KEY,
    app_id   TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    list     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    expires  BIGINT NOT NULL DEFAULT 0,
    created  BIGINT NOT NULL
);
CREATE UNIQUE INDEX risk_lists_entry ON risk_lists (app_id, livemode, list, kind, value);

-- risk_rules: the merchant's rules, conditions in CEL.
CREATE TABLE risk_rules (
    id        TEXT PRIMARY KEY,
    app_id    TEXT NOT NULL,
    livemode  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    condition TEXT NOT NULL,
    action    TEXT NOT NULL,
    priority  INTEGER NOT NULL,
    enabled   INTEGER NOT NULL,
    created   BIGINT NOT NULL,
    updated   BIGINT NOT NULL
);
CREATE INDEX risk_rules_app ON risk_rules (app_id, livemode);

-- risk_decisions: every decision that was not a plain allow, with the rule,
-- the facts (never a card number) and the counters it saw; capped per app.
CREATE TABLE risk_decisions (
    id        TEXT PRIMARY KEY,
    app_id    TEXT NOT NULL,
    livemode  INTEGER NOT NULL,
    charge_id TEXT NOT NULL DEFAULT '',
    route     TEXT NOT NULL,
    action    TEXT NOT NULL,
    rule      TEXT NOT NULL,
    facts     TEXT NOT NULL,
    created   BIGINT NOT NULL
);
CREATE INDEX risk_decisions_app ON risk_decisions (app_id, livemode, created);
CREATE INDEX risk_decisions_charge ON risk_decisions (charge_id);
