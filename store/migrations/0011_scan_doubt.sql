-- A payment-code (scan) charge whose create may have ended in a blind
-- reversal at the channel carries the time to verify it; 0 when its outcome
-- is known. A node that dies mid-create leaves it set, and the poller asks
-- the channel then, whatever the charge's status (a notification may have
-- recorded a payment the reversal gave back).
ALTER TABLE charges ADD COLUMN doubt_check BIGINT NOT NULL DEFAULT 0;
CREATE INDEX charges_doubt ON charges (doubt_check);
