// Package channeltest holds what every connector is tested against alike.
// Run is the conformance suite a family runs with one Harness (harness.go,
// suite.go); Notify delivers notifications, signed as the channel (its simulator's
// key) signs them, through core's HandleNotification into a fresh store,
// and checks what they did: the outcome logged, the answer to the channel,
// the charge and refund afterwards, the events and the ledger.
package channeltest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// Family is one channel family's connector as HandleNotification gets it.
type Family struct {
	Name       string          // the family in the notify URL: alipay, wx, upacp, stripe, paypal
	Conn       polypay.Channel // the connector, on its simulator
	MerchantID string          // the channel-side merchant notifications must name
	// TradeID is the family's (the registry's) core.Channels.TradeID.
	TradeID func(*polypay.Charge) string
}

// NotifyCase is one notification delivered to a fresh store.
type NotifyCase struct {
	Name string
	// Charge is the charge as polypay keeps it when the notification
	// arrives; the harness sets its app and fills what a test leaves
	// empty. A paid one comes with its ledger posting.
	Charge polypay.Charge
	// Refund, when set, is a pending refund of the (paid) charge.
	Refund *polypay.Refund
	// Request makes the notification as the channel POSTs it.
	Request func(t *testing.T) *http.Request
	// Earlier are notifications delivered before Request (a duplicate's
	// first copy, a refund before a late payment notification); only
	// Request's outcome and answer are checked, the state after all.
	Earlier []func(t *testing.T) *http.Request

	Outcome polypay.NotifyOutcome // the outcome the notification log records (a prefix)
	Acked   bool                  // whether the channel is told the notification was taken
	// Status is the charge's status afterwards, RefundStatus the refund's.
	Status       polypay.ChargeStatus
	RefundStatus polypay.RefundStatus
	Events       int // events about the charge (and its refunds) written
}

// Notify runs every case on every store backend, each on a fresh store.
func Notify(t *testing.T, f Family, cases []NotifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) { notifyCase(t, b.Open(t), f, tc) })
			}
		})
	}
}

// channels serves one family's connector to core.
type channels struct{ f Family }

var _ core.Channels = channels{}

func (c channels) Channel(context.Context, string, bool, string) (polypay.Channel, error) {
	return c.f.Conn, nil
}
func (c channels) ForNotification(_ context.Context, family, _ string, _ bool) (polypay.Channel, string, error) {
	return c.f.Conn, c.f.MerchantID, nil
}
func (c channels) Family(string) string              { return c.f.Name }
func (c channels) Supported(string) bool             { return true }
func (c channels) TradeID(ch *polypay.Charge) string { return c.f.TradeID(ch) }

func notifyCase(t *testing.T, db *store.DB, f Family, tc NotifyCase) {
	ctx := context.Background()
	app, err := core.CreateApp(ctx, db, "notify")
	if err != nil {
		t.Fatal(err)
	}
	c, r := seedCharge(app.AppID, tc), seedRefund(app.AppID, tc)
	if err := db.Write(ctx, func(tx *store.Tx) error { return insert(ctx, tx, &c, r) }); err != nil {
		t.Fatal(err)
	}
	svc := &core.Service{DB: db, Channels: channels{f}, BaseURL: "http://127.0.0.1", Log: slog.New(slog.DiscardHandler)}
	var got polypay.NotifyReply
	for _, req := range append(append([]func(*testing.T) *http.Request(nil), tc.Earlier...), tc.Request) {
		got = deliver(t, svc, f, app.AppID, req(t))
	}
	if want := f.Conn.Ack(tc.Acked); got.Status != want.Status || got.ContentType != want.ContentType || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("answer to the channel = %d %q %q, want %d %q %q (acknowledged: %v)", got.Status, got.ContentType, got.Body, want.Status, want.ContentType, want.Body, tc.Acked)
	}
	if err := db.Read(ctx, func(tx *store.Tx) error { return checkAfter(ctx, t, tx, app.AppID, &c, r, tc) }); err != nil {
		t.Fatal(err)
	}
	if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) > 0 {
		t.Errorf("ledger check: %v %v", probs, err)
	}
}

// seedCharge is the case's charge as polypay keeps it, in app.
func seedCharge(appID string, tc NotifyCase) polypay.Charge {
	c := tc.Charge
	c.AppID, c.Livemode = appID, false
	now := time.Now().Unix()
	if c.Created == 0 {
		c.Created, c.TimeExpire = now, now+3600
	}
	if c.OrderNo == "" {
		c.OrderNo = "NTF" + c.ID[len(c.ID)-8:]
	}
	if c.Status == "" {
		c.Status = polypay.ChargePending
	}
	c.AmountSettle, c.ClientIP, c.Subject, c.Body = c.Amount, "127.0.0.1", "s", "b"
	c.Extra, c.Metadata = []byte("{}"), []byte("{}")
	return c
}

// seedRefund is the case's pending refund, nil if it has none.
func seedRefund(appID string, tc NotifyCase) *polypay.Refund {
	if tc.Refund == nil {
		return nil
	}
	r := *tc.Refund
	r.AppID, r.Status, r.Created = appID, polypay.RefundPending, time.Now().Unix()
	if r.ID == "" {
		r.ID = polypay.NewID("re_")
	}
	if r.Currency == "" {
		r.Currency = tc.Charge.Currency
	}
	r.Metadata, r.Extra = []byte("{}"), []byte("{}")
	return &r
}

// insert stores the charge (with its posting when paid) and the refund.
func insert(ctx context.Context, tx *store.Tx, c *polypay.Charge, r *polypay.Refund) error {
	if err := tx.InsertCharge(ctx, c, time.Now().Unix()+3600); err != nil {
		return err
	}
	if c.Status == polypay.ChargePaid {
		if err := tx.Post(ctx, ledger.ChargePaid(c)); err != nil {
			return err
		}
	}
	if r == nil {
		return nil
	}
	r.ChargeID, r.ChargeOrderNo = c.ID, c.OrderNo
	if ok, err := tx.ReserveRefund(ctx, c.ID, r.Amount); err != nil || !ok {
		return fmt.Errorf("reserving the refund: %v %v", ok, err)
	}
	return tx.InsertRefund(ctx, r)
}

// deliver hands one notification to core as the HTTP layer does.
func deliver(t *testing.T, svc *core.Service, f Family, appID string, req *http.Request) polypay.NotifyReply {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	got, err := svc.HandleNotification(context.Background(), polypay.NewNotifyRequest(req, body), f.Name, appID, false)
	if err != nil {
		t.Fatalf("HandleNotification: %v", err)
	}
	return got
}

// checkAfter checks the notification log, the charge, its events, the
// refund and the ledger after the case's deliveries.
func checkAfter(ctx context.Context, t *testing.T, tx *store.Tx, appID string, c *polypay.Charge, r *polypay.Refund, tc NotifyCase) error {
	outcomes, err := tx.NotificationOutcomes(ctx, appID)
	if err != nil {
		return err
	}
	if n := 1 + len(tc.Earlier); len(outcomes) != n || !strings.HasPrefix(outcomes[n-1], string(tc.Outcome)) {
		t.Errorf("outcomes logged = %q, want %d, the last %q", outcomes, n, tc.Outcome)
	}
	got, err := tx.GetCharge(ctx, appID, false, c.ID)
	if err != nil {
		return err
	}
	if got.Status != tc.Status || (tc.Status == polypay.ChargePending && got.Paid()) {
		t.Errorf("charge status = %s (time_paid %d), want %s", got.Status, got.TimePaid, tc.Status)
	}
	if got.TransactionNo != c.TransactionNo && tc.Status == c.Status {
		t.Errorf("charge transaction_no = %q, want it kept %q", got.TransactionNo, c.TransactionNo)
	}
	if err := checkEvents(ctx, t, tx, appID, c.ID, tc.Events); err != nil {
		return err
	}
	if err := checkChargeLedger(ctx, t, tx, got, c.Amount); err != nil {
		return err
	}
	if r == nil {
		return nil
	}
	return checkRefund(ctx, t, tx, r, tc.RefundStatus)
}

func checkEvents(ctx context.Context, t *testing.T, tx *store.Tx, appID, chargeID string, want int) error {
	evs, err := tx.EventsAbout(ctx, appID, false, chargeID)
	if err != nil {
		return err
	}
	if len(evs) != want {
		var types []string
		for _, e := range evs {
			types = append(types, e.Type)
		}
		t.Errorf("events about the charge = %v, want %d", types, want)
	}
	return nil
}

// checkChargeLedger: the channel account holds what the charge captured.
func checkChargeLedger(ctx context.Context, t *testing.T, tx *store.Tx, got *polypay.Charge, amount int64) error {
	wantPaid := int64(0)
	if got.Status == polypay.ChargePaid {
		wantPaid = got.AmountCaptured // all of it, or a pre-authorization's captured part
		if wantPaid <= 0 || wantPaid > amount {
			t.Errorf("charge amount_captured = %d of %d", wantPaid, amount)
		}
	}
	sum, err := tx.LedgerSum(ctx, ledger.RefCharge, got.ID, ledger.ChannelAccount(got.Channel))
	if err != nil {
		return err
	}
	if sum != wantPaid {
		t.Errorf("ledger: channel account holds %d for the charge, want %d", sum, wantPaid)
	}
	return nil
}

func checkRefund(ctx context.Context, t *testing.T, tx *store.Tx, r *polypay.Refund, want polypay.RefundStatus) error {
	gr, err := tx.RefundByOrderNo(ctx, r.OrderNo)
	if err != nil {
		return err
	}
	if gr.Status != want {
		t.Errorf("refund status = %s, want %s", gr.Status, want)
	}
	wantRefunded := int64(0)
	if want == polypay.RefundSucceeded {
		wantRefunded = r.Amount
	}
	sum, err := tx.LedgerSum(ctx, ledger.RefRefund, r.ID, ledger.AccountMerchant)
	if err != nil {
		return err
	}
	if sum != wantRefunded {
		t.Errorf("ledger: merchant account refunded %d, want %d", sum, wantRefunded)
	}
	return nil
}
