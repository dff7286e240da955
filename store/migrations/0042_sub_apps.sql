-- Sub-apps (Ping++'s sub_app, issue 21): apps of their own (keys,
-- objects) under a parent app, several levels deep. platform_app is the
-- top app; level 1 is a direct child of it. Deleted ones keep their
-- objects and lose their keys.
CREATE TABLE sub_apps (
    app_id       TEXT PRIMARY KEY,
    parent_app   TEXT NOT NULL,
    platform_app TEXT NOT NULL,
    level        INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    metadata     TEXT NOT NULL DEFAULT '{}',
    created      BIGINT NOT NULL,
    deleted      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sub_apps_parent ON sub_apps (parent_app, deleted);

-- A sub-app's channels, per mode: whether it may take payments on them
-- (banned, with the message its payers see) and a description. The
-- channel's credentials, when the sub-app has its own, are its family's
-- ordinary channel_configs row; without them the parent's are used.
CREATE TABLE sub_app_channels (
    app_id      TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    banned      INTEGER NOT NULL DEFAULT 0,
    banned_msg  TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created     BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode, channel)
);
