-- Identity checks (Ping++'s identification, issue 21): what was asked and
-- answered, without the numbers: the name's first character and the
-- numbers' last four only.
CREATE TABLE identifications (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    type        TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    id_last4    TEXT NOT NULL,
    card_last4  TEXT NOT NULL DEFAULT '',
    phone_last4 TEXT NOT NULL DEFAULT '',
    result_code INTEGER NOT NULL,
    created     BIGINT NOT NULL
);
CREATE INDEX identifications_app ON identifications (app_id, livemode, created);
