package core_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/wire"
)

// refusingChannel is a hand-written fake for one fault only: the channel
// refuses every refund (the simulators always accept them). Its payment
// notification pays the charge it names.
type refusingChannel struct {
	flakyChannel
	paid *polypay.Charge
}

func (r *refusingChannel) Refund(context.Context, *polypay.Charge, *polypay.Refund, string) (*polypay.RefundResult, error) {
	return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: "REFUND_REFUSED", FailureMsg: "the fake refuses"}, nil
}

func (r *refusingChannel) ParseNotification(context.Context, polypay.NotifyRequest) (*polypay.Notification, error) {
	return &polypay.Notification{Kind: polypay.NotifyTrade, MerchantID: "m", Trade: polypay.Trade{State: polypay.TradePaid,
		OutTradeNo: r.paid.ID, TransactionNo: "T" + r.paid.ID, Amount: r.paid.Amount, Currency: "CNY"}}, nil
}

// TestRechargeRefundFailedGivesBack: a recharge refund takes the balance
// at once; when the channel refuses the refund, the value and the bonus
// go back to the user, the recharge can be refunded again, and the books
// agree throughout.
func TestRechargeRefundFailedGivesBack(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			app, err := core.CreateApp(ctx, db, "t")
			if err != nil {
				t.Fatal(err)
			}
			fake := &refusingChannel{}
			svc := &core.Service{DB: db, Channels: oneChannel{fake}, BaseURL: "http://127.0.0.1", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			who := core.Caller{App: &polypay.App{ID: app.AppID}}
			if _, err := svc.CreateUser(ctx, who, core.UserParams{ID: "alice"}, nil); err != nil {
				t.Fatal(err)
			}
			out, err := svc.CreateRecharge(ctx, who, core.RechargeParams{User: "alice", UserFee: 10, BonusAmount: 100,
				Metadata: json.RawMessage("{}"), Charge: core.ChargeParams{OrderNo: "RCF0001", AppID: app.AppID, Channel: "alipay_qr",
					Amount: 1000, ClientIP: "127.0.0.1", Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"), Metadata: []byte("{}")}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rc := out.(*wire.Recharge)
			fake.paid = &polypay.Charge{ID: rc.Charge.ID, Amount: 1000}
			if _, err := svc.HandleNotification(ctx, polypay.NotifyRequest{}, "alipay", app.AppID, false); err != nil {
				t.Fatal(err)
			}
			balance := func() int64 {
				u, err := svc.GetUser(ctx, who, "alice")
				if err != nil {
					t.Fatal(err)
				}
				return u.(*wire.User).AvailableBalance
			}
			if got := balance(); got != 1090 {
				t.Fatalf("balance after the recharge %d, want 1090", got)
			}
			re, err := svc.RefundRecharge(ctx, who, rc.ID, core.RechargeRefundParams{Description: "退款"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := re.(*wire.Refund); r.Status != "failed" || r.Amount != 990 {
				t.Fatalf("refund %+v: want failed for 990", r)
			}
			if got := balance(); got != 1090 {
				t.Fatalf("balance after the refused refund %d, want 1090 back", got)
			}
			got, err := svc.GetRecharge(ctx, who, rc.ID)
			if err != nil || got.(*wire.Recharge).Refunded {
				t.Fatalf("recharge after the refused refund: %+v %v", got, err)
			}
			if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) > 0 {
				t.Fatalf("ledger check: %v %v", probs, err)
			}
			// Refused again, it gives back again; never taken twice.
			if _, err := svc.RefundRecharge(ctx, who, rc.ID, core.RechargeRefundParams{}, nil); err != nil {
				t.Fatal(err)
			}
			if got := balance(); got != 1090 {
				t.Fatalf("balance after a second refused refund %d", got)
			}
		})
	}
}
