-- Webhook signing keys, one series per app and mode (webhook.Keys), so a
-- signature made for one app or mode never verifies for another. Each row
-- is one generation of the series, its private key sealed with the master
-- key under a name that binds app, mode and generation. A rotation adds
-- the next generation with active_from (unix ms) at the end of the
-- announced overlap: until then the previous generation keeps signing
-- while the new public key is already published. Generation 1 is made on
-- first use; nodes racing to make it insert with ON CONFLICT DO NOTHING
-- and all read the winner's.
CREATE TABLE webhook_keys (
    app_id      TEXT NOT NULL REFERENCES apps(id),
    livemode    INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    sealed      TEXT NOT NULL,
    active_from BIGINT NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, generation)
);
