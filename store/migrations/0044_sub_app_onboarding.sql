-- A sub-app's onboarding (issue 21): its status (pending: test mode only;
-- active; suspended: no payments) and what a channel needs to register
-- the merchant; the bank account is sealed, its last four kept apart.
ALTER TABLE sub_apps ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE sub_apps ADD COLUMN onboarding TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sub_apps ADD COLUMN bank_sealed TEXT NOT NULL DEFAULT '';
