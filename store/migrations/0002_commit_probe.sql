-- Rows written by `polypay bench` to measure the store's raw durable commit
-- rate: the ceiling every other figure is compared with.
CREATE TABLE commit_probe (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
