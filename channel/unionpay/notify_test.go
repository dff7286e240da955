package unionpay_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/sim/unionpaysim"
)

// signForm signs a golden notification as the simulator's signing
// certificate (key simKey) and returns the form body.
func signForm(t testing.TB, sim *unionpaysim.Sim, raw string, mod func(map[string]string)) string {
	t.Helper()
	form, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for k := range form {
		v[k] = form.Get(k)
	}
	v["signPubKeyCert"] = sim.SignCertPEM()
	if err := unionpay.Sign(simKey, v); err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(v)
	}
	out := url.Values{}
	for k, x := range v {
		out.Set(k, x)
	}
	return out.Encode()
}

func TestParseNotification(t *testing.T) {
	f := newFixture(t)
	c := f.conn
	purchase, refund, revoke := readFile(t, "notify_purchase.form"), readFile(t, "notify_refund.form"), readFile(t, "notify_revoke.form")
	preauth, finish, cancel := readFile(t, "notify_preauth.form"), readFile(t, "notify_preauth_finish.form"), readFile(t, "notify_preauth_cancel.form")
	payout := readFile(t, "notify_payout.form")
	const chargeID = "ch_0Rk3dF6wJx00101aBcDeFgHiJ"
	const payoutNo = "0Rk3dF8PayoutAbCdEf01234"
	tests := []struct {
		name  string
		body  string
		check func(*polypay.Notification) bool
		err   error // errors.Is target; nil with wantErr means any error
		bad   bool
	}{
		{"OKPurchase", signForm(t, f.sim, purchase, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyTrade && n.Trade.State == polypay.TradePaid && n.Trade.OutTradeNo == chargeID &&
				n.Trade.Amount == 1000 && n.Trade.TransactionNo == "782611211030001234567" && n.MerchantID == merID && n.Trade.PaidAt != 0
		}, nil, false},
		// 04 is a refund (smartwalle/unionpay swaps 04 and 31).
		{"OKRefund04", signForm(t, f.sim, refund, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyRefund && n.RefundNo == "0Rk3dF7aaaa001XyZ0123abcd" && n.RefundAmount == 300 &&
				n.Trade.OutTradeNo == chargeID && n.RefundStatus == polypay.RefundSucceeded
		}, nil, false},
		{"OKRevoke31", signForm(t, f.sim, revoke, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyTrade && n.Trade.State == polypay.TradeClosed && n.Trade.OutTradeNo == chargeID
		}, nil, false},
		{"OKPreAuth02", signForm(t, f.sim, preauth, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyTrade && n.Trade.State == polypay.TradeAuthorized && n.Trade.AmountAuthorized == 1000 &&
				n.Trade.Amount == 0 && n.Trade.OutTradeNo == chargeID && n.Trade.TransactionNo == "782611211030001234567"
		}, nil, false},
		{"OKPreAuthFailed", signForm(t, f.sim, strings.Replace(preauth, "respCode=00", "respCode=61", 1), nil), func(n *polypay.Notification) bool {
			return n.Trade.State == polypay.TradeFailed && n.Trade.FailureCode == "61" && n.Trade.OutTradeNo == chargeID
		}, nil, false},
		{"OKFinish03", signForm(t, f.sim, finish, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyTrade && n.Trade.State == polypay.TradePaid && n.Trade.Amount == 600 &&
				n.Trade.OutTradeNo == chargeID && n.Trade.TransactionNo == "782611211200002222222" && n.Trade.PaidAt != 0
		}, nil, false},
		{"OKCancel32", signForm(t, f.sim, cancel, nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyTrade && n.Trade.State == polypay.TradeClosed && n.Trade.OutTradeNo == chargeID
		}, nil, false},
		{"ErrFinishTampered", signForm(t, f.sim, finish, func(v map[string]string) { v["txnAmt"] = "1000" }), nil, polypay.ErrBadSignature, true},
		{"ErrFinishNoReserved", signForm(t, f.sim, strings.Replace(finish, "reqReserved=", "x=", 1), nil), nil, nil, true},
		{"OKPurchaseFailed", signForm(t, f.sim, strings.Replace(purchase, "respCode=00", "respCode=61", 1), nil), func(n *polypay.Notification) bool {
			return n.Trade.State == polypay.TradeFailed && n.Trade.FailureCode == "61"
		}, nil, false},
		{"ErrTamperedAmount", signForm(t, f.sim, purchase, func(v map[string]string) { v["txnAmt"] = "1" }), nil, polypay.ErrBadSignature, true},
		{"ErrNoSignature", signForm(t, f.sim, purchase, func(v map[string]string) { delete(v, "signature") }), nil, polypay.ErrBadSignature, true},
		{"ErrNoCert", signForm(t, f.sim, purchase, func(v map[string]string) { delete(v, "signPubKeyCert") }), nil, polypay.ErrBadSignature, true},
		{"ErrMerchantCertAsSigner", signForm(t, f.sim, purchase, func(v map[string]string) {
			v["signPubKeyCert"] = merchantCertPEM
			unionpay.Sign(merchantKey, v)
		}), nil, polypay.ErrBadSignature, true},
		{"ErrSignMethod", signForm(t, f.sim, purchase, func(v map[string]string) { v["signMethod"] = "11" }), nil, polypay.ErrBadSignature, true},
		{"ErrUnknownTxnType", signForm(t, f.sim, strings.Replace(purchase, "txnType=01", "txnType=72", 1), nil), nil, nil, true},
		{"ErrNotForm", "%zz", nil, nil, true},
		{"OKPayout12", signForm(t, f.sim, payout, nil), func(n *polypay.Notification) bool {
			p := n.Payout
			return n.Kind == polypay.NotifyPayout && n.PayoutNo == payoutNo && n.MerchantID == merID && p != nil &&
				p.State == polypay.PayoutPaid && p.Amount == 1000 && p.TransactionNo == "782611211140001112223" && p.PaidAt != 0 &&
				n.Trade.OutTradeNo == ""
		}, nil, false},
		{"OKPayoutFailed", signForm(t, f.sim, strings.Replace(payout, "respCode=00", "respCode=66", 1), nil), func(n *polypay.Notification) bool {
			p := n.Payout
			return n.Kind == polypay.NotifyPayout && p.State == polypay.PayoutFailed && p.FailureCode == "66" && p.PaidAt == 0
		}, nil, false},
		// UnionPay's payout guide: 60 and 34 are still being decided.
		{"OKPayoutProcessing60", signForm(t, f.sim, strings.Replace(payout, "respCode=00", "respCode=60", 1), nil), func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyPayout && n.Payout.State == polypay.PayoutProcessing && n.Payout.FailureCode == ""
		}, nil, false},
		{"OKPayoutCardRedacted", signForm(t, f.sim, strings.NewReplacer("respCode=00", "respCode=61", "respMsg=%E6%88%90%E5%8A%9F%5B0000000%5D", "respMsg=card+6216261000000000018+invalid").Replace(payout), nil),
			func(n *polypay.Notification) bool {
				return n.Payout.State == polypay.PayoutFailed && !strings.Contains(n.Payout.FailureMsg, "6216261000000000018") && n.Payout.FailureMsg == "card *** invalid"
			}, nil, false},
		{"ErrPayoutTampered", signForm(t, f.sim, payout, func(v map[string]string) { v["respCode"] = "00"; v["txnAmt"] = "1" }), nil, polypay.ErrBadSignature, true},
		{"ErrPayoutBizType", signForm(t, f.sim, strings.Replace(payout, "bizType=000401", "bizType=000201", 1), nil), nil, nil, true},
		{"ErrPayoutForeignOrder", signForm(t, f.sim, strings.Replace(payout, "orderId=0Rk3dF8PayoutAbCdEf01234", "orderId=ch0Rk3dF6wJx00101aBcDeFgHiJ", 1), nil), nil, nil, true},
		{"ErrPayoutCurrency", signForm(t, f.sim, strings.Replace(payout, "currencyCode=156", "currencyCode=840", 1), nil), nil, nil, true},
		{"ErrPayoutUnknownCode", signForm(t, f.sim, strings.Replace(payout, "respCode=00", "respCode=Z9", 1), nil), nil, nil, true},
		{"ErrPayoutNoAmount", signForm(t, f.sim, strings.Replace(payout, "txnAmt=1000&", "", 1), nil), nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := c.ParseNotification(ctx, polypay.NotifyRequest{Body: []byte(tc.body)})
			if tc.bad {
				if err == nil || n != nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("got %+v, %v; want error %v", n, err, tc.err)
				}
				return
			}
			if err != nil || !tc.check(n) {
				t.Fatalf("got %+v, %v", n, err)
			}
		})
	}
}

func FuzzParseNotification(f *testing.F) {
	sim := unionpaysim.New(unionpaysim.Options{RootKey: rootKey, MiddleKey: midKey, SignKey: simKey})
	defer sim.Close()
	c, err := unionpay.New(unionpay.ChannelApp, unionpay.Config{MerID: merID, PrivateKeyPEM: merchantKeyPEM, SignCertPEM: merchantCertPEM,
		RootCertPEM: sim.RootCertPEM(), MiddleCertPEM: sim.MiddleCertPEM(), BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"notify_purchase.form", "notify_refund.form", "notify_revoke.form",
		"notify_preauth.form", "notify_preauth_finish.form", "notify_preauth_cancel.form", "notify_payout.form"} {
		f.Add(readFile(f, name), true)
	}
	f.Add("txnAmt=-1&txnType=01&orderId=ch", true)
	f.Add("a=1&a=2", false)
	f.Add("%", false)
	f.Fuzz(func(t *testing.T, raw string, sign bool) {
		body := raw
		if sign {
			if _, err := url.ParseQuery(raw); err != nil {
				return
			}
			body = signForm(t, sim, raw, nil)
		}
		n, err := c.ParseNotification(ctx, polypay.NotifyRequest{Body: []byte(body)})
		if err != nil {
			if n != nil {
				t.Fatal("notification returned with an error")
			}
			return
		}
		if !sign {
			t.Fatalf("an unsigned body parsed: %q", raw)
		}
		if n.Kind == polypay.NotifyPayout {
			checkPayoutNotice(t, n)
			return
		}
		if n.Trade.OutTradeNo == "" || !strings.HasPrefix(n.Trade.OutTradeNo, "ch_") {
			t.Fatalf("parsed without a charge: %+v", n)
		}
		if n.Kind == polypay.NotifyTrade && n.Trade.Amount < 0 || n.RefundAmount < 0 {
			t.Fatalf("negative amount: %+v", n)
		}
	})
}

// checkPayoutNotice holds for every payout notification that parses: it
// names a payout, states a positive amount, and a failure keeps its code
// and no card number.
func checkPayoutNotice(t *testing.T, n *polypay.Notification) {
	t.Helper()
	p := n.Payout
	if p == nil || len(n.PayoutNo) != 24 || p.Amount <= 0 || n.Trade.OutTradeNo != "" {
		t.Fatalf("payout notification %+v %+v", n, p)
	}
	switch p.State {
	case polypay.PayoutPaid, polypay.PayoutProcessing:
		if p.FailureCode != "" {
			t.Fatalf("%s payout with failure code %q", p.State, p.FailureCode)
		}
	case polypay.PayoutFailed:
		if p.FailureCode == "" || digitRun(p.FailureMsg) >= 12 {
			t.Fatalf("failed payout %+v", p)
		}
	default:
		t.Fatalf("payout notification state %q", p.State)
	}
}

// digitRun is the longest run of digits in s.
func digitRun(s string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
