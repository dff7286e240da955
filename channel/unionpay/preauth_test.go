package unionpay_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
)

// hold creates a pre-authorization of amount on channel name and has the
// customer pay it; it returns the charge and the hold's notification.
func (f *fixture) hold(t *testing.T, c *unionpay.Client, name string, amount int64) (*polypay.Charge, *polypay.Notification) {
	t.Helper()
	ch := newCharge(name, amount)
	ch.AuthOnly = true
	before := len(f.notifications())
	f.pay(t, c, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL, AuthorizeOnly: true})
	return ch, f.waitNotifications(t, before+1)[before]
}

func wantCode(t *testing.T, what string, err error, code, channelCode string) {
	t.Helper()
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != code || (channelCode != "" && pe.ChannelCode != channelCode) {
		t.Fatalf("%s = %v, want %s %s", what, err, code, channelCode)
	}
}

// TestPreAuthCapture runs hold, partial capture, repeats, refunds and the
// settlement file on every channel of the family.
func TestPreAuthCapture(t *testing.T) {
	f := newFixture(t)
	for _, name := range unionpay.PreAuthChannels {
		t.Run(name, func(t *testing.T) {
			c := f.client(t, name, nil)
			ch, n := f.hold(t, c, name, 1000)
			if n.Kind != polypay.NotifyTrade || n.Trade.State != polypay.TradeAuthorized || n.Trade.AmountAuthorized != 1000 ||
				n.Trade.OutTradeNo != ch.ID || n.Trade.TransactionNo == "" || n.MerchantID != merID {
				t.Fatalf("hold notification = %+v", n)
			}
			holdQID := n.Trade.TransactionNo
			steps := []struct {
				name string
				run  func(t *testing.T)
			}{
				{"QueryAuthorized", func(t *testing.T) {
					tr, err := c.QueryCharge(ctx, ch)
					if err != nil || tr.State != polypay.TradeAuthorized || tr.AmountAuthorized != 1000 || tr.TransactionNo != holdQID || tr.Amount != 0 {
						t.Fatalf("query = %+v, %v", tr, err)
					}
				}},
				{"ErrCaptureOverHold", func(t *testing.T) {
					_, err := c.CaptureNotify(ctx, ch, 1001, f.notify.URL)
					wantCode(t, "capture 1001", err, polypay.EInvalid, "")
				}},
				{"Capture", func(t *testing.T) {
					before := len(f.notifications())
					tr, err := c.CaptureNotify(ctx, ch, 600, f.notify.URL)
					if err != nil || tr.State != polypay.TradePaid || tr.Amount != 600 || tr.TransactionNo == "" || tr.TransactionNo == holdQID || tr.PaidAt == 0 {
						t.Fatalf("capture = %+v, %v", tr, err)
					}
					cn := f.waitNotifications(t, before+1)[before]
					if cn.Trade.State != polypay.TradePaid || cn.Trade.Amount != 600 || cn.Trade.OutTradeNo != ch.ID || cn.Trade.TransactionNo != tr.TransactionNo {
						t.Fatalf("completion notification = %+v", cn)
					}
					ch.TransactionNo = tr.TransactionNo
				}},
				{"CaptureRepeated", func(t *testing.T) {
					tr, err := c.CaptureNotify(ctx, ch, 600, f.notify.URL)
					if err != nil || tr.State != polypay.TradePaid || tr.Amount != 600 || tr.TransactionNo != ch.TransactionNo {
						t.Fatalf("repeat = %+v, %v", tr, err)
					}
				}},
				{"ErrCaptureOtherAmount", func(t *testing.T) {
					_, err := c.CaptureNotify(ctx, ch, 500, f.notify.URL)
					wantCode(t, "capture 500 after 600", err, polypay.EChannel, "")
				}},
				{"QueryPaid", func(t *testing.T) {
					tr, err := c.QueryCharge(ctx, ch)
					if err != nil || tr.State != polypay.TradePaid || tr.Amount != 600 || tr.TransactionNo != ch.TransactionNo {
						t.Fatalf("query = %+v, %v", tr, err)
					}
				}},
				{"ErrVoidCaptured", func(t *testing.T) {
					wantCode(t, "void", c.VoidNotify(ctx, ch, f.notify.URL), polypay.EChannel, "35")
				}},
				{"RefundAgainstCompletion", func(t *testing.T) {
					re := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 600, Currency: "cny", Created: time.Now().Unix()}
					res, err := c.Refund(ctx, ch, re, f.notify.URL)
					if err != nil || res.Status != polypay.RefundSucceeded || res.Amount != 600 {
						t.Fatalf("refund = %+v, %v", res, err)
					}
				}},
				{"ErrOverRefund", func(t *testing.T) {
					re := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 1, Currency: "cny", Created: time.Now().Unix()}
					res, err := c.Refund(ctx, ch, re, f.notify.URL)
					if err != nil || res.Status != polypay.RefundFailed || res.FailureCode != "36" {
						t.Fatalf("refund beyond the capture = %+v, %v", res, err)
					}
				}},
				{"StatementHasTheCaptureOnly", func(t *testing.T) {
					day := time.Now().In(time.FixedZone("CST", 8*3600)).Add(time.Hour).Format("2006-01-02")
					lines, err := c.Statement(ctx, day)
					if err != nil {
						t.Fatal(err)
					}
					var pays, refunds int
					for _, l := range lines {
						if l.TransactionNo != ch.TransactionNo {
							continue
						}
						switch l.Kind {
						case polypay.StatementPayment:
							pays++
							if l.OutTradeNo != ch.ID || l.Amount != 600 || l.Fee != 4 {
								t.Fatalf("payment line = %+v", l)
							}
						case polypay.StatementRefund:
							refunds++
						}
					}
					for _, l := range lines {
						if l.TransactionNo == holdQID {
							t.Fatalf("the hold is a statement line: %+v", l)
						}
					}
					if pays != 1 || refunds != 1 {
						t.Fatalf("%d payment and %d refund lines for the capture in %+v", pays, refunds, lines)
					}
				}},
			}
			for _, s := range steps {
				t.Run(s.name, s.run)
			}
		})
	}
}

// TestPreAuthVoidAndExpiry: voids, captures after them, and holds past
// UnionPay's 30 days.
func TestPreAuthVoidAndExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, unionpay.ChannelApp, nil)
	later := f.client(t, unionpay.ChannelApp, func(cfg *unionpay.Config) { cfg.Now = f.now })
	tests := []struct {
		name string
		run  func(t *testing.T, ch *polypay.Charge)
	}{
		{"Void", func(t *testing.T, ch *polypay.Charge) {
			before := len(f.notifications())
			if err := c.VoidNotify(ctx, ch, f.notify.URL); err != nil {
				t.Fatal(err)
			}
			n := f.waitNotifications(t, before+1)[before]
			if n.Trade.State != polypay.TradeClosed || n.Trade.OutTradeNo != ch.ID {
				t.Fatalf("cancel notification = %+v", n)
			}
			if tr, err := c.QueryCharge(ctx, ch); err != nil || tr.State != polypay.TradeClosed {
				t.Fatalf("query after void = %+v, %v", tr, err)
			}
			if err := c.VoidNotify(ctx, ch, f.notify.URL); err != nil {
				t.Fatalf("void repeated: %v", err)
			}
			_, err := c.CaptureNotify(ctx, ch, 0, f.notify.URL)
			wantCode(t, "capture after void", err, polypay.EChannel, "35")
		}},
		{"CaptureAllWithZero", func(t *testing.T, ch *polypay.Charge) {
			// A tn credential has no backUrl: the notify URL comes from ctx.
			_, err := c.Capture(ctx, ch, 0)
			wantCode(t, "capture without a notify URL", err, polypay.EInvalid, "")
			tr, err := c.Capture(polypay.WithNotifyURL(ctx, f.notify.URL), ch, 0)
			if err != nil || tr.State != polypay.TradePaid || tr.Amount != ch.Amount {
				t.Fatalf("capture = %+v, %v", tr, err)
			}
		}},
		{"Expired", func(t *testing.T, ch *polypay.Charge) {
			f.mu.Lock()
			f.skew = unionpay.HoldPeriod + time.Hour
			f.mu.Unlock()
			defer func() { f.mu.Lock(); f.skew = 0; f.mu.Unlock() }()
			_, err := later.CaptureNotify(ctx, ch, 100, f.notify.URL)
			wantCode(t, "capture after 30 days", err, polypay.EChannel, "35")
			if tr, err := later.QueryCharge(ctx, ch); err != nil || tr.State != polypay.TradeClosed {
				t.Fatalf("query after expiry = %+v, %v", tr, err)
			}
			if err := later.VoidNotify(ctx, ch, f.notify.URL); err != nil {
				t.Fatalf("void of an expired hold: %v", err)
			}
		}},
		{"ErrCloseHeld", func(t *testing.T, ch *polypay.Charge) {
			ch.TimeExpire = time.Now().Unix() - 1
			wantCode(t, "close", c.CloseCharge(ctx, ch), polypay.EChannel, "")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, _ := f.hold(t, c, unionpay.ChannelApp, 800)
			tc.run(t, ch)
		})
	}
	t.Run("ErrPurchaseIsNoHold", func(t *testing.T) {
		ch := newCharge(unionpay.ChannelApp, 300)
		f.payCharge(t, c, ch)
		_, err := c.CaptureNotify(ctx, ch, 0, f.notify.URL)
		wantCode(t, "capture of a purchase", err, polypay.EChannel, "")
		if !strings.Contains(err.Error(), "not a pre-authorization") {
			t.Fatal(err)
		}
	})
	t.Run("PlainCaptureUsesFormBackURL", func(t *testing.T) {
		pc := f.client(t, unionpay.ChannelPC, nil)
		ch, _ := f.hold(t, pc, unionpay.ChannelPC, 500)
		before := len(f.notifications())
		if tr, err := pc.Capture(ctx, ch, 200); err != nil || tr.Amount != 200 {
			t.Fatalf("capture = %+v, %v", tr, err)
		}
		if n := f.waitNotifications(t, before+1)[before]; n.Trade.State != polypay.TradePaid || n.Trade.Amount != 200 {
			t.Fatalf("completion notification = %+v", n)
		}
	})
}
