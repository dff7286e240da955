// Package channeltest holds what every connector is tested against alike.
// RunNotify delivers notifications, signed as the channel (its simulator's
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

	Outcome polypay.NotifyOutcome // the outcome the notification log records (a prefix)
	Acked   bool                  // whether the channel is told the notification was taken
	// Status is the charge's status afterwards, RefundStatus the refund's.
	Status       polypay.ChargeStatus
	RefundStatus polypay.RefundStatus
	Events       int // events about the charge (and its refunds) written
}

// RunNotify runs every case on every store backend, each on a fresh store.
func RunNotify(t *testing.T, f Family, cases []NotifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) { runNotify(t, b.Open(t), f, tc) })
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

func runNotify(t *testing.T, db *store.DB, f Family, tc NotifyCase) {
	ctx := context.Background()
	app, err := core.CreateApp(ctx, db, "notify")
	if err != nil {
		t.Fatal(err)
	}
	c := tc.Charge
	c.AppID, c.Livemode = app.AppID, false
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
	var r *polypay.Refund
	if tc.Refund != nil {
		rr := *tc.Refund
		r = &rr
		r.AppID, r.ChargeID, r.ChargeOrderNo, r.Status, r.Created = app.AppID, c.ID, c.OrderNo, polypay.RefundPending, now
		if r.ID == "" {
			r.ID = polypay.NewID("re_")
		}
		if r.Currency == "" {
			r.Currency = c.Currency
		}
		r.Metadata, r.Extra = []byte("{}"), []byte("{}")
	}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, &c, now+3600); err != nil {
			return err
		}
		if c.Status == polypay.ChargePaid {
			if err := tx.Post(ctx, ledger.ChargePaid(&c)); err != nil {
				return err
			}
		}
		if r == nil {
			return nil
		}
		if ok, err := tx.ReserveRefund(ctx, c.ID, r.Amount); err != nil || !ok {
			return fmt.Errorf("reserving the refund: %v %v", ok, err)
		}
		return tx.InsertRefund(ctx, r)
	}); err != nil {
		t.Fatal(err)
	}

	svc := &core.Service{DB: db, Channels: channels{f}, BaseURL: "http://127.0.0.1", Log: slog.New(slog.DiscardHandler)}
	req := tc.Request(t)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	got, err := svc.HandleNotification(ctx, polypay.NewNotifyRequest(req, body), f.Name, app.AppID, false)
	if err != nil {
		t.Fatalf("HandleNotification: %v", err)
	}
	if want := f.Conn.Ack(tc.Acked); got.Status != want.Status || got.ContentType != want.ContentType || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("answer to the channel = %d %q %q, want %d %q %q (acknowledged: %v)", got.Status, got.ContentType, got.Body, want.Status, want.ContentType, want.Body, tc.Acked)
	}
	err = db.Read(ctx, func(tx *store.Tx) error {
		outcomes, err := tx.NotificationOutcomes(ctx, app.AppID)
		if err != nil {
			return err
		}
		if len(outcomes) != 1 || !strings.HasPrefix(outcomes[0], string(tc.Outcome)) {
			t.Errorf("outcomes logged = %q, want one %q", outcomes, tc.Outcome)
		}
		got, err := tx.GetCharge(ctx, app.AppID, false, c.ID)
		if err != nil {
			return err
		}
		if got.Status != tc.Status || (tc.Status == polypay.ChargePending && got.Paid()) {
			t.Errorf("charge status = %s (time_paid %d), want %s", got.Status, got.TimePaid, tc.Status)
		}
		if got.TransactionNo != c.TransactionNo && tc.Status == c.Status {
			t.Errorf("charge transaction_no = %q, want it kept %q", got.TransactionNo, c.TransactionNo)
		}
		evs, err := tx.EventsAbout(ctx, app.AppID, false, c.ID)
		if err != nil {
			return err
		}
		if len(evs) != tc.Events {
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			t.Errorf("events about the charge = %v, want %d", types, tc.Events)
		}
		wantPaid := int64(0)
		if got.Status == polypay.ChargePaid {
			wantPaid = got.AmountCaptured // all of it, or a pre-authorization's captured part
			if wantPaid <= 0 || wantPaid > c.Amount {
				t.Errorf("charge amount_captured = %d of %d", wantPaid, c.Amount)
			}
		}
		if sum, err := tx.LedgerSum(ctx, ledger.RefCharge, c.ID, ledger.ChannelAccount(c.Channel)); err != nil || sum != wantPaid {
			t.Errorf("ledger: channel account holds %d for the charge (%v), want %d", sum, err, wantPaid)
		}
		if r == nil {
			return nil
		}
		gr, err := tx.RefundByOrderNo(ctx, r.OrderNo)
		if err != nil {
			return err
		}
		wantRefunded := int64(0)
		if tc.RefundStatus == polypay.RefundSucceeded {
			wantRefunded = r.Amount
		}
		if gr.Status != tc.RefundStatus {
			t.Errorf("refund status = %s, want %s", gr.Status, tc.RefundStatus)
		}
		if sum, err := tx.LedgerSum(ctx, ledger.RefRefund, r.ID, ledger.AccountMerchant); err != nil || sum != wantRefunded {
			t.Errorf("ledger: merchant account refunded %d (%v), want %d", sum, err, wantRefunded)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) > 0 {
		t.Errorf("ledger check: %v %v", probs, err)
	}
}
