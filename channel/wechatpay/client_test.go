package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

func TestNew(t *testing.T) {
	with := func(f func(*wechatpay.Config)) wechatpay.Config {
		c := config("http://127.0.0.1:1")
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		channel string
		cfg     wechatpay.Config
		wantErr bool
	}{
		{"OKPKCS8", wechatpay.ChannelQR, config(""), false},
		{"OKPKCS1", wechatpay.ChannelScan, with(func(c *wechatpay.Config) { c.PrivateKeyPEM = merchantPKCS1 }), false},
		{"OKEveryChannel", wechatpay.ChannelLite, config("http://127.0.0.1:1/sim/wechatpay"), false},
		{"ErrNotWeChat", "alipay_qr", config(""), true},
		{"ErrNoMchID", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.MchID = "" }), true},
		{"ErrNoAppID", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.AppID = "" }), true},
		{"ErrNoSerial", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.MerchantSerialNo = "" }), true},
		{"ErrNoKeyID", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.PlatformPublicKeyID = "" }), true},
		{"ErrShortAPIv3Key", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.APIv3Key = "short" }), true},
		{"ErrPrivateKey", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.PrivateKeyPEM = "not a key" }), true},
		{"ErrPublicKey", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.PlatformPublicKeyPEM = merchantPKCS1 }), true},
		{"ErrBaseURL", wechatpay.ChannelQR, with(func(c *wechatpay.Config) { c.BaseURL = "127.0.0.1:1" }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wechatpay.New(tt.channel, tt.cfg)
			if tt.wantErr {
				wantCode(t, err, polypay.EInvalid, "")
				return
			}
			if err != nil || c == nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// checkCredential checks the credential shape of Ping++ §3.3.
func checkCredential(t *testing.T, channel string, cred []byte) {
	t.Helper()
	switch channel {
	case wechatpay.ChannelApp:
		var c map[string]any
		if err := json.Unmarshal(cred, &c); err != nil {
			t.Fatal(err)
		}
		if c["appId"] != appID || c["partnerId"] != mchID || !strings.HasPrefix(c["prepayId"].(string), "wx") ||
			c["packageValue"] != "Sign=WXPay" || c["nonceStr"] == "" || c["sign"] == "" || len(c) != 7 {
			t.Fatalf("wx credential %s", cred)
		}
		if _, ok := c["timeStamp"].(float64); !ok {
			t.Fatalf("wx timeStamp is not a number: %s", cred)
		}
	case wechatpay.ChannelPub, wechatpay.ChannelLite:
		var c map[string]any
		if err := json.Unmarshal(cred, &c); err != nil {
			t.Fatal(err)
		}
		ts, ok := c["timeStamp"].(string)
		if _, err := strconv.ParseInt(ts, 10, 64); !ok || err != nil {
			t.Fatalf("%s timeStamp is not a numeric string: %s", channel, cred)
		}
		if c["appId"] != appID || !strings.HasPrefix(c["package"].(string), "prepay_id=wx") || c["signType"] != "RSA" ||
			c["nonceStr"] == "" || c["paySign"] == "" || len(c) != 6 {
			t.Fatalf("%s credential %s", channel, cred)
		}
	case wechatpay.ChannelQR:
		var s string
		if err := json.Unmarshal(cred, &s); err != nil || !strings.HasPrefix(s, "weixin://wxpay/bizpayurl?pr=") {
			t.Fatalf("wx_pub_qr credential %s (%v)", cred, err)
		}
	case wechatpay.ChannelWap:
		var s string
		if err := json.Unmarshal(cred, &s); err != nil || !strings.HasPrefix(s, "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=") {
			t.Fatalf("wx_wap credential %s (%v)", cred, err)
		}
	case wechatpay.ChannelScan:
		if string(cred) != "{}" {
			t.Fatalf("wx_pub_scan credential %s, want {}", cred)
		}
	}
}

// TestChannelFlow runs every channel through create, payment,
// notification, query, refunds, refund notifications and close.
func TestChannelFlow(t *testing.T) {
	ctx := context.Background()
	for _, channel := range allChannels {
		t.Run(channel, func(t *testing.T) {
			e := newEnv(t)
			conn := e.conns[channel]
			ch := charge(channel, "flow", 1000)
			checkCredential(t, channel, e.create(t, ch))

			// Payment, and its notification (none for payment codes).
			wantNotifications := 1
			if channel == wechatpay.ChannelScan {
				wantNotifications = 0
			} else if err := e.sim.Pay(ctx, mchID, ch.ID, true); err != nil {
				t.Fatal(err)
			}
			got := e.notifications()
			if len(got) != wantNotifications {
				t.Fatalf("%d payment notifications, want %d", len(got), wantNotifications)
			}
			trade, err := conn.QueryCharge(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if trade.State != polypay.TradePaid || trade.Amount != 1000 || trade.TransactionNo == "" || trade.PaidAt == 0 ||
				trade.OutTradeNo != ch.ID || trade.Extra["open_id"] == nil {
				t.Fatalf("query: %+v", trade)
			}
			if channel != wechatpay.ChannelScan {
				r := got[0]
				if r.err != nil {
					t.Fatal(r.err)
				}
				n := r.n
				if n.Kind != polypay.NotifyTrade || n.MerchantID != mchID || n.ID == "" || n.Trade.State != polypay.TradePaid ||
					n.Trade.Amount != 1000 || n.Trade.OutTradeNo != ch.ID || n.Trade.TransactionNo != trade.TransactionNo ||
					n.Trade.PaidAt != trade.PaidAt || n.Trade.PaidAt != e.clock.Now().Unix() {
					t.Fatalf("notification %+v, query %+v", n, trade)
				}
			}

			// Refunds: partial, repeat, over-refund, the rest.
			refunds := []struct {
				no     string
				amount int64
				status polypay.RefundStatus
				code   string
			}{
				{"re_1_" + channel, 300, polypay.RefundSucceeded, ""},
				{"re_1_" + channel, 300, polypay.RefundSucceeded, ""},
				{"re_2_" + channel, 701, polypay.RefundFailed, "INVALID_REQUEST"},
				{"re_3_" + channel, 700, polypay.RefundSucceeded, ""},
			}
			for i, rf := range refunds {
				res, err := conn.Refund(ctx, ch, &polypay.Refund{OrderNo: rf.no, Amount: rf.amount, Currency: "cny", Description: "退货"}, e.notifyURL)
				if err != nil {
					t.Fatalf("refund %d: %v", i, err)
				}
				if res.Status != rf.status || res.FailureCode != rf.code || (rf.code != "" && res.FailureMsg == "") {
					t.Fatalf("refund %d: %+v, want %s %s", i, res, rf.status, rf.code)
				}
				if rf.status == polypay.RefundSucceeded && (res.TransactionNo == "" || res.SucceededAt == 0) {
					t.Fatalf("refund %d: succeeded without refund_id or time: %+v", i, res)
				}
			}
			waitFor(t, "refund notifications", func() bool { return len(e.notifications()) == wantNotifications+2 })
			// The simulator sends each refund's notification from its own
			// goroutine, so they may arrive in either order, as on the real channel.
			seen := map[string]int64{}
			for i, r := range e.notifications()[wantNotifications:] {
				if r.err != nil {
					t.Fatal(r.err)
				}
				n := r.n
				if n.Kind != polypay.NotifyRefund || n.RefundTotal != 0 || n.MerchantID != mchID ||
					n.Trade.OutTradeNo != ch.ID || n.Trade.Amount != 1000 || n.RefundAt == 0 {
					t.Fatalf("refund notification %d: %+v", i, n)
				}
				seen[n.RefundNo] = n.RefundAmount
			}
			if want := map[string]int64{refunds[0].no: 300, refunds[3].no: 700}; !maps.Equal(seen, want) {
				t.Fatalf("refund notifications for %v, want %v", seen, want)
			}
			for _, rf := range []struct {
				no     string
				amount int64
				status polypay.RefundStatus
			}{{refunds[0].no, 300, polypay.RefundSucceeded}, {refunds[2].no, 701, polypay.RefundPending}} {
				res, err := conn.QueryRefund(ctx, ch, &polypay.Refund{OrderNo: rf.no, Amount: rf.amount})
				if err != nil || res.Status != rf.status {
					t.Fatalf("QueryRefund %s: %+v %v, want %s", rf.no, res, err, rf.status)
				}
			}
			if _, err := conn.QueryRefund(ctx, ch, &polypay.Refund{OrderNo: refunds[0].no, Amount: 301}); err == nil {
				t.Fatal("QueryRefund confirmed a refund of another amount")
			}
			if tr, err := conn.QueryCharge(ctx, ch); err != nil || tr.State != polypay.TradePaid {
				t.Fatalf("refunded trade: %+v %v, want paid (REFUND)", tr, err)
			}

			// A paid trade does not close; an unpaid one does.
			wantCode(t, conn.CloseCharge(ctx, ch), polypay.EChannel, "ORDERPAID")
			unpaid := charge(channel, "flow_unpaid", 500)
			if channel == wechatpay.ChannelScan {
				unpaid.Extra = json.RawMessage(`{"scan_code":"130012345678901234"}`)
			}
			e.create(t, unpaid)
			if err := conn.CloseCharge(ctx, unpaid); err != nil {
				t.Fatal(err)
			}
			if tr, err := conn.QueryCharge(ctx, unpaid); err != nil || tr.State != polypay.TradeClosed || tr.PaidAt != 0 {
				t.Fatalf("closed trade: %+v %v", tr, err)
			}
		})
	}
}

func TestCreateCharge(t *testing.T) {
	e := newEnv(t)
	first := e.create(t, charge(wechatpay.ChannelQR, "repeat", 1234))
	mod := func(channel string, f func(*polypay.Charge)) *polypay.Charge {
		c := charge(channel, "mod", 100)
		f(c)
		return c
	}
	tests := []struct {
		name     string
		charge   *polypay.Charge
		wantCred string // exact credential, or "" for any
		code     string
		param    string // for EInvalid
		chCode   string // for EChannel
	}{
		{"OKRepeatSameTrade", charge(wechatpay.ChannelQR, "repeat", 1234), string(first), "", "", ""},
		{"ErrRepeatOtherAmount", charge(wechatpay.ChannelQR, "repeat", 1235), "", polypay.EChannel, "", "OUT_TRADE_NO_USED"},
		{"ErrCurrency", mod(wechatpay.ChannelQR, func(c *polypay.Charge) { c.Currency = "usd" }), "", polypay.EInvalid, "currency", ""},
		{"ErrAmountZero", mod(wechatpay.ChannelQR, func(c *polypay.Charge) { c.Amount = 0 }), "", polypay.EInvalid, "amount", ""},
		{"ErrNoSubject", mod(wechatpay.ChannelQR, func(c *polypay.Charge) { c.Subject = "" }), "", polypay.EInvalid, "subject", ""},
		{"ErrExtraNotObject", mod(wechatpay.ChannelQR, func(c *polypay.Charge) { c.Extra = json.RawMessage(`[1]`) }), "", polypay.EInvalid, "extra", ""},
		{"ErrLimitPay", mod(wechatpay.ChannelQR, func(c *polypay.Charge) {
			c.Extra = json.RawMessage(`{"product_id":"p","limit_pay":"no_debit"}`)
		}), "", polypay.EInvalid, "extra[limit_pay]", ""},
		{"ErrPubNoOpenID", mod(wechatpay.ChannelPub, func(c *polypay.Charge) { c.Extra = nil }), "", polypay.EInvalid, "extra[open_id]", ""},
		{"ErrLiteNoOpenID", mod(wechatpay.ChannelLite, func(c *polypay.Charge) { c.Extra = json.RawMessage(`{}`) }), "", polypay.EInvalid, "extra[open_id]", ""},
		{"ErrQRNoProductID", mod(wechatpay.ChannelQR, func(c *polypay.Charge) { c.Extra = nil }), "", polypay.EInvalid, "extra[product_id]", ""},
		{"ErrWapNoClientIP", mod(wechatpay.ChannelWap, func(c *polypay.Charge) { c.ClientIP = "" }), "", polypay.EInvalid, "client_ip", ""},
		{"ErrScanNoCode", mod(wechatpay.ChannelScan, func(c *polypay.Charge) { c.Extra = nil }), "", polypay.EInvalid, "extra[scan_code]", ""},
		{"ErrScanBadCode", mod(wechatpay.ChannelScan, func(c *polypay.Charge) {
			c.Extra = json.RawMessage(`{"scan_code":"284567890123456789"}`)
		}), "", polypay.EChannel, "", "PARAM_ERROR"},
		{"ErrPastTimeExpire", mod(wechatpay.ChannelQR, func(c *polypay.Charge) {
			c.TimeExpire = e.clock.Now().Add(-time.Minute).Unix()
		}), "", polypay.EChannel, "", "PARAM_ERROR"},
		{"OKLimitPayAndGoodsTag", mod(wechatpay.ChannelApp, func(c *polypay.Charge) {
			c.Extra = json.RawMessage(`{"limit_pay":"no_credit","goods_tag":"WXG"}`)
		}), "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := e.conns[tt.charge.Channel].CreateCharge(context.Background(), polypay.ChannelRequest{Charge: tt.charge, NotifyURL: e.notifyURL})
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.chCode)
				var pe *polypay.Error
				if errors.As(err, &pe) && pe.Param != tt.param {
					t.Fatalf("param %q, want %q", pe.Param, tt.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkCredential(t, tt.charge.Channel, cred)
			if tt.wantCred != "" && string(cred) != tt.wantCred {
				t.Fatalf("credential %s, want %s", cred, tt.wantCred)
			}
		})
	}
}

func TestQueryCharge(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		channel string
		setup   func(t *testing.T, e *env, ch *polypay.Charge)
		state   polypay.TradeState
		paid    bool
		amount  int64
	}{
		{"NotFound", wechatpay.ChannelQR, func(*testing.T, *env, *polypay.Charge) {}, polypay.TradeNotFound, false, 0},
		{"Pending", wechatpay.ChannelQR, func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, polypay.TradePending, false, 500},
		{"PendingAfterFailedAttempt", wechatpay.ChannelPub, func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.sim.Pay(ctx, mchID, ch.ID, false); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradePending, false, 500},
		{"Paid", wechatpay.ChannelWap, func(t *testing.T, e *env, ch *polypay.Charge) { e.paid(t, ch) }, polypay.TradePaid, true, 500},
		{"Closed", wechatpay.ChannelApp, func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.conns[ch.Channel].CloseCharge(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradeClosed, false, 500},
		{"ClosedByTimeExpire", wechatpay.ChannelQR, func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.TimeExpire = e.clock.Now().Add(time.Minute).Unix()
			e.create(t, ch)
			e.clock.Add(time.Minute)
		}, polypay.TradeClosed, false, 500},
		{"RefundIsPaid", wechatpay.ChannelQR, func(t *testing.T, e *env, ch *polypay.Charge) {
			e.paid(t, ch)
			if _, err := e.conns[ch.Channel].Refund(ctx, ch, &polypay.Refund{OrderNo: "re_full", Amount: 500, Currency: "cny"}, ""); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradePaid, true, 500},
		{"ScanUserPaying", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.Extra = json.RawMessage(`{"scan_code":"130012345678901234"}`)
			e.create(t, ch)
		}, polypay.TradePending, false, 500},
		{"ScanUserPayingThenPaid", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.Extra = json.RawMessage(`{"scan_code":"130012345678901234"}`)
			e.create(t, ch)
			e.clock.Add(5 * time.Second)
		}, polypay.TradePaid, true, 500},
		{"ScanPayError", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.Extra = json.RawMessage(`{"scan_code":"130012345678901234"}`)
			e.create(t, ch)
			if err := e.sim.Pay(ctx, mchID, ch.ID, false); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradeClosed, false, 500},
		{"ScanPaidAtOnce", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, polypay.TradePaid, true, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ch := charge(tt.channel, "q_"+tt.name, 500)
			tt.setup(t, e, ch)
			got, err := e.conns[tt.channel].QueryCharge(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.state || got.OutTradeNo != ch.ID || got.Amount != tt.amount {
				t.Fatalf("got %+v, want state %s amount %d", got, tt.state, tt.amount)
			}
			if paid := got.PaidAt != 0 && got.TransactionNo != "" && got.Extra["open_id"] != nil; paid != tt.paid {
				t.Fatalf("paid facts = %v (%+v), want %v", paid, got, tt.paid)
			}
		})
	}
}

func TestCloseCharge(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		channel string
		setup   func(t *testing.T, e *env, ch *polypay.Charge)
		code    string
		chCode  string
		after   polypay.TradeState
	}{
		{"OKPending", wechatpay.ChannelQR, func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, "", "", polypay.TradeClosed},
		{"OKNeverCreated", wechatpay.ChannelQR, func(*testing.T, *env, *polypay.Charge) {}, "", "", polypay.TradeNotFound},
		{"OKAlreadyClosed", wechatpay.ChannelPub, func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.conns[ch.Channel].CloseCharge(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}, "", "", polypay.TradeClosed},
		{"ErrPaid", wechatpay.ChannelWap, func(t *testing.T, e *env, ch *polypay.Charge) { e.paid(t, ch) }, polypay.EChannel, "ORDERPAID", polypay.TradePaid},
		{"OKScanUserPayingReversed", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.Extra = json.RawMessage(`{"scan_code":"130012345678901234"}`)
			e.create(t, ch)
		}, "", "", polypay.TradeClosed},
		{"OKScanNeverCreated", wechatpay.ChannelScan, func(*testing.T, *env, *polypay.Charge) {}, "", "", polypay.TradeNotFound},
		{"ErrScanPaidNotReversed", wechatpay.ChannelScan, func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, polypay.EChannel, "ORDERPAID", polypay.TradePaid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ch := charge(tt.channel, "c_"+tt.name, 100)
			tt.setup(t, e, ch)
			err := e.conns[tt.channel].CloseCharge(ctx, ch)
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.chCode)
			} else if err != nil {
				t.Fatal(err)
			}
			if tr, err := e.conns[tt.channel].QueryCharge(ctx, ch); err != nil || tr.State != tt.after {
				t.Fatalf("after close: %+v %v, want %s", tr, err, tt.after)
			}
		})
	}
}

func TestNotificationRetried(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond, 20*time.Millisecond)
	e.answers = []bool{false, true} // the merchant fails the first delivery
	ch := charge(wechatpay.ChannelQR, "retry", 100)
	e.paid(t, ch)
	waitFor(t, "the retry", func() bool { return len(e.notifications()) == 2 })
	time.Sleep(60 * time.Millisecond) // an acknowledged notification is not sent again
	ds := e.sim.Notifications(ch.ID)
	if len(ds) != 2 || ds[0].Acked || !ds[1].Acked || ds[0].StatusCode != 500 || ds[1].StatusCode != 200 ||
		!strings.Contains(ds[0].Reply, `"FAIL"`) || !strings.Contains(ds[1].Reply, "SUCCESS") {
		t.Fatalf("deliveries %+v, want 500 FAIL then 200 SUCCESS", ds)
	}
	got := e.notifications()
	if len(got) != 2 || got[0].err != nil || got[1].err != nil || got[0].n.ID != got[1].n.ID {
		t.Fatalf("notifications %+v: want the same notification twice", got)
	}
}

func TestSignatures(t *testing.T) {
	e := newEnv(t)
	ch := charge(wechatpay.ChannelQR, "sig", 100)
	e.create(t, ch)
	otherPlatform := config(e.base)
	otherPlatform.PlatformPublicKeyPEM = otherPub
	otherMerchant := config(e.base)
	otherMerchant.PrivateKeyPEM = pkcs8(otherKey)
	otherKeyID := config(e.base)
	otherKeyID.PlatformPublicKeyID = "PUB_KEY_ID_OTHER"
	tests := []struct {
		name  string
		cfg   wechatpay.Config
		check func(t *testing.T, err error)
	}{
		{"ErrResponseSignature", otherPlatform, func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v, want ErrBadSignature", err)
			}
		}},
		{"ErrResponseKeyID", otherKeyID, func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v, want ErrBadSignature", err)
			}
		}},
		{"ErrRequestSignature401", otherMerchant, func(t *testing.T, err error) {
			wantCode(t, err, polypay.EChannel, "SIGN_ERROR")
		}},
		{"OK", config(e.base), func(t *testing.T, err error) {
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, channel := range []string{wechatpay.ChannelQR, wechatpay.ChannelScan} {
				_, err := newConn(t, channel, tt.cfg).QueryCharge(context.Background(), ch)
				tt.check(t, err)
			}
		})
	}
	t.Run("ErrScanResponseSignature", func(t *testing.T) {
		// gopay's payment-code call verifies the answer with the
		// configured platform key too.
		sc := charge(wechatpay.ChannelScan, "sig_scan", 100)
		_, err := newConn(t, wechatpay.ChannelScan, otherPlatform).CreateCharge(context.Background(), polypay.ChannelRequest{Charge: sc})
		if !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("%v, want ErrBadSignature", err)
		}
	})
}

func TestAck(t *testing.T) {
	tests := []struct {
		name   string
		ok     bool
		status int
		body   string
	}{
		// 200 with v2's SUCCESS: API v3 takes any 2xx, papay's v2 needs the XML.
		{"OK", true, 200, "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"},
		{"Retry", false, 500, `{"code":"FAIL","message":"失败"}`},
	}
	conn := newConn(t, wechatpay.ChannelQR, config(""))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			conn.Ack(tt.ok).WriteResponse(w)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
		})
	}
}

// stub answers every request with one scripted status and body, signed
// with the platform key unless told otherwise.
func stub(t *testing.T, status int, body string, sign, tamper bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sign {
			signHeaders(w.Header(), platformKey, keyID, time.Now().Unix(), []byte(body))
		}
		out := body
		if tamper {
			out = strings.Replace(out, `"refund":100`, `"refund":10`, 1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRefundOutcomes(t *testing.T) {
	refund := func(status string) string {
		return `{"refund_id":"50000000382019052709732678859","out_refund_no":"re_x","transaction_id":"4200000001","out_trade_no":"ch_x00000","channel":"ORIGINAL","user_received_account":"支付用户零钱","create_time":"2026-11-21T10:00:00+08:00","status":"` + status + `","amount":{"total":100,"refund":100,"payer_total":100,"payer_refund":100,"settlement_refund":100,"settlement_total":100,"discount_refund":0,"currency":"CNY"}}`
	}
	retryable := func(t *testing.T, res *polypay.RefundResult, err error) {
		if err == nil || polypay.ErrorCode(err) != polypay.EInternal || errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("%+v %v: want a plain (retryable) error", res, err)
		}
	}
	badSignature := func(t *testing.T, res *polypay.RefundResult, err error) {
		if !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("%+v %v: want ErrBadSignature", res, err)
		}
	}
	result := func(status polypay.RefundStatus, code string) func(t *testing.T, res *polypay.RefundResult, err error) {
		return func(t *testing.T, res *polypay.RefundResult, err error) {
			if err != nil || res.Status != status || res.FailureCode != code {
				t.Fatalf("%+v %v, want %s %s", res, err, status, code)
			}
		}
	}
	tests := []struct {
		name   string
		status int
		body   string
		sign   bool
		tamper bool
		check  func(t *testing.T, res *polypay.RefundResult, err error)
	}{
		{"Processing", 200, refund("PROCESSING"), true, false, result(polypay.RefundPending, "")},
		{"Abnormal", 200, refund("ABNORMAL"), true, false, result(polypay.RefundFailed, "ABNORMAL")},
		{"Closed", 200, refund("CLOSED"), true, false, result(polypay.RefundFailed, "CLOSED")},
		{"NotEnoughIsFailed", 403, `{"code":"NOT_ENOUGH","message":"基本账户余额不足"}`, true, false, result(polypay.RefundFailed, "NOT_ENOUGH")},
		{"UnknownStatus", 200, refund("PENDING_FOREVER"), true, false, func(t *testing.T, res *polypay.RefundResult, err error) {
			wantCode(t, err, polypay.ENotSupported, "")
		}},
		{"ErrSignError", 401, `{"code":"SIGN_ERROR","message":"签名错误"}`, true, false, func(t *testing.T, res *polypay.RefundResult, err error) {
			wantCode(t, err, polypay.EChannel, "SIGN_ERROR")
		}},
		{"ErrFrequencyLimitedRetryable", 429, `{"code":"FREQUENCY_LIMITED","message":"频率超限"}`, true, false, retryable},
		{"ErrSystemErrorRetryable", 500, `{"code":"SYSTEM_ERROR","message":"系统错误"}`, true, false, retryable},
		{"ErrUnsignedSuccess", 200, refund("SUCCESS"), false, false, badSignature},
		{"ErrTamperedResponse", 200, refund("SUCCESS"), true, true, badSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newConn(t, wechatpay.ChannelQR, config(stub(t, tt.status, tt.body, tt.sign, tt.tamper)))
			ch := &polypay.Charge{ID: "ch_x00000", Channel: wechatpay.ChannelQR, Amount: 100, Currency: "cny"}
			res, err := conn.Refund(context.Background(), ch, &polypay.Refund{OrderNo: "re_x", Amount: 100, Currency: "cny"}, "")
			tt.check(t, res, err)
		})
	}
	t.Run("ErrTransportRetryable", func(t *testing.T) {
		conn := newConn(t, wechatpay.ChannelQR, config("http://127.0.0.1:1"))
		_, err := conn.Refund(context.Background(), &polypay.Charge{ID: "ch_x00000", Amount: 100, Currency: "cny"}, &polypay.Refund{OrderNo: "re_x", Amount: 100, Currency: "cny"}, "")
		retryable(t, nil, err)
	})
}

// verifyOpenSSL checks an RSA-SHA256 signature with openssl against the
// merchant public key, sharing no code with Go's crypto.
func verifyOpenSSL(t *testing.T, openssl, dir, message, sigB64 string) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := writeFile(p, b); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub, sigPath := write("pub.pem", []byte(merchantPub)), write("sig", sig)
	verify := func(data []byte) (string, error) {
		out, err := runOpenSSL(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigPath, write("data", data))
		return out, err
	}
	if out, err := verify([]byte(message)); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl rejected the signature over %q: %v %s", message, err, out)
	}
	if out, err := verify([]byte(message + " ")); err == nil {
		t.Fatalf("openssl accepted the signature over other bytes: %s", out)
	}
}

// TestClientSignaturesOpenSSL verifies the JSAPI paySign and the app sign
// over the exact strings of the reference.
func TestClientSignaturesOpenSSL(t *testing.T) {
	openssl := lookOpenSSL(t)
	e := newEnv(t)
	tests := []struct {
		channel string
		message func(c map[string]any) string
		sig     string
	}{
		// JSAPI: appId\ntimeStamp\nnonceStr\nprepay_id=...\n
		{wechatpay.ChannelPub, func(c map[string]any) string {
			return c["appId"].(string) + "\n" + c["timeStamp"].(string) + "\n" + c["nonceStr"].(string) + "\n" + c["package"].(string) + "\n"
		}, "paySign"},
		{wechatpay.ChannelLite, func(c map[string]any) string {
			return c["appId"].(string) + "\n" + c["timeStamp"].(string) + "\n" + c["nonceStr"].(string) + "\n" + c["package"].(string) + "\n"
		}, "paySign"},
		// App: appid\ntimestamp\nnoncestr\nprepayid\n
		{wechatpay.ChannelApp, func(c map[string]any) string {
			return c["appId"].(string) + "\n" + strconv.FormatInt(int64(c["timeStamp"].(float64)), 10) + "\n" + c["nonceStr"].(string) + "\n" + c["prepayId"].(string) + "\n"
		}, "sign"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			cred := e.create(t, charge(tt.channel, "ossl_"+tt.channel, 100))
			var c map[string]any
			if err := json.Unmarshal(cred, &c); err != nil {
				t.Fatal(err)
			}
			verifyOpenSSL(t, openssl, t.TempDir(), tt.message(c), c[tt.sig].(string))
		})
	}
}

// signWith is used by the fuzz seeds: a plain Go RSA signature.
func signWith(key *rsa.PrivateKey, msg string) string {
	d := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// TestScanUnknownOutcomeReversed: a payment-code call whose outcome is
// unknown is reversed at once; a refusal is not.
func TestScanUnknownOutcomeReversed(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sign     bool
		reversed bool
		check    func(t *testing.T, err error)
	}{
		{"SystemError", 500, `{"code":"SYSTEM_ERROR","message":"系统错误"}`, true, true, func(t *testing.T, err error) {
			if err == nil || polypay.ErrorCode(err) != polypay.EInternal || !strings.Contains(err.Error(), "reversed") {
				t.Fatalf("%v: want a plain error saying the trade was reversed", err)
			}
		}},
		{"UnsignedSuccess", 200, `{"appid":"` + appID + `","mchid":"` + mchID + `","out_trade_no":"ch_scan_x","trade_state":"SUCCESS"}`, false, true, func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v: want ErrBadSignature", err)
			}
		}},
		{"RefusedNotReversed", 403, `{"code":"NOTENOUGH","message":"用户余额不足"}`, true, false, func(t *testing.T, err error) {
			wantCode(t, err, polypay.EChannel, "NOTENOUGH")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls = append(calls, r.URL.Path)
				status, body, sign := tt.status, tt.body, tt.sign
				if strings.HasSuffix(r.URL.Path, "/reverse") {
					status, body, sign = 200, `{"appid":"`+appID+`","mchid":"`+mchID+`","out_trade_no":"ch_scan_x"}`, true
				}
				if sign {
					signHeaders(w.Header(), platformKey, keyID, time.Now().Unix(), []byte(body))
				}
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
			}))
			t.Cleanup(srv.Close)
			conn := newConn(t, wechatpay.ChannelScan, config(srv.URL))
			ch := charge(wechatpay.ChannelScan, "scan_x", 100)
			_, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch})
			tt.check(t, err)
			want := []string{"/v3/pay/transactions/codepay"}
			if tt.reversed {
				// Asked first (the answer was unusable, so is the query), then reversed.
				want = append(want, "/v3/pay/transactions/out-trade-no/"+ch.ID, "/v3/pay/transactions/out-trade-no/"+ch.ID+"/reverse")
			}
			if strings.Join(calls, " ") != strings.Join(want, " ") {
				t.Fatalf("calls %v, want %v", calls, want)
			}
		})
	}
}
