package reconcile

import (
	"context"

	"github.com/polypay/polypay"
)

// Store runs reconciliation's queries in transactions (*store.DB
// implements it, for SQLite and PostgreSQL alike).
type Store interface {
	// ReadRecon runs fn in a read transaction. It returns fn's error, or an
	// internal error of the store.
	ReadRecon(ctx context.Context, fn func(Tx) error) error
	// WriteRecon runs fn in a write transaction, committed when fn returns
	// nil. It returns fn's error, or an internal error of the store.
	WriteRecon(ctx context.Context, fn func(Tx) error) error
}

// Tx is every query reconciliation makes, inside one transaction
// (*store.Tx implements it). Unless a method says otherwise it returns no
// application error, only internal errors of the store.
type Tx interface {
	// Now is the transaction's clock, unix seconds.
	Now() int64

	// InsertReconRun records a new run.
	InsertReconRun(ctx context.Context, r *Run) error
	// UpdateReconRun stores a run's progress, counts and status.
	UpdateReconRun(ctx context.Context, r *Run) error
	// GetReconRun returns a run; ENotFound when there is none.
	GetReconRun(ctx context.Context, id string) (*Run, error)
	// ListReconRuns returns the runs f selects, newest first.
	ListReconRuns(ctx context.Context, f RunFilter) ([]*Run, error)

	// ReplaceOpenDiscrepancies drops the open discrepancies of an app's
	// family and day and inserts ds, except those someone already resolved
	// (same kind, objects and amounts). It returns the ones inserted, with
	// their ids and creation time set.
	ReplaceOpenDiscrepancies(ctx context.Context, appID string, live bool, family, day string, ds []*Discrepancy) ([]*Discrepancy, error)
	// ListDiscrepancies returns the discrepancies f selects, newest day first.
	ListDiscrepancies(ctx context.Context, f DiscrepancyFilter) ([]*Discrepancy, error)
	// GetDiscrepancy returns one discrepancy, locked for update in a
	// write transaction; ENotFound when there is none.
	GetDiscrepancy(ctx context.Context, id string) (*Discrepancy, error)
	// ResolveDiscrepancy marks an open discrepancy resolved by user with
	// note; false when it was already resolved (or does not exist).
	ResolveDiscrepancy(ctx context.Context, id, user, note string) (bool, error)

	// ChargesPaidBetween returns an app's charges on channels paid in
	// [from, to) (unix seconds), whatever happened to them since.
	ChargesPaidBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Charge, error)
	// RefundsCreatedBetween returns an app's refunds of charges on channels
	// created in [from, to), any status.
	RefundsCreatedBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Refund, error)
	// LockCharge returns a charge, locked for update in a write
	// transaction; ENotFound when there is none.
	LockCharge(ctx context.Context, id string) (*polypay.Charge, error)
	// RefundByOrderNo returns a refund by its order_no; ENotFound when
	// there is none.
	RefundByOrderNo(ctx context.Context, orderNo string) (*polypay.Refund, error)
	// TransfersPaidBetween returns an app's transfers on channels paid in
	// [from, to) (time_transferred, unix seconds).
	TransfersPaidBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Transfer, error)
	// TransferByID returns a transfer of any app; ENotFound when there is
	// none.
	TransferByID(ctx context.Context, id string) (*polypay.Transfer, error)
	// LedgerSum is the sum of an account's ledger entries for one ref.
	LedgerSum(ctx context.Context, refType, refID, account string) (int64, error)
	// PostFee records a line's fee and posts it to the ledger (ledger.Fee)
	// unless a fee with the same RefID was recorded before; it reports
	// whether it posted. A ledger transaction that does not balance is
	// EInvalid.
	PostFee(ctx context.Context, f FeeLine) (bool, error)
	// DailyTotals sums an app's paid charges and succeeded refunds (by
	// payment and success time in [from, to)) per channel and currency,
	// and the fees posted for statement day.
	DailyTotals(ctx context.Context, appID string, live bool, channels []string, from, to int64, day string) ([]*ChannelTotals, error)

	// ClaimJob claims a named job for owner: it succeeds when nobody
	// claimed it, or when a claim older than staleBefore (unix seconds)
	// never finished. Of several nodes racing, one wins.
	ClaimJob(ctx context.Context, job, owner string, staleBefore int64) (bool, error)
	// FinishJob marks a claimed job done.
	FinishJob(ctx context.Context, job string) error
	// AppIDs lists every app's id, in byte order.
	AppIDs(ctx context.Context) ([]string, error)
	// ListApps lists every app, newest first.
	ListApps(ctx context.Context) ([]*polypay.App, error)
	// GetApp returns an app; ENotFound when there is none.
	GetApp(ctx context.Context, id string) (*polypay.App, error)
}

// Discrepancy kinds (the kinds of a Line that is not Matched).
const (
	OnlyPolypay   = "only_in_polypay"
	OnlyChannel   = "only_in_channel"
	AmountDiffers = "amount_differs"
	StatusDiffers = "status_differs"
)

// Run statuses.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// Run is one reconciliation of an app's channel family for one day.
type Run struct {
	ID             string
	AppID          string
	Live           bool
	Family         string
	Day            string // YYYY-MM-DD in the channel's time zone
	Status         string // RunRunning, RunDone, RunFailed
	Progress       int64  // steps done of Total
	Total          int64
	StatementLines int64
	Matched        int64
	OnlyPolypay    int64
	OnlyChannel    int64
	AmountDiffers  int64
	StatusDiffers  int64
	Settled        int64 // differences a channel query settled
	Open           int64 // discrepancies left open
	FeesPosted     int64 // fee postings made by this run (0 on a re-run)
	FeeAmount      int64 // their sum, minor units
	Error          string
	Started        int64
	Finished       int64
}

// Found is how many differences the run found, those a query settled
// included (the run counts a settled one as matched).
func (r *Run) Found() int64 {
	return r.OnlyPolypay + r.OnlyChannel + r.AmountDiffers + r.StatusDiffers + r.Settled
}

// RunFilter selects runs; empty fields match everything.
type RunFilter struct {
	AppID  string
	Live   *bool
	Family string
	Day    string
	Limit  int // default 100
}

// Discrepancy is one difference left open (or resolved later).
type Discrepancy struct {
	ID            string
	RunID         string
	AppID         string
	Live          bool
	Family        string
	Day           string
	Kind          string // OnlyPolypay, OnlyChannel, AmountDiffers, StatusDiffers
	LineKind      string // payment, refund or payout
	ChargeID      string // the charge (out_trade_no) concerned
	RefundID      string // polypay's refund id, if known
	RefundNo      string // the refund's order_no, if any
	TransferID    string // the transfer concerned (tr_ + the line's PayoutNo), for payouts
	TransactionNo string
	Currency      string
	ChannelAmount int64 // 0 when the channel has no line
	PolypayAmount int64 // 0 when polypay has no record
	ChannelStatus string
	PolypayStatus string
	Detail        string
	Resolved      bool
	ResolvedBy    string
	Note          string
	ResolvedAt    int64
	Created       int64
}

// DiscrepancyFilter selects discrepancies; empty fields match everything.
type DiscrepancyFilter struct {
	AppID  string
	Live   *bool
	Family string
	Day    string
	RunID  string
	Open   *bool // true: unresolved only; false: resolved only
	Limit  int   // default 500
}

// FeeLine is one statement line's fee, for Tx.PostFee.
type FeeLine struct {
	RefID    string // the line's key: "pay:<charge id>", "refund:<refund no>" or "payout:<transfer id>"
	AppID    string
	Live     bool
	Channel  string // the charge's (or transfer's) channel: its clearing account is credited
	Day      string
	Currency string
	Amount   int64 // > 0 taken, < 0 given back
	RunID    string
}

// ChannelTotals are an app's money movements on one channel in a period.
type ChannelTotals struct {
	Channel     string
	Currency    string
	Charges     int64 // payments
	Gross       int64 // their amount captured
	Refunds     int64 // succeeded refunds
	RefundTotal int64
	Fees        int64 // fees posted for statement lines of the day(s)
	FeeLines    int64
}
