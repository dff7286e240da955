package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"

	// Registers the family descriptors, which say whose statements list
	// payouts (polypay.Family.StatementPayouts).
	_ "github.com/polypay/polypay/channel"
)

// The payout tests run the engine against a real store (SQLite, and
// PostgreSQL when POLYPAY_TEST_POSTGRES is set) with synthetic statements:
// the statement is the channel's word, so a fixed list of lines is the
// channel here; the store and the engine are the real ones.

const payoutDay = "2026-03-10"

// dayStart is payoutDay's first second in Beijing time.
var dayStart, _, _ = reconcile.DayBounds(payoutDay, reconcile.Shanghai)

// payoutFamilies are the three China families with their charge channels
// as the registry lists them (transfer channels derive from these).
type payoutFamilies struct{ lines []polypay.StatementLine }

func (payoutFamilies) FamilyChannels(f string) []string {
	return map[string][]string{
		"alipay": {"alipay", "alipay_qr", "alipay_wap"},
		"wx":     {"wx", "wx_lite", "wx_pub", "wx_pub_qr"},
		"upacp":  {"upacp", "upacp_wap"},
	}[f]
}

func (p payoutFamilies) Statementer(context.Context, string, bool, string) (polypay.Statementer, error) {
	return statement(p.lines), nil
}

type statement []polypay.StatementLine

func (s statement) Statement(_ context.Context, day string) ([]polypay.StatementLine, error) {
	if day != payoutDay {
		return nil, polypay.NotFound("statement", day)
	}
	return slices.Clone(s), nil
}

// chargeSettler is core without a way to settle transfers: reconciling
// payouts must not reach it.
type chargeSettler struct{}

func (chargeSettler) SettleCharge(context.Context, string) (*polypay.Charge, polypay.NotifyOutcome, error) {
	return nil, "", errors.New("unexpected charge query")
}

func (chargeSettler) SettleRefund(context.Context, string) (*polypay.Refund, error) {
	return nil, errors.New("unexpected refund query")
}

// transferSettler stands in for core's SettleTransfer: the channel answers
// that the transfer was paid (or the query fails), and the answer is
// applied as core applies a payout: status, time, ledger posting.
type transferSettler struct {
	chargeSettler
	db   *store.DB
	fail bool
	mu   sync.Mutex
	asks []string
}

func (s *transferSettler) SettleTransfer(ctx context.Context, id string) (*polypay.Transfer, error) {
	s.mu.Lock()
	s.asks = append(s.asks, id)
	s.mu.Unlock()
	if s.fail {
		return nil, errors.New("channel unreachable")
	}
	var out *polypay.Transfer
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.LockTransfer(ctx, id)
		if err != nil || !t.Status.CanBecome(polypay.TransferPaid) {
			return err
		}
		t.Status, t.TimeTransferred, t.TransactionNo = polypay.TransferPaid, dayStart+7200, "20260310"+t.PayoutNo()
		if err := tx.Post(ctx, ledger.TransferPaid(&t.Transfer)); err != nil {
			return err
		}
		out = &t.Transfer
		return tx.UpdateTransfer(ctx, t)
	})
	return out, err
}

// tr is one transfer a case stores.
type tr struct {
	name     string
	otherApp bool
	live     bool
	channel  string // "" alipay
	amount   int64
	status   polypay.TransferStatus // "" paid
	paidAt   int64                  // seconds after the day starts (paid ones); < 0 the day before
	noPost   bool                   // paid without its ledger posting
	noTxn    bool                   // paid without the channel's transaction number
}

// ln is one statement line: a payout of a named transfer (or of a number
// polypay never made, when no transfer has that name).
type ln struct {
	of     string
	amount int64
	fee    int64
}

// found is one discrepancy: its kind and the name of its transfer.
type found struct{ kind, transfer string }

func TestRunPayouts(t *testing.T) {
	ctx := context.Background()
	const (
		none    = iota // core without SettleTransfer
		settles        // SettleTransfer pays
		fails          // SettleTransfer's query fails
	)
	tests := []struct {
		name      string
		family    string
		transfers []tr
		lines     []ln
		settler   int
		want      []found
		matched   int64
		settled   int64
		fees      int64 // the fee amount posted by the first run
	}{
		{name: "Matched", family: "alipay",
			transfers: []tr{{name: "a", amount: 1000}, {name: "b", amount: 250, paidAt: 86399}},
			lines:     []ln{{"a", 1000, 0}, {"b", 250, 0}}, matched: 2},
		{name: "WechatChannels", family: "wx",
			transfers: []tr{{name: "app", channel: "wx", amount: 100}, {name: "pub", channel: "wx_pub", amount: 200},
				{name: "lite", channel: "wx_lite", amount: 300}},
			lines: []ln{{"app", 100, 0}, {"pub", 200, 0}, {"lite", 300, 0}}, matched: 3},
		{name: "UnionPay", family: "upacp",
			transfers: []tr{{name: "card", channel: "unionpay", amount: 5000}},
			lines:     []ln{{"card", 5000, 0}}, matched: 1},
		{name: "OnlyChannelUnknown", family: "alipay",
			lines: []ln{{"ghost", 900, 0}}, want: []found{{reconcile.OnlyChannel, "ghost"}}},
		{name: "OnlyChannelOtherApp", family: "alipay",
			transfers: []tr{{name: "theirs", otherApp: true, amount: 400}},
			lines:     []ln{{"theirs", 400, 0}}, want: []found{{reconcile.OnlyChannel, "theirs"}}},
		{name: "OnlyChannelOtherMode", family: "alipay",
			transfers: []tr{{name: "live", live: true, amount: 400}},
			lines:     []ln{{"live", 400, 0}}, want: []found{{reconcile.OnlyChannel, "live"}}},
		{name: "OnlyChannelOtherFamily", family: "alipay",
			transfers: []tr{{name: "wx", channel: "wx_pub", amount: 400}},
			lines:     []ln{{"wx", 400, 0}}, want: []found{{reconcile.OnlyChannel, "wx"}}},
		{name: "OnlyChannelDuplicate", family: "alipay",
			transfers: []tr{{name: "a", amount: 700}},
			lines:     []ln{{"a", 700, 0}, {"a", 700, 0}}, matched: 1, want: []found{{reconcile.OnlyChannel, "a"}}},
		{name: "StatusDiffersPendingUnsettled", family: "alipay",
			transfers: []tr{{name: "p", amount: 600, status: polypay.TransferPending}},
			lines:     []ln{{"p", 600, 0}}, want: []found{{reconcile.StatusDiffers, "p"}}},
		{name: "StatusDiffersSettled", family: "alipay", settler: settles,
			transfers: []tr{{name: "p", amount: 600, status: polypay.TransferPending}},
			lines:     []ln{{"p", 600, 0}}, matched: 1, settled: 1},
		{name: "StatusDiffersQueryFails", family: "alipay", settler: fails,
			transfers: []tr{{name: "p", amount: 600, status: polypay.TransferPending}},
			lines:     []ln{{"p", 600, 0}}, want: []found{{reconcile.StatusDiffers, "p"}}},
		{name: "StatusDiffersFailedNotSettleable", family: "alipay", settler: settles,
			transfers: []tr{{name: "f", amount: 600, status: polypay.TransferFailed}, {name: "s", amount: 80, status: polypay.TransferScheduled}},
			lines:     []ln{{"f", 600, 0}, {"s", 80, 0}},
			want:      []found{{reconcile.StatusDiffers, "f"}, {reconcile.StatusDiffers, "s"}}},
		{name: "AmountDiffers", family: "alipay",
			transfers: []tr{{name: "a", amount: 1000}},
			lines:     []ln{{"a", 1001, 0}}, want: []found{{reconcile.AmountDiffers, "a"}}},
		{name: "LedgerDiffers", family: "alipay",
			transfers: []tr{{name: "a", amount: 1000, noPost: true}},
			lines:     []ln{{"a", 1000, 0}}, want: []found{{reconcile.AmountDiffers, "a"}}},
		{name: "OnlyPolypay", family: "alipay",
			transfers: []tr{{name: "a", amount: 1000}, {name: "unstated", amount: 300, paidAt: 60},
				{name: "yesterday", amount: 300, paidAt: -1}, {name: "pending", amount: 300, status: polypay.TransferPending},
				{name: "failed", amount: 300, status: polypay.TransferFailed}, {name: "wx", channel: "wx", amount: 300}},
			lines: []ln{{"a", 1000, 0}}, matched: 1, want: []found{{reconcile.OnlyPolypay, "unstated"}}},
		{name: "FeesPostedOnce", family: "alipay",
			transfers: []tr{{name: "a", amount: 1000}, {name: "b", amount: 2000}},
			lines:     []ln{{"a", 1000, 2}, {"b", 2000, 0}, {"ghost", 50, 1}}, matched: 2, fees: 2,
			want: []found{{reconcile.OnlyChannel, "ghost"}}},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					app, other := newApp(t, db), newApp(t, db)
					ids := storeTransfers(t, db, app, other, tc.transfers)
					names := map[string]string{}
					for n, id := range ids {
						names[id] = n
					}
					var lines []polypay.StatementLine
					for _, l := range tc.lines {
						id := ids[l.of]
						if id == "" {
							id = "tr_" + strings.Repeat("0", 24-len(l.of)) + l.of
							names[id] = l.of
						}
						lines = append(lines, polypay.StatementLine{Kind: polypay.StatementPayout, PayoutNo: strings.TrimPrefix(id, "tr_"),
							TransactionNo: "2026031000" + id[3:], Amount: l.amount, Fee: l.fee, Currency: "cny", At: dayStart + 100})
					}
					var settler reconcile.Settler = chargeSettler{}
					ts := &transferSettler{db: db, fail: tc.settler == fails}
					if tc.settler != none {
						settler = ts
					}
					e := newEngine(db, lines, settler)
					for run := 1; run <= 2; run++ {
						res, err := e.Run(ctx, reconcile.Request{AppID: app, Family: tc.family, Day: payoutDay})
						if err != nil {
							t.Fatalf("run %d: %v", run, err)
						}
						var got []found
						for _, d := range res.Discrepancies {
							got = append(got, found{d.Kind, names[d.TransferID]})
							if d.LineKind != string(polypay.StatementPayout) || d.ChargeID != "" {
								t.Errorf("run %d: discrepancy %+v: want a payout one naming no charge", run, d)
							}
						}
						if !sameFound(got, tc.want) {
							t.Errorf("run %d: discrepancies %v, want %v", run, got, tc.want)
						}
						x := res.Run
						wantSettled, wantFees := tc.settled, tc.fees
						if run == 2 {
							wantSettled, wantFees = 0, 0 // settled and posted by the first run
						}
						if x.Status != reconcile.RunDone || x.StatementLines != int64(len(lines)) || x.Matched != tc.matched ||
							x.Settled != wantSettled || x.Open != int64(len(tc.want)) || x.FeeAmount != wantFees || x.Progress != x.Total {
							t.Errorf("run %d: %+v", run, *x)
						}
					}
					if tc.settler == fails && !strings.Contains(fmt.Sprint(openDetails(t, e, app)), "query failed: channel unreachable") {
						t.Errorf("a failed query is not in the detail: %v", openDetails(t, e, app))
					}
					if tc.settler == settles && len(ts.asks) != int(tc.settled) {
						t.Errorf("asked the channel about %v, want %d queries (pending transfers only)", ts.asks, tc.settled)
					}
					for n, id := range ids {
						if fee := ledgerSum(t, db, ledger.RefFee, "payout:"+id, ledger.AccountFees); fee != feeOf(tc.lines, n) {
							t.Errorf("fee posted for %s: %d, want %d", n, fee, feeOf(tc.lines, n))
						}
					}
				})
			}
		})
	}
}

// TestRunPayoutsResolved: a resolved payout discrepancy stays resolved on
// a re-run, and another transfer's alike in every amount (and without
// transaction numbers to tell them apart) stays open.
func TestRunPayoutsResolved(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			app, other := newApp(t, db), newApp(t, db)
			ids := storeTransfers(t, db, app, other, []tr{{name: "x", amount: 300, noTxn: true}, {name: "y", amount: 300, noTxn: true}})
			e := newEngine(db, nil, chargeSettler{})
			res, err := e.Run(ctx, reconcile.Request{AppID: app, Family: "alipay", Day: payoutDay})
			if err != nil || len(res.Discrepancies) != 2 {
				t.Fatalf("first run: %v %+v", err, res)
			}
			var x *reconcile.Discrepancy
			for _, d := range res.Discrepancies {
				if d.TransferID == ids["x"] {
					x = d
				}
			}
			if x == nil || x.Kind != reconcile.OnlyPolypay || x.PolypayAmount != 300 || x.PolypayStatus != "paid" {
				t.Fatalf("no only_in_polypay discrepancy for x: %+v", res.Discrepancies)
			}
			if _, err := e.ResolveDiscrepancy(ctx, x.ID, "finance@shop", "paid by hand, channel file late"); err != nil {
				t.Fatal(err)
			}
			res, err = e.Run(ctx, reconcile.Request{AppID: app, Family: "alipay", Day: payoutDay})
			if err != nil || len(res.Discrepancies) != 1 || res.Discrepancies[0].TransferID != ids["y"] {
				t.Fatalf("re-run: %v, open %+v; want y's only", err, res.Discrepancies)
			}
		})
	}
}

// TestRunPayoutsWithCharges: payout lines leave the charges' matching as
// it was, and the books balance with both lines' fees posted.
func TestRunPayoutsWithCharges(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			app, other := newApp(t, db), newApp(t, db)
			ids := storeTransfers(t, db, app, other, []tr{{name: "a", amount: 1000}})
			c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Channel: "alipay_qr", OrderNo: "o1", ClientIP: "127.0.0.1",
				Amount: 500, AmountSettle: 500, AmountCaptured: 500, Currency: "cny", Subject: "s", Body: "b",
				Extra: []byte("{}"), Metadata: []byte("{}"), Status: polypay.ChargePaid, Created: dayStart,
				TimePaid: dayStart + 10, TimeExpire: dayStart + 86400, ParamsHash: "h"}
			if err := db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.InsertCharge(ctx, c, 0); err != nil {
					return err
				}
				return tx.Post(ctx, ledger.ChargePaid(c))
			}); err != nil {
				t.Fatal(err)
			}
			lines := []polypay.StatementLine{
				{Kind: polypay.StatementPayment, OutTradeNo: c.ID, Amount: 500, Fee: 3, Currency: "cny"},
				{Kind: polypay.StatementPayout, PayoutNo: strings.TrimPrefix(ids["a"], "tr_"), OutTradeNo: c.ID, Amount: 1000, Fee: 2, Currency: "cny"},
			}
			e := newEngine(db, lines, chargeSettler{})
			res, err := e.Run(ctx, reconcile.Request{AppID: app, Family: "alipay", Day: payoutDay})
			if err != nil || res.Run.Matched != 2 || res.Run.Open != 0 || res.Run.FeeAmount != 3+2 {
				t.Fatalf("run: %v %+v", err, res.Run)
			}
			if res.Lines[1].TransferID != ids["a"] || res.Lines[1].ChargeID != "" {
				t.Fatalf("payout line %+v: want it about the transfer only", res.Lines[1])
			}
			if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) != 0 {
				t.Fatalf("ledger check: %v %v", err, probs)
			}
		})
	}
}

// newEngine reconciles against lines, its days cut in Beijing time.
func newEngine(db *store.DB, lines []polypay.StatementLine, settler reconcile.Settler) *reconcile.Engine {
	return &reconcile.Engine{Store: db, Channels: payoutFamilies{lines}, Settler: settler,
		Zone: func(string) *time.Location { return reconcile.Shanghai }}
}

func newApp(t *testing.T, db *store.DB) string {
	t.Helper()
	id := polypay.NewAppID()
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		return tx.InsertApp(context.Background(), &polypay.App{ID: id, Name: "t", Created: tx.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// storeTransfers stores a case's transfers (paid ones with their ledger
// posting) and returns their ids by name.
func storeTransfers(t *testing.T, db *store.DB, app, other string, ts []tr) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	err := db.Write(ctx, func(tx *store.Tx) error {
		for i, x := range ts {
			row := &store.TransferRow{Transfer: polypay.Transfer{ID: polypay.NewID("tr_"), AppID: app, Livemode: x.live,
				Channel: x.channel, OrderNo: fmt.Sprintf("po%d", i), Type: "b2c", Amount: x.amount, Currency: "cny",
				Recipient: "payee@example.com", Extra: []byte("{}"), Metadata: []byte("{}"), Status: x.status,
				Created: dayStart - 600, CreatedBy: "api"}}
			if x.otherApp {
				row.AppID = other
			}
			if row.Channel == "" {
				row.Channel = "alipay"
			}
			if row.Status == "" {
				row.Status = polypay.TransferPaid
			}
			if row.Status == polypay.TransferPaid {
				row.TimeTransferred, row.TransactionNo, row.Sent = dayStart+x.paidAt, "2026031000"+row.ID[3:], true
				if x.noTxn {
					row.TransactionNo = ""
				}
				if x.paidAt < 0 {
					row.TimeTransferred = dayStart - 3600
				}
			}
			if err := tx.InsertTransfer(ctx, row, 0); err != nil {
				return err
			}
			if row.Status == polypay.TransferPaid && !x.noPost {
				if err := tx.Post(ctx, ledger.TransferPaid(&row.Transfer)); err != nil {
					return err
				}
			}
			ids[x.name] = row.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func sameFound(a, b []found) bool {
	key := func(f found) string { return f.kind + "/" + f.transfer }
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i, f := range a {
		as[i] = key(f)
	}
	for i, f := range b {
		bs[i] = key(f)
	}
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

func openDetails(t *testing.T, e *reconcile.Engine, app string) []string {
	t.Helper()
	yes := true
	ds, err := e.Discrepancies(context.Background(), reconcile.DiscrepancyFilter{AppID: app, Open: &yes})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Detail)
	}
	return out
}

func ledgerSum(t *testing.T, db *store.DB, refType, refID, account string) int64 {
	t.Helper()
	var v int64
	if err := db.ReadRecon(context.Background(), func(tx reconcile.Tx) (err error) {
		v, err = tx.LedgerSum(context.Background(), refType, refID, account)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// feeOf is the fee of the first line of a transfer (a duplicate's fee is
// not posted).
func feeOf(lines []ln, name string) int64 {
	for _, l := range lines {
		if l.of == name {
			return l.fee
		}
	}
	return 0
}
