-- Subscriptions (issue 20): plans, subscriptions debiting a signed
-- agreement each period, and one invoice per period (or proration).
-- next_run is when the scheduler looks at a subscription next; a node
-- claims it by moving next_run forward (a lease), so one node bills it.
-- An invoice is unique per subscription, period start and kind: a period
-- is billed once whatever node, crash or retry comes.
CREATE TABLE plans (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    interval_unit  TEXT NOT NULL,
    interval_count INTEGER NOT NULL,
    trial_days     INTEGER NOT NULL DEFAULT 0,
    metadata       TEXT NOT NULL DEFAULT '{}',
    created        BIGINT NOT NULL,
    CHECK (amount > 0 AND interval_count > 0 AND trial_days >= 0),
    CHECK (interval_unit IN ('day', 'week', 'month', 'year'))
);
CREATE INDEX plans_app ON plans (app_id, livemode);
CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    app_id               TEXT NOT NULL,
    livemode             INTEGER NOT NULL,
    plan_id              TEXT NOT NULL,
    agreement_id         TEXT NOT NULL,
    user_id              TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL,
    anchor               BIGINT NOT NULL,
    periods              INTEGER NOT NULL,
    current_period_start BIGINT NOT NULL,
    current_period_end   BIGINT NOT NULL,
    trial_end            BIGINT NOT NULL DEFAULT 0,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
    canceled_at          BIGINT NOT NULL DEFAULT 0,
    credit               BIGINT NOT NULL DEFAULT 0,
    next_run             BIGINT NOT NULL,
    metadata             TEXT NOT NULL DEFAULT '{}',
    created              BIGINT NOT NULL,
    CHECK (status IN ('trialing', 'active', 'past_due', 'canceled')),
    CHECK (credit >= 0)
);
CREATE INDEX subscriptions_app ON subscriptions (app_id, livemode, created);
CREATE INDEX subscriptions_due ON subscriptions (next_run);
CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    subscription_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    period_start    BIGINT NOT NULL,
    period_end      BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    in_flight       INTEGER NOT NULL DEFAULT 0,
    next_attempt    BIGINT NOT NULL DEFAULT 0,
    charge_id       TEXT NOT NULL DEFAULT '',
    failure_msg     TEXT NOT NULL DEFAULT '',
    created         BIGINT NOT NULL,
    paid_at         BIGINT NOT NULL DEFAULT 0,
    CHECK (kind IN ('period', 'proration')),
    CHECK (status IN ('open', 'paid', 'uncollectible', 'void')),
    CHECK (amount >= 0)
);
CREATE UNIQUE INDEX invoices_once ON invoices (subscription_id, period_start, kind);
CREATE INDEX invoices_sub ON invoices (subscription_id, created);
