package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/wire"
)

// flakyChannel is a hand-written fake for fault injection only: its
// CreateCharge fails as a lost connection would, the first `fail` times.
// Everything else about channels is tested against the simulators.
type flakyChannel struct {
	fail    int
	creates []string // out_trade_no of every create call
}

var _ polypay.Channel = (*flakyChannel)(nil)

func (f *flakyChannel) CreateCharge(_ context.Context, req polypay.ChannelRequest) ([]byte, error) {
	f.creates = append(f.creates, req.Charge.ID)
	if len(f.creates) <= f.fail {
		return nil, errors.New("read tcp: i/o timeout")
	}
	return []byte(`"https://qr.alipay.com/fake"`), nil
}
func (f *flakyChannel) QueryCharge(context.Context, *polypay.Charge) (*polypay.Trade, error) {
	return &polypay.Trade{State: polypay.TradePending}, nil
}
func (f *flakyChannel) CloseCharge(context.Context, *polypay.Charge) error { return nil }
func (f *flakyChannel) Refund(context.Context, *polypay.Charge, *polypay.Refund, string) (*polypay.RefundResult, error) {
	return nil, polypay.ErrNotSupported("fake", "refund")
}
func (f *flakyChannel) QueryRefund(context.Context, *polypay.Charge, *polypay.Refund) (*polypay.RefundResult, error) {
	return nil, polypay.ErrNotSupported("fake", "refund query")
}
func (f *flakyChannel) ParseNotification(context.Context, polypay.NotifyRequest) (*polypay.Notification, error) {
	return nil, polypay.ErrBadSignature
}
func (f *flakyChannel) Ack(bool) polypay.NotifyReply { return polypay.NotifyReply{} }

type oneChannel struct{ ch polypay.Channel }

func (o oneChannel) Channel(context.Context, string, bool, string) (polypay.Channel, error) {
	return o.ch, nil
}
func (o oneChannel) ForNotification(context.Context, string, string, bool) (polypay.Channel, string, error) {
	return o.ch, "m", nil
}
func (o oneChannel) Family(string) string           { return "alipay" }
func (o oneChannel) Supported(string) bool          { return true }
func (o oneChannel) TradeID(*polypay.Charge) string { return "" }

// TestCreateRetryReusesTradeNumber: when the channel's answer to a create
// is lost, the charge is kept, and the merchant's retry with the same
// order_no asks the channel for the same out_trade_no again.
func TestCreateRetryReusesTradeNumber(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			app, err := core.CreateApp(ctx, db, "t")
			if err != nil {
				t.Fatal(err)
			}
			fake := &flakyChannel{fail: 1}
			svc := &core.Service{DB: db, Channels: oneChannel{fake}, BaseURL: "http://127.0.0.1", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			who := core.Caller{App: &polypay.App{ID: app.AppID}}
			p := core.ChargeParams{OrderNo: "RETRY1", AppID: app.AppID, Channel: "alipay_qr", Amount: 100, ClientIP: "127.0.0.1",
				Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"), Metadata: []byte("{}")}
			_, err = svc.CreateCharge(ctx, who, p, nil)
			if polypay.ErrorCode(err) != polypay.EChannel {
				t.Fatalf("first create: err = %v, want a channel error", err)
			}
			out, err := svc.CreateCharge(ctx, who, p, nil)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			ch := out.(*wire.Charge)
			if len(fake.creates) != 2 || fake.creates[0] != fake.creates[1] || ch.ID != fake.creates[0] {
				t.Fatalf("creates %v, charge %s: want the same out_trade_no twice", fake.creates, ch.ID)
			}
			if string(ch.Credential) != `{"object":"credential","alipay_qr":"https://qr.alipay.com/fake"}` {
				t.Fatalf("credential = %s", ch.Credential)
			}
			var n int
			db.Read(ctx, func(tx *store.Tx) error {
				cs, _, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: app.AppID, Limit: 10})
				n = len(cs)
				return err
			})
			if n != 1 {
				t.Fatalf("%d charges stored, want 1", n)
			}
		})
	}
}

func TestNextCheck(t *testing.T) {
	const created = 1_700_000_000
	tests := []struct {
		name    string
		channel string
		age     int64
		expire  int64 // seconds after created
		want    int64 // seconds after created
	}{
		{"QRFirstMinute", "alipay_qr", 10, 86400, 15},
		{"QRAfterWindow", "wx_pub_qr", 58, 86400, 120},
		{"Wap", "alipay_wap", 10, 86400, 15},
		{"WapLate", "alipay_wap", 4000, 86400, 4000 + 3600},
		{"NeverPastExpiry", "alipay_wap", 10, 12, 12},
		{"ScanPoll", "alipay_scan", 10, 86400, 13},
		{"ScanLastPoll", "wx_pub_scan", 59, 86400, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &polypay.Charge{Channel: tc.channel, Created: created, TimeExpire: created + tc.expire}
			if got := core.NextCheck(c, created+tc.age) - created; got != tc.want {
				t.Fatalf("next check at +%d s, want +%d s", got, tc.want)
			}
		})
	}
}
