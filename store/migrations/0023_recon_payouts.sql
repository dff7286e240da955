-- Reconciliation of payouts (issue 17): statement lines of kind payout are
-- matched with transfers, so a discrepancy may be about a transfer rather
-- than a charge or refund.
ALTER TABLE recon_discrepancies ADD COLUMN transfer_id TEXT NOT NULL DEFAULT '';

-- A run reads the transfers an app paid in its day (time_transferred).
CREATE INDEX transfers_paid ON transfers (app_id, livemode, time_transferred);
