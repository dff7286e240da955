-- Rejected notifications are kept per app up to a cap and for a retention
-- period; these indexes make the trimming cheap.
CREATE INDEX notifications_app_received ON notifications (app_id, received);
CREATE INDEX notifications_received ON notifications (received);

-- A request signature may be used once: each verified one is remembered
-- until its timestamp leaves the 300 s window, on every node sharing the
-- store.
CREATE TABLE request_signatures (
    digest   TEXT PRIMARY KEY,
    expires  BIGINT NOT NULL
);
CREATE INDEX request_signatures_expires ON request_signatures (expires);
