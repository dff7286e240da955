// Package reconcile checks polypay's records against the channels' own
// statements (对账): for one app, mode, channel family and day it downloads
// the statement through the connector (polypay.Statementer), matches it
// line by line with the charges, refunds, transfers and ledger postings of
// that day, settles by an active query what a query can settle, posts the
// channel's fees to the ledger once per line, and keeps what is left as
// open discrepancies until someone resolves them with a note.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/polypay/polypay"
)

// Channels gives the statements of an app's channel families.
type Channels interface {
	// Statementer returns the connector fetching statements of a family
	// for an app and mode; EInvalid without credentials, ENotSupported
	// when the family has no statements.
	Statementer(ctx context.Context, appID string, live bool, family string) (polypay.Statementer, error)
	// FamilyChannels lists the Ping++ channels of a family.
	FamilyChannels(family string) []string
}

// Coverer is a Channels that knows which sub-apps' payments a provider's
// statement lists (a UnionPay platform's file holds its sub-merchants'
// trades): a run of the provider reconciles them too.
type Coverer interface {
	StatementCovers(ctx context.Context, appID string, live bool, family string) ([]string, error)
}

// Settler asks a channel about one charge or refund and applies the
// answer the way the poller does (core.Service implements it).
type Settler interface {
	// SettleCharge queries the channel about a charge and applies a final
	// answer; ENotFound for an unknown charge, else the connector's errors.
	SettleCharge(ctx context.Context, chargeID string) (*polypay.Charge, polypay.NotifyOutcome, error)
	// SettleRefund queries the channel about a pending refund (by its
	// order_no) and applies a final answer; ENotFound for an unknown
	// refund, else the connector's errors.
	SettleRefund(ctx context.Context, orderNo string) (*polypay.Refund, error)
}

// TransferSettler is a Settler that can also settle a transfer: ask the
// channel about a pending transfer (QueryTransfer, never a send) and apply
// a final answer the way the transfer poller does. It is optional: with a
// Settler that lacks it, a payout line whose transfer polypay still holds
// pending stays status_differs until a later run, the poller having
// settled it meanwhile.
type TransferSettler interface {
	// SettleTransfer returns the transfer as it is afterwards; ENotFound
	// for an unknown transfer, else the connector's errors.
	SettleTransfer(ctx context.Context, transferID string) (*polypay.Transfer, error)
}

// Engine runs reconciliations.
type Engine struct {
	Store    Store
	Channels Channels
	Settler  Settler
	Log      *slog.Logger
	// Zone overrides the time zone of a family's statement days (see Zone).
	Zone func(family string) *time.Location
}

// Shanghai is Beijing time, the day of the China channels' statements. A
// fixed zone needs no tzdata.
var Shanghai = polypay.ChinaTime

// Zone is the time zone a family's statements are cut in, as its
// descriptor says (polypay.Family.StatementZone): Beijing time for the
// China channels, UTC for the card and PayPal families, and for a name no
// family has.
func Zone(family string) *time.Location {
	if f := polypay.LookupFamily(family); f != nil && f.StatementZone != nil {
		return f.StatementZone
	}
	return time.UTC
}

func (e *Engine) zone(family string) *time.Location {
	if e.Zone != nil {
		if z := e.Zone(family); z != nil {
			return z
		}
	}
	base, _, _ := cut(family)
	return Zone(base)
}

func cut(family string) (string, string, bool) {
	for i := 0; i < len(family); i++ {
		if family[i] == '@' {
			return family[:i], family[i+1:], true
		}
	}
	return family, "", false
}

// DayBounds returns the unix seconds [from, to) of day in loc.
func DayBounds(day string, loc *time.Location) (int64, int64, error) {
	t, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil || t.Format("2006-01-02") != day {
		return 0, 0, polypay.ParamError("date", "日期应为 YYYY-MM-DD: %q", day)
	}
	return t.Unix(), t.AddDate(0, 0, 1).Unix(), nil
}

// Request names one reconciliation.
type Request struct {
	AppID  string
	Live   bool
	Family string // "alipay", "wx", ... (may name an account, "alipay@shop2")
	Day    string // YYYY-MM-DD in the family's zone
	// Progress, when set, is told about each step as it is done.
	Progress func(Progress)
}

// Progress is one step of a run.
type Progress struct {
	Step  string // "download", "match", "settle", "save"
	Done  int
	Total int
}

// Matched is the kind of a Line that agrees; the other kinds are those of
// a Discrepancy (OnlyPolypay, ...).
const Matched = "matched"

// Line is one classified item: a statement line, or a record polypay has
// and the statement lacks.
type Line struct {
	Kind      string // Matched or one of the discrepancy kinds
	Statement *polypay.StatementLine
	ChargeID  string
	RefundID  string
	RefundNo  string
	// TransferID is the transfer a payout line names (tr_ + its
	// PayoutNo), or a paid transfer no line names.
	TransferID string
	Settled    bool // a query settled a difference and it now matches
	Detail     string
}

// Result is a finished run.
type Result struct {
	Run           *Run
	Lines         []*Line
	Discrepancies []*Discrepancy // the open ones this run left
}

// item is one thing to classify, with what polypay knows of it.
type item struct {
	line     *polypay.StatementLine // nil: only polypay has it
	charge   *polypay.Charge
	refund   *polypay.Refund
	transfer *polypay.Transfer // payout lines and unstated transfers
	out      Line
	disc     *Discrepancy
	dup      bool
}

// records are polypay's side of a day: charges paid, refunds made and
// transfers paid in it.
type records struct {
	charges   []*polypay.Charge
	refunds   []*polypay.Refund
	transfers []*polypay.Transfer
}

// Run reconciles one app's family for one day and stores the outcome: the
// run with its counts, the day's open discrepancies (replacing those of an
// earlier run; resolved ones stay) and the fee postings of lines not
// posted before, in one transaction.
//
// Errors: EInvalid for a malformed day or a family the app cannot use;
// ENotSupported when the family has no statements; the connector's errors
// (the run is then stored as failed).
func (e *Engine) Run(ctx context.Context, req Request) (*Result, error) {
	from, to, err := DayBounds(req.Day, e.zone(req.Family))
	if err != nil {
		return nil, err
	}
	chans := e.Channels.FamilyChannels(req.Family)
	if len(chans) == 0 {
		return nil, polypay.ParamError("channel", "未知的渠道类型 %s", req.Family)
	}
	st, err := e.Channels.Statementer(ctx, req.AppID, req.Live, req.Family)
	if err != nil {
		return nil, err
	}
	run := &Run{ID: polypay.NewID("rcn_"), AppID: req.AppID, Live: req.Live, Family: req.Family, Day: req.Day,
		Status: RunRunning, Total: 3}
	if err := e.Store.WriteRecon(ctx, func(tx Tx) error {
		run.Started = tx.Now()
		return tx.InsertReconRun(ctx, run)
	}); err != nil {
		return nil, err
	}
	res, err := e.run(ctx, req, st, run, chans, from, to)
	if err != nil {
		run.Status, run.Error = RunFailed, errorText(err)
		if werr := e.Store.WriteRecon(context.WithoutCancel(ctx), func(tx Tx) error {
			run.Finished = tx.Now()
			return tx.UpdateReconRun(ctx, run)
		}); werr != nil && e.Log != nil {
			e.Log.Error("reconcile: recording a failed run", "run", run.ID, "err", werr)
		}
		return nil, err
	}
	return res, nil
}

func errorText(err error) string {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		return pe.Code + ": " + pe.Message
	}
	return err.Error()
}

func (e *Engine) progress(req Request, run *Run, step string) {
	run.Progress++
	if req.Progress != nil {
		req.Progress(Progress{Step: step, Done: int(run.Progress), Total: int(run.Total)})
	}
}

func (e *Engine) run(ctx context.Context, req Request, st polypay.Statementer, run *Run, chans []string, from, to int64) (*Result, error) {
	m := &matcher{req: req, chans: chans, payoutChans: payoutChannels(chans), covered: map[string]bool{}}
	if cv, ok := e.Channels.(Coverer); ok {
		apps, err := cv.StatementCovers(ctx, req.AppID, req.Live, req.Family)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			m.covered[a] = true
		}
	}
	lines, recs, err := e.load(ctx, req, st, m, from, to)
	if err != nil {
		return nil, err
	}
	run.StatementLines = int64(len(lines))
	run.Total = int64(1 + len(lines) + len(recs.charges) + len(recs.refunds) + len(recs.transfers) + 1)
	e.progress(req, run, "download")

	items, err := m.match(ctx, e.Store, lines, recs, func() { e.progress(req, run, "match") })
	if err != nil {
		return nil, err
	}
	if err := e.settleAll(ctx, req, run, m, items); err != nil {
		return nil, err
	}
	res := &Result{Run: run}
	for _, it := range items {
		res.Lines = append(res.Lines, &it.out)
	}
	if res.Discrepancies, err = e.save(ctx, req, run, items); err != nil {
		return nil, err
	}
	if req.Progress != nil {
		req.Progress(Progress{Step: "save", Done: int(run.Total), Total: int(run.Total)})
	}
	return res, nil
}

// load downloads the day's statement and reads polypay's charges paid,
// refunds made and transfers paid that day.
func (e *Engine) load(ctx context.Context, req Request, st polypay.Statementer, m *matcher, from, to int64) (
	lines []polypay.StatementLine, recs records, err error) {
	lines, err = st.Statement(ctx, req.Day)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		// No statement: the channel saw no money move that day (or has
		// not made the file yet); whatever polypay has is then unmatched.
		lines, err = nil, nil
	}
	if err != nil {
		return nil, recs, fmt.Errorf("statement of %s for %s: %w", req.Family, req.Day, err)
	}
	err = e.Store.ReadRecon(ctx, func(tx Tx) error {
		for _, app := range append([]string{req.AppID}, slices.Sorted(maps.Keys(m.covered))...) {
			charges, err := tx.ChargesPaidBetween(ctx, app, req.Live, m.chans, from, to)
			if err != nil {
				return err
			}
			refunds, err := tx.RefundsCreatedBetween(ctx, app, req.Live, m.chans, from, to)
			if err != nil {
				return err
			}
			recs.charges, recs.refunds = append(recs.charges, charges...), append(recs.refunds, refunds...)
		}
		var err error
		recs.transfers, err = tx.TransfersPaidBetween(ctx, req.AppID, req.Live, m.payoutChans, from, to)
		return err
	})
	if err != nil {
		return nil, recs, err
	}
	return lines, recs, nil
}

// settleAll settles what a query can: the channel's word then goes through
// the same path as a notification or the poller, and the item is checked
// again against what polypay now holds. A query that fails leaves the item
// as it was, its detail saying so.
func (e *Engine) settleAll(ctx context.Context, req Request, run *Run, m *matcher, items []*item) error {
	var settle []*item
	for _, it := range items {
		if e.settleable(it) {
			settle = append(settle, it)
		}
	}
	run.Total += int64(len(settle))
	for _, it := range settle {
		if err := e.settle(ctx, it); err != nil {
			it.out.Detail += fmt.Sprintf("; query failed: %v", errorText(err))
			if e.Log != nil {
				e.Log.Warn("reconcile: settling by query", "charge", it.out.ChargeID, "refund_no", it.out.RefundNo,
					"transfer", it.out.TransferID, "err", err)
			}
		} else if err := m.recheck(ctx, e.Store, it); err != nil {
			return err
		}
		e.progress(req, run, "settle")
	}
	return nil
}

// save stores the outcome in one transaction: the run's counts, the fee
// postings of lines not posted before and the day's open discrepancies
// (replacing those of an earlier run). It returns the discrepancies left
// open.
func (e *Engine) save(ctx context.Context, req Request, run *Run, items []*item) ([]*Discrepancy, error) {
	var open []*Discrepancy
	err := e.Store.WriteRecon(ctx, func(tx Tx) error {
		run.Matched, run.OnlyPolypay, run.OnlyChannel, run.AmountDiffers, run.StatusDiffers = 0, 0, 0, 0, 0
		run.Settled, run.Open, run.FeesPosted, run.FeeAmount = 0, 0, 0, 0
		var discs []*Discrepancy
		for _, it := range items {
			run.count(&it.out)
			if it.out.Kind != Matched {
				discs = append(discs, discrepancy(req, run.ID, it))
			}
			if f, ok := feeOf(req, run.ID, it); ok {
				posted, err := tx.PostFee(ctx, f)
				if err != nil {
					return err
				}
				if posted {
					run.FeesPosted++
					run.FeeAmount += f.Amount
				}
			}
		}
		var err error
		if open, err = tx.ReplaceOpenDiscrepancies(ctx, req.AppID, req.Live, req.Family, req.Day, discs); err != nil {
			return err
		}
		run.Open = int64(len(open))
		run.Status, run.Progress, run.Finished = RunDone, run.Total, tx.Now()
		return tx.UpdateReconRun(ctx, run)
	})
	if err != nil {
		return nil, err
	}
	return open, nil
}

// count adds a classified line to the run's counts.
func (r *Run) count(l *Line) {
	switch l.Kind {
	case Matched:
		r.Matched++
	case OnlyPolypay:
		r.OnlyPolypay++
	case OnlyChannel:
		r.OnlyChannel++
	case AmountDiffers:
		r.AmountDiffers++
	case StatusDiffers:
		r.StatusDiffers++
	}
	if l.Settled {
		r.Settled++
	}
}

// settleable: polypay is behind the channel in a way a query can fix. A
// transfer polypay failed (or never sent) while the channel paid it is
// not: decided transfers never change, so that one waits for a person.
func (e *Engine) settleable(it *item) bool {
	if it.out.Kind != StatusDiffers || it.line == nil {
		return false
	}
	switch it.line.Kind {
	case polypay.StatementPayment:
		return it.charge != nil && !it.charge.Paid()
	case polypay.StatementRefund:
		return it.refund != nil && it.refund.Status == polypay.RefundPending
	case polypay.StatementPayout:
		_, ok := e.Settler.(TransferSettler)
		return ok && it.transfer != nil && it.transfer.Status == polypay.TransferPending
	}
	return false
}

func (e *Engine) settle(ctx context.Context, it *item) error {
	switch it.line.Kind {
	case polypay.StatementPayment:
		_, _, err := e.Settler.SettleCharge(ctx, it.charge.ID)
		return err
	case polypay.StatementPayout:
		_, err := e.Settler.(TransferSettler).SettleTransfer(ctx, it.transfer.ID)
		return err
	}
	_, err := e.Settler.SettleRefund(ctx, it.refund.OrderNo)
	return err
}

func discrepancy(req Request, runID string, it *item) *Discrepancy {
	d := &Discrepancy{RunID: runID, AppID: req.AppID, Live: req.Live, Family: req.Family, Day: req.Day,
		Kind: it.out.Kind, ChargeID: it.out.ChargeID, RefundID: it.out.RefundID, RefundNo: it.out.RefundNo,
		TransferID: it.out.TransferID, Detail: it.out.Detail}
	if l := it.line; l != nil {
		d.LineKind, d.TransactionNo, d.Currency, d.ChannelAmount = string(l.Kind), l.TransactionNo, l.Currency, l.Amount
		d.ChannelStatus = "succeeded"
	}
	switch {
	case it.transfer != nil:
		t := it.transfer
		d.PolypayAmount, d.PolypayStatus, d.Currency = t.Amount, string(t.Status), t.Currency
		if d.LineKind == "" {
			d.LineKind = string(polypay.StatementPayout)
		}
		if d.TransactionNo == "" {
			d.TransactionNo = t.TransactionNo
		}
	case it.refund != nil:
		d.PolypayAmount, d.PolypayStatus, d.Currency = it.refund.Amount, string(it.refund.Status), it.refund.Currency
		if d.LineKind == "" {
			d.LineKind = string(polypay.StatementRefund)
		}
	case it.charge != nil:
		d.PolypayAmount, d.PolypayStatus, d.Currency = captured(it.charge), string(it.charge.Status), it.charge.Currency
		if d.LineKind == "" {
			d.LineKind = string(polypay.StatementPayment)
		}
		if d.TransactionNo == "" {
			d.TransactionNo = it.charge.TransactionNo
		}
	}
	return d
}

// feeOf is the ledger posting of a line's fee: only for lines tied to one
// of the app's charges or transfers (the fee of a line polypay cannot
// place waits until someone finds out whose money it was), keyed by the
// line.
func feeOf(req Request, runID string, it *item) (FeeLine, bool) {
	l := it.line
	if l == nil || l.Fee == 0 || it.dup {
		return FeeLine{}, false
	}
	if t := it.transfer; t != nil {
		return FeeLine{RefID: "payout:" + t.ID, AppID: req.AppID, Live: req.Live, Channel: t.Channel, Day: req.Day,
			Currency: t.Currency, Amount: l.Fee, RunID: runID}, true
	}
	if it.charge == nil {
		return FeeLine{}, false
	}
	ref := "pay:" + it.charge.ID
	if l.Kind == polypay.StatementRefund {
		ref = "refund:" + l.RefundNo
		if l.RefundNo == "" {
			ref = "reverse:" + it.charge.ID
		}
	}
	return FeeLine{RefID: ref, AppID: req.AppID, Live: req.Live, Channel: it.charge.Channel, Day: req.Day,
		Currency: it.charge.Currency, Amount: l.Fee, RunID: runID}, true
}

func captured(c *polypay.Charge) int64 {
	if c.AmountCaptured != 0 {
		return c.AmountCaptured
	}
	return c.Amount
}
