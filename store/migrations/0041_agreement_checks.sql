-- When polypay next asks the channel about an agreement still waiting for
-- its signature (a sign notification may be lost); 0: not any more.
ALTER TABLE agreements ADD COLUMN next_check BIGINT NOT NULL DEFAULT 0;
CREATE INDEX agreements_check ON agreements (status, next_check);
