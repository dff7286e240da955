-- An app's cashier logo per mode (cashier_settings.logo describes it): the
-- PNG or JPEG bytes core.DecodeLogo wrote, base64 in TEXT so that SQLite and
-- PostgreSQL store it alike. The cashier serves it by sha256, a
-- content-addressed URL that can be cached for good.
CREATE TABLE cashier_logos (
    app_id       TEXT NOT NULL REFERENCES apps(id),
    livemode     INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         TEXT NOT NULL,
    updated      BIGINT NOT NULL,
    PRIMARY KEY (app_id, livemode)
);
CREATE INDEX cashier_logos_sha256 ON cashier_logos (sha256);
