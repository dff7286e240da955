package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

func lookOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	return p
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o600) }

func runOpenSSL(openssl string, args ...string) (string, error) {
	out, err := exec.Command(openssl, args...).CombinedOutput()
	return string(out), err
}

// simNotifications returns a payment and a refund notification exactly as
// the simulator sent them.
func simNotifications(t *testing.T) (payment, refund received) {
	t.Helper()
	e := newEnv(t)
	ch := charge(wechatpay.ChannelQR, "bodies", 1234)
	e.paid(t, ch)
	if _, err := e.conns[ch.Channel].Refund(context.Background(), ch, &polypay.Refund{OrderNo: "rb_1", Amount: 234, Currency: "cny"}, e.notifyURL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refund notification", func() bool { return len(e.notifications()) == 2 })
	got := e.notifications()
	return got[0], got[1]
}

// TestNotificationDecryptsIndependently decrypts the simulator's payment
// notification with crypto/cipher directly and checks that the connector
// read the same facts.
func TestNotificationDecryptsIndependently(t *testing.T) {
	payment, _ := simNotifications(t)
	var env map[string]any
	if err := json.Unmarshal(payment.body, &env); err != nil {
		t.Fatal(err)
	}
	plain, err := openResource(apiV3Key, env["resource"].(map[string]any))
	if err != nil {
		t.Fatalf("independent decryption: %v", err)
	}
	var tx struct {
		Mchid, OutTradeNo, TransactionID, TradeState, SuccessTime string
		Amount                                                    struct{ Total int64 }
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	if err := dec.Decode(&tx); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(plain, &raw); err != nil {
		t.Fatal(err)
	}
	tx.OutTradeNo, _ = raw["out_trade_no"].(string)
	tx.TransactionID, _ = raw["transaction_id"].(string)
	tx.TradeState, _ = raw["trade_state"].(string)
	tx.SuccessTime, _ = raw["success_time"].(string)
	paidAt, err := time.Parse(time.RFC3339, tx.SuccessTime)
	if err != nil {
		t.Fatal(err)
	}
	n := payment.n
	if payment.err != nil || tx.TradeState != "SUCCESS" || n.MerchantID != tx.Mchid || n.Trade.OutTradeNo != tx.OutTradeNo ||
		n.Trade.TransactionNo != tx.TransactionID || n.Trade.Amount != tx.Amount.Total || tx.Amount.Total != 1234 ||
		n.Trade.PaidAt != paidAt.Unix() || n.ID != env["id"] {
		t.Fatalf("connector read %+v (%v); the plaintext says %s", n, payment.err, plain)
	}
}

func TestParseNotification(t *testing.T) {
	payment, refund := simNotifications(t)
	conn := newConn(t, wechatpay.ChannelQR, config("http://127.0.0.1:1"))
	otherAPIv3 := config("http://127.0.0.1:1")
	otherAPIv3.APIv3Key = "0123456789abcdefghijABCDEFGHIJ02"
	otherConn := newConn(t, wechatpay.ChannelQR, otherAPIv3)

	now := time.Now().Unix()
	signed := func(body []byte) http.Header {
		h := http.Header{}
		signHeaders(h, platformKey, keyID, now, body)
		return h
	}
	// resigned: the body as given, validly signed, so that what is tested is
	// what follows the signature.
	type input struct {
		body []byte
		h    http.Header
		conn *wechatpay.Client
	}
	resigned := func(body []byte) input { return input{body, signed(body), conn} }
	txPlain := func(f func(m map[string]any)) []byte {
		m := map[string]any{"mchid": mchID, "appid": appID, "out_trade_no": "ch_tx", "transaction_id": "4200000001",
			"trade_state": "SUCCESS", "success_time": "2026-11-21T10:00:00+08:00", "amount": map[string]any{"total": 100}}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	rfPlain := func(f func(m map[string]any)) []byte {
		m := map[string]any{"mchid": mchID, "out_trade_no": "ch_tx", "out_refund_no": "re_1", "refund_status": "SUCCESS",
			"success_time": "2026-11-21T10:00:00+08:00", "amount": map[string]any{"total": 100, "refund": 30}}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	tamperedCiphertext := func() []byte {
		var env map[string]any
		if err := json.Unmarshal(payment.body, &env); err != nil {
			t.Fatal(err)
		}
		res := env["resource"].(map[string]any)
		ct := []byte(res["ciphertext"].(string))
		ct[5] ^= 0x01
		res["ciphertext"] = string(ct)
		b, _ := json.Marshal(env)
		return b
	}
	keep := func(m map[string]any) {}
	tests := []struct {
		name  string
		in    input
		check func(t *testing.T, n *polypay.Notification, err error)
	}{
		{"OKPayment", input{payment.body, payment.header, conn}, func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Kind != polypay.NotifyTrade || n.Trade.Amount != 1234 || n.Trade.State != polypay.TradePaid || n.MerchantID != mchID {
				t.Fatalf("%+v %v", n, err)
			}
		}},
		{"OKRefund", input{refund.body, refund.header, conn}, func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Kind != polypay.NotifyRefund || n.RefundNo != "rb_1" || n.RefundTotal != 0 || n.Trade.Amount != 1234 || n.RefundAt == 0 {
				t.Fatalf("%+v %v", n, err)
			}
		}},
		{"OKBuiltHere", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(keep))), func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Trade.OutTradeNo != "ch_tx" || n.Trade.Amount != 100 || n.ID != "EV-test-1" {
				t.Fatalf("%+v %v", n, err)
			}
		}},
		{"ErrForgedBody", input{bytes.Replace(payment.body, []byte(`"id":"`), []byte(`"id":"x`), 1), payment.header, conn}, wantBadSignature},
		{"ErrOtherKey", func() input {
			h := http.Header{}
			signHeaders(h, otherKey, keyID, now, payment.body)
			return input{payment.body, h, conn}
		}(), wantBadSignature},
		{"ErrStaleTimestamp", func() input {
			h := http.Header{}
			signHeaders(h, platformKey, keyID, now-301, payment.body)
			return input{payment.body, h, conn}
		}(), wantBadSignature},
		{"ErrOtherSerial", func() input {
			h := http.Header{}
			signHeaders(h, platformKey, "PUB_KEY_ID_OTHER", now, payment.body)
			return input{payment.body, h, conn}
		}(), wantBadSignature},
		{"ErrNoHeaders", input{payment.body, http.Header{}, conn}, wantBadSignature},
		{"ErrSignatureType", func() input {
			h := signed(payment.body)
			h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
			return input{payment.body, h, conn}
		}(), wantBadSignature},
		{"ErrTamperedCiphertext", resigned(tamperedCiphertext()), wantBadSignature},
		{"ErrOtherAPIv3Key", input{payment.body, payment.header, otherConn}, wantBadSignature},
		{"ErrAlgorithm", resigned(bytes.Replace(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(keep)), []byte("AEAD_AES_256_GCM"), []byte("AEAD_SM4_GCM"), 1)), wantBadSignature},
		{"ErrNotJSON", resigned([]byte("not json")), wantErrCode(polypay.EInvalid)},
		{"ErrNoResource", resigned([]byte(`{"id":"x","event_type":"TRANSACTION.SUCCESS"}`)), wantErrCode(polypay.EInvalid)},
		{"ErrUnknownEvent", resigned(notificationBody("TRANSACTION.CLOSED", "transaction", txPlain(keep))), wantErrCode(polypay.ENotSupported)},
		{"OKRefundAbnormal", resigned(notificationBody("REFUND.ABNORMAL", "refund", rfPlain(func(m map[string]any) { m["refund_status"] = "ABNORMAL" }))), func(t *testing.T, n *polypay.Notification, err error) {
			if err != nil || n.Kind != polypay.NotifyRefund || n.RefundStatus != polypay.RefundFailed || n.RefundAmount != 30 {
				t.Fatalf("got %+v, %v; want a failed refund of 30", n, err)
			}
		}},
		{"ErrRefundStatusMismatch", resigned(notificationBody("REFUND.ABNORMAL", "refund", rfPlain(keep))), wantErrCode(polypay.ENotSupported)},
		{"ErrUnknownTradeState", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(func(m map[string]any) { m["trade_state"] = "PENDING" }))), wantErrCode(polypay.ENotSupported)},
		{"ErrAmountZero", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(func(m map[string]any) { m["amount"] = map[string]any{"total": 0} }))), wantErrCode(polypay.EInvalid)},
		{"ErrAmountString", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(func(m map[string]any) { m["amount"] = map[string]any{"total": "100"} }))), wantErrCode(polypay.EInvalid)},
		{"ErrNoMchid", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(func(m map[string]any) { delete(m, "mchid") }))), wantErrCode(polypay.EInvalid)},
		{"ErrBadSuccessTime", resigned(notificationBody("TRANSACTION.SUCCESS", "transaction", txPlain(func(m map[string]any) { m["success_time"] = "2026-11-21 10:00:00" }))), wantErrCode(polypay.EInvalid)},
		{"ErrRefundOverTotal", resigned(notificationBody("REFUND.SUCCESS", "refund", rfPlain(func(m map[string]any) { m["amount"] = map[string]any{"total": 100, "refund": 101} }))), wantErrCode(polypay.EInvalid)},
		{"ErrRefundNoNumber", resigned(notificationBody("REFUND.SUCCESS", "refund", rfPlain(func(m map[string]any) { delete(m, "out_refund_no") }))), wantErrCode(polypay.EInvalid)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.in.conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(notifyRequest(tt.in.body, tt.in.h), tt.in.body))
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
// accepts decrypts independently (crypto/cipher) to a payload that says
// what the notification says.
func FuzzParseNotification(f *testing.F) {
	conn, err := wechatpay.New(wechatpay.ChannelQR, config("http://127.0.0.1:1"))
	if err != nil {
		f.Fatal(err)
	}
	tx := `{"mchid":"1900000109","out_trade_no":"ch_1","transaction_id":"42","trade_state":"SUCCESS","success_time":"2026-11-21T10:00:00+08:00","amount":{"total":100}}`
	rf := `{"mchid":"1900000109","out_trade_no":"ch_1","out_refund_no":"re_1","refund_status":"SUCCESS","amount":{"total":100,"refund":30}}`
	f.Add("TRANSACTION.SUCCESS", tx, "", true)
	f.Add("REFUND.SUCCESS", rf, "", true)
	f.Add("TRANSACTION.SUCCESS", `{"amount":{"total":-1}}`, "", true)
	f.Add("REFUND.SUCCESS", `{"amount":null}`, "", true)
	f.Add("", "", `{"resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"%%%"},"id":"1"}`, false)
	f.Add("", "", `null`, false)
	f.Fuzz(func(t *testing.T, event, plaintext, raw string, wrap bool) {
		body := []byte(raw)
		original := "transaction"
		if strings.HasPrefix(event, "REFUND") {
			original = "refund"
		}
		if wrap {
			body = notificationBody(event, original, []byte(plaintext))
		}
		h := http.Header{}
		signHeaders(h, platformKey, keyID, time.Now().Unix(), body)
		n, err := conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(notifyRequest(body, h), body))
		if err != nil {
			if n != nil {
				t.Fatal("notification returned with an error")
			}
			return
		}
		var env map[string]any
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("accepted a body that is not JSON: %v", err)
		}
		res, _ := env["resource"].(map[string]any)
		if _, ok := res["ciphertext"].(string); !ok {
			t.Fatalf("accepted a notification without ciphertext: %s", body)
		}
		plain, err := openResource(apiV3Key, res)
		if err != nil {
			t.Fatalf("accepted a resource that does not decrypt independently: %v", err)
		}
		var p struct {
			Mchid       string `json:"mchid"`
			OutTradeNo  string `json:"out_trade_no"`
			OutRefundNo string `json:"out_refund_no"`
			Amount      struct {
				Total  int64 `json:"total"`
				Refund int64 `json:"refund"`
			} `json:"amount"`
		}
		if err := json.Unmarshal(plain, &p); err != nil {
			t.Fatalf("accepted a payload that is not JSON: %v", err)
		}
		if n.MerchantID != p.Mchid || n.Trade.OutTradeNo != p.OutTradeNo || n.Trade.Amount != p.Amount.Total || p.Amount.Total < 1 || n.ID != env["id"] {
			t.Fatalf("notification %+v, payload %s", n, plain)
		}
		switch env["event_type"] {
		case "TRANSACTION.SUCCESS":
			if n.Kind != polypay.NotifyTrade {
				t.Fatalf("kind %d for a transaction", n.Kind)
			}
		case "REFUND.SUCCESS":
			if n.Kind != polypay.NotifyRefund || n.RefundNo != p.OutRefundNo || n.RefundTotal != 0 || p.Amount.Refund < 1 || p.Amount.Refund > p.Amount.Total {
				t.Fatalf("refund %+v, payload %s", n, plain)
			}
		default:
			t.Fatalf("accepted event_type %v", env["event_type"])
		}
	})
}
