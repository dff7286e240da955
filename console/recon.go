package console

import (
	"context"
	"time"
)

// Recon is what the console needs from the reconciliation engine. The
// gateway wires the engine in; when it is nil the reconciliation and report
// pages say so.
type Recon interface {
	// Runs lists the latest reconciliation runs, newest first, at most limit.
	Runs(ctx context.Context, limit int) ([]ReconRun, error)
	// Discrepancies lists discrepancies matching f, newest first.
	Discrepancies(ctx context.Context, f DiscrepancyFilter) ([]Discrepancy, error)
	// Resolve closes an open discrepancy with a note, recording who did it.
	// ENotFound for an unknown id, EInvalid (param "note") for an empty
	// note or a discrepancy already resolved.
	Resolve(ctx context.Context, id, note, by string) error
	// DailyReport returns the summary of one day (YYYY-MM-DD in the
	// engine's time zone) per app, channel and currency; EInvalid for a
	// malformed day.
	DailyReport(ctx context.Context, day string) ([]ReportRow, error)
}

// ReconRun is one reconciliation of one channel family and day.
type ReconRun struct {
	ID            string
	AppID         string
	Live          bool
	Day           string // YYYY-MM-DD
	Channel       string
	Status        string // running, succeeded, failed
	Started       time.Time
	Finished      time.Time // zero while running
	Matched       int
	Discrepancies int // found, including those settled automatically
	Open          int // still open
	Error         string
}

// DiscrepancyFilter selects discrepancies.
type DiscrepancyFilter struct {
	OpenOnly     bool
	ResolvedOnly bool
	RunID        string
	Day          string
	Channel      string
	Limit        int
}

// Discrepancy is one difference between a channel's statement and polypay.
type Discrepancy struct {
	ID          string
	RunID       string
	Day         string
	Channel     string
	AppID       string
	Live        bool
	Kind        string // only_in_polypay, only_in_channel, amount_differs, status_differs
	ChargeID    string
	RefundID    string
	TransferID  string // a payout line's transfer (only_in_channel: one polypay may not have)
	TradeNo     string // the channel's transaction number
	OurAmount   int64  // minor units
	TheirAmount int64
	Currency    string
	OurStatus   string
	TheirStatus string
	Open        bool
	Note        string
	ResolvedBy  string
	ResolvedAt  time.Time
}

// ReportRow is one day's totals for an app, channel and currency; every
// amount in minor units. Net = Gross - Refunds - Fees.
type ReportRow struct {
	Day      string
	AppID    string
	Live     bool
	Channel  string
	Currency string
	Count    int64 // paid charges
	Gross    int64
	Refunds  int64
	Fees     int64
	Net      int64
}
