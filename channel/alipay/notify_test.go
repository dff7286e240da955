package alipay_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
)

// simBodies returns a payment and a refund notification body exactly as the
// simulator sent them.
func simBodies(t *testing.T) (payment, refund string) {
	t.Helper()
	e := newEnv(t)
	ch := charge("ch_bodies", 1234)
	e.paid(t, ch)
	if _, err := e.conn.Refund(context.Background(), ch, &polypay.Refund{OrderNo: "rb_1", Amount: 234, Currency: "cny"}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refund notification", func() bool { return len(e.notifications()) == 2 })
	got := e.notifications()
	return string(got[0].body), string(got[1].body)
}

func TestParseNotification(t *testing.T) {
	payment, refund := simBodies(t)
	conn := newConn(t, "http://127.0.0.1:1/unused", merchantPKCS1, platformPub)

	// edit changes a signed body; resign re-signs it with the platform key
	// so that what is tested is the field check, not the signature.
	edit := func(body string, resign bool, f func(url.Values)) string {
		v, err := url.ParseQuery(body)
		if err != nil {
			t.Fatal(err)
		}
		f(v)
		if resign {
			signNotification(v, platformKey)
		}
		return v.Encode()
	}
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, n *polypay.Notification, err error)
	}{
		{"OKPayment", payment, func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Kind != polypay.NotifyTrade || n.Trade.Amount != 1234 || n.Trade.State != polypay.TradePaid {
				t.Fatalf("%+v %v", n, err)
			}
		}},
		{"OKRefund", refund, func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Kind != polypay.NotifyRefund || n.RefundNo != "rb_1" || n.RefundTotal != 234 || n.Trade.Amount != 1234 {
				t.Fatalf("%+v %v", n, err)
			}
		}},
		{"ErrForgedAmount", edit(payment, false, func(v url.Values) { v.Set("total_amount", "0.01") }), wantBadSignature},
		{"ErrForgedRefundFee", edit(refund, false, func(v url.Values) { v.Set("refund_fee", "12.34") }), wantBadSignature},
		{"ErrAddedField", edit(payment, false, func(v url.Values) { v.Set("out_biz_no", "x") }), wantBadSignature},
		{"ErrNoSign", edit(payment, false, func(v url.Values) { v.Del("sign") }), wantBadSignature},
		{"ErrSignNotBase64", edit(payment, false, func(v url.Values) { v.Set("sign", "%%%") }), wantBadSignature},
		{"ErrOtherKey", edit(payment, false, func(v url.Values) { signNotification(v, otherKey) }), wantBadSignature},
		{"ErrCertSNDoesNotChooseKey", edit(payment, false, func(v url.Values) {
			signNotification(v, otherKey)
			v.Set("alipay_cert_sn", "attacker")
		}), wantBadSignature},
		{"ErrDuplicateField", payment + "&total_amount=0.01", wantErrCode(polypay.EInvalid)},
		{"ErrNotAForm", "a=%zz", wantErrCode(polypay.EInvalid)},
		{"ErrAmountThreeDecimals", edit(payment, true, func(v url.Values) { v.Set("total_amount", "12.345") }), wantErrCode(polypay.EInvalid)},
		{"ErrAmountNegative", edit(payment, true, func(v url.Values) { v.Set("total_amount", "-12.34") }), wantErrCode(polypay.EInvalid)},
		{"ErrNoAmount", edit(payment, true, func(v url.Values) { v.Del("total_amount") }), wantErrCode(polypay.EInvalid)},
		{"ErrRefundFeeOverTotal", edit(refund, true, func(v url.Values) { v.Set("refund_fee", "12.35") }), wantErrCode(polypay.EInvalid)},
		{"ErrBadPaymentTime", edit(payment, true, func(v url.Values) { v.Set("gmt_payment", "yesterday") }), wantErrCode(polypay.EInvalid)},
		{"ErrUnknownStatus", edit(payment, true, func(v url.Values) { v.Set("trade_status", "TRADE_PENDING") }), wantErrCode(polypay.ENotSupported)},
		{"ErrOtherNotifyType", edit(payment, true, func(v url.Values) { v.Set("notify_type", "fund_auth_freeze") }), wantErrCode(polypay.ENotSupported)},
		{"OKClosedUnpaid", edit(payment, true, func(v url.Values) {
			v.Set("trade_status", "TRADE_CLOSED")
			v.Del("gmt_payment")
		}), func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Trade.State != polypay.TradeClosed || n.Trade.PaidAt != 0 {
				t.Fatalf("%+v %v", n, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/notify/alipay_qr", strings.NewReader("the body is passed separately"))
			n, err := conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(r, []byte(tt.body)))
			if err != nil && n != nil {
				t.Fatalf("returned both a notification and %v", err)
			}
			tt.check(t, n, err)
		})
	}
}

func wantBadSignature(t *testing.T, n *polypay.Notification, err error) {
	t.Helper()
	if !errors.Is(err, polypay.ErrBadSignature) {
		t.Fatalf("got %+v, %v; want ErrBadSignature", n, err)
	}
}

func wantErrCode(code string) func(t *testing.T, n *polypay.Notification, err error) {
	return func(t *testing.T, n *polypay.Notification, err error) {
		t.Helper()
		if errors.Is(err, polypay.ErrBadSignature) || polypay.ErrorCode(err) != code {
			t.Fatalf("got %+v, %v; want code %s", n, err, code)
		}
	}
}

// FuzzParseNotification: no body makes the parser panic, and a body it
// accepts verified and says what its fields say (checked against an
// independent big.Rat reading of the amounts).
func FuzzParseNotification(f *testing.F) {
	conn, err := alipay.New(alipay.ChannelQR, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub, Gateway: "http://127.0.0.1:1/unused"})
	if err != nil {
		f.Fatal(err)
	}
	base := url.Values{
		"notify_time": {"2026-11-21 10:00:01"}, "notify_type": {"trade_status_sync"}, "notify_id": {"n1"},
		"app_id": {appID}, "charset": {"utf-8"}, "version": {"1.0"}, "sign_type": {"RSA2"},
		"trade_no": {"2026112122001000000000000001"}, "out_trade_no": {"ch_fuzz"}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"12.34"}, "gmt_payment": {"2026-11-21 10:00:00"}, "buyer_logon_id": {"138****0000"},
	}
	signNotification(base, platformKey)
	f.Add(base.Encode())
	refund := url.Values{}
	for k, v := range base {
		refund[k] = v
	}
	refund.Set("out_biz_no", "re_1")
	refund.Set("refund_fee", "2.3")
	refund.Set("gmt_refund", "2026-11-21 10:05:00.123")
	signNotification(refund, platformKey)
	f.Add(refund.Encode())
	for _, typ := range []string{"dut_user_sign", "dut_user_unsign"} {
		agr := url.Values{"notify_time": {"2026-11-21 10:00:01"}, "notify_type": {typ}, "notify_id": {"n2"}, "app_id": {appID},
			"charset": {"utf-8"}, "version": {"1.0"}, "sign_type": {"RSA2"}, "agreement_no": {"20261121000000000001"},
			"external_agreement_no": {"C001"}, "status": {"NORMAL"}, "sign_time": {"2026-11-21 10:00:00"}, "unsign_time": {"2026-11-22 10:00:00"}}
		signNotification(agr, platformKey)
		f.Add(agr.Encode())
	}
	f.Add("")
	f.Add("sign=&total_amount=1")
	f.Add(strings.Replace(base.Encode(), "total_amount=12.34", "total_amount=12.3%34", 1)) // same value, other encoding

	r := httptest.NewRequest("POST", "/notify/alipay_qr", nil)
	f.Fuzz(func(t *testing.T, body string) {
		n, err := conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(r, []byte(body)))
		if err != nil {
			if n != nil {
				t.Fatal("notification returned with an error")
			}
			return
		}
		v, perr := url.ParseQuery(body)
		if perr != nil {
			t.Fatalf("accepted a body that is not a form: %v", perr)
		}
		if err := verifyNotification(v); err != nil {
			t.Fatalf("accepted a notification whose signature does not verify: %v", err)
		}
		if n.Kind == polypay.NotifyAgreement {
			a := n.Agreement
			want := map[string]polypay.AgreementState{"dut_user_sign": polypay.AgreementSigned, "dut_user_unsign": polypay.AgreementTerminated}[v.Get("notify_type")]
			if a == nil || a.State != want || a.ContractID != v.Get("agreement_no") || a.ContractNo != v.Get("external_agreement_no") ||
				a.ContractID == "" || a.ContractNo == "" || n.MerchantID != v.Get("app_id") {
				t.Fatalf("agreement notice %+v, body %v", a, v)
			}
			return
		}
		if want := fen(t, v.Get("total_amount")); n.Trade.Amount != want || want <= 0 {
			t.Fatalf("amount %d, body says %q", n.Trade.Amount, v.Get("total_amount"))
		}
		if n.Trade.OutTradeNo != v.Get("out_trade_no") || n.MerchantID != v.Get("app_id") {
			t.Fatalf("ids %q %q, body says %q %q", n.Trade.OutTradeNo, n.MerchantID, v.Get("out_trade_no"), v.Get("app_id"))
		}
		if n.Kind == polypay.NotifyRefund {
			if want := fen(t, v.Get("refund_fee")); n.RefundTotal != want || want > n.Trade.Amount || n.RefundNo != v.Get("out_biz_no") {
				t.Fatalf("refund %d/%q, body says %q/%q", n.RefundTotal, n.RefundNo, v.Get("refund_fee"), v.Get("out_biz_no"))
			}
		}
	})
}

// verifyNotification checks the platform signature over every field but
// sign, sign_type and the unsigned alipay_cert_sn, empty values included as
// Alipay's Java SDK does.
func verifyNotification(v url.Values) error {
	var pairs []string
	for k, vs := range v {
		if k == "sign" || k == "sign_type" || k == "alipay_cert_sn" {
			continue
		}
		for _, x := range vs {
			pairs = append(pairs, k+"="+x)
		}
	}
	sort.Strings(pairs)
	sig, err := base64.StdEncoding.DecodeString(v.Get("sign"))
	if err != nil {
		return err
	}
	d := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	return rsa.VerifyPKCS1v15(&platformKey.PublicKey, crypto.SHA256, d[:], sig)
}

// fen reads a yuan amount with math/big, independently of the connector.
func fen(t *testing.T, s string) int64 {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("accepted amount %q is not a number", s)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		t.Fatalf("accepted amount %q is not a whole number of fen", s)
	}
	return r.Num().Int64()
}
