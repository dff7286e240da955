package wechatpay_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/sim/wechatsim"
)

// envelope is a red envelope to the sandbox payee, numbered n.
func envelope(n string, amount int64) *polypay.RedEnvelope {
	r := validEnvelope()
	r.ID, r.OrderNo, r.Amount, r.Recipient, r.Created = "red_"+n, n, amount, payeeOK.OpenID, time.Now().Unix()
	return r
}

func send(t *testing.T, conn *wechatpay.Client, r *polypay.RedEnvelope) *polypay.RedEnvelopeResult {
	t.Helper()
	res, err := conn.SendRedEnvelope(context.Background(), r)
	if err != nil {
		t.Fatalf("SendRedEnvelope: %v", err)
	}
	return res
}

func queryEnvelope(t *testing.T, conn *wechatpay.Client, r *polypay.RedEnvelope) *polypay.RedEnvelopeResult {
	t.Helper()
	res, err := conn.QueryRedEnvelope(context.Background(), r)
	if err != nil {
		t.Fatalf("QueryRedEnvelope: %v", err)
	}
	return res
}

// envelopes are the sim's books of one mch_billno.
func envelopes(e *env, billno string) []wechatsim.RedEnvelopeSnapshot {
	var out []wechatsim.RedEnvelopeSnapshot
	for _, r := range e.sim.RedEnvelopes() {
		if r.MchBillNo == billno {
			out = append(out, r)
		}
	}
	return out
}

// TestRedEnvelopeSandbox: in sandbox mode a sent envelope is opened when
// the merchant queries it; sending it again sends nothing more.
func TestRedEnvelopeSandbox(t *testing.T) {
	e := newEnv(t)
	conn := e.conns[wechatpay.ChannelPub]
	before := e.sim.Funds(mchID)
	r := envelope("1001", 888)
	res := send(t, conn, r)
	if res.Status != polypay.RedEnvelopeSent || res.Amount != 888 || res.TransactionNo == "" {
		t.Fatalf("SendRedEnvelope = %+v, want sent 888 with a transaction_no", res)
	}
	again := send(t, conn, r)
	if *again != *res {
		t.Fatalf("sending again = %+v, first %+v", again, res)
	}
	billno := conn.MchBillNo(r)
	if books := envelopes(e, billno); len(books) != 1 || books[0].Amount != 888 {
		t.Fatalf("the sim's books hold %+v under %s, want one envelope of 888", books, billno)
	}
	if got := e.sim.Funds(mchID); got != before-888 {
		t.Fatalf("funds %d, want %d: debited once", got, before-888)
	}
	q := queryEnvelope(t, conn, r)
	if q.Status != polypay.RedEnvelopeReceived || q.Amount != 888 || q.TransactionNo != res.TransactionNo || q.ReceivedAt == 0 || q.NotFound {
		t.Fatalf("QueryRedEnvelope = %+v, want received with %s", q, res.TransactionNo)
	}
	if got := e.sim.Funds(mchID); got != before-888 {
		t.Fatalf("funds %d after opening, want %d", got, before-888)
	}
}

// TestRedEnvelopeLifecycle: SENDING, then SENT; opened by the user
// (RECEIVED), or refunded when nobody opens it within 24 hours of the
// sim's clock (REFUND, the money back); FAILED when stopped while sending.
func TestRedEnvelopeLifecycle(t *testing.T) {
	e := newEnvOpts(t, nil, func(o *wechatsim.Options) { o.HoldPayouts, o.RedpackSending = true, time.Second })
	conn := e.conns[wechatpay.ChannelPub]
	start := e.sim.Funds(mchID)

	opened, refunded, failed := envelope("2001", 100), envelope("2002", 200), envelope("2003", 300)
	for _, r := range []*polypay.RedEnvelope{opened, refunded, failed} {
		send(t, conn, r)
		if q := queryEnvelope(t, conn, r); q.Status != polypay.RedEnvelopeSending {
			t.Fatalf("a new envelope is %+v, want sending", q)
		}
	}
	if err := e.sim.FailRedEnvelope(mchID, conn.MchBillNo(failed), ""); err != nil {
		t.Fatal(err)
	}
	if q := queryEnvelope(t, conn, failed); q.Status != polypay.RedEnvelopeFailed || q.FailureMsg == "" {
		t.Fatalf("a stopped envelope is %+v, want failed with a reason", q)
	}
	e.clock.Add(time.Second)
	for _, r := range []*polypay.RedEnvelope{opened, refunded} {
		if q := queryEnvelope(t, conn, r); q.Status != polypay.RedEnvelopeSent {
			t.Fatalf("after a second the envelope is %+v, want sent (held: queries open nothing)", q)
		}
	}
	openViaEndpoint(t, e, conn.MchBillNo(opened))
	if q := queryEnvelope(t, conn, opened); q.Status != polypay.RedEnvelopeReceived || q.ReceivedAt == 0 {
		t.Fatalf("an opened envelope is %+v, want received", q)
	}
	e.clock.Add(24 * time.Hour)
	q := queryEnvelope(t, conn, refunded)
	if q.Status != polypay.RedEnvelopeRefund || q.RefundedAt == 0 || q.ReceivedAt != 0 {
		t.Fatalf("an envelope unopened for 24 h is %+v, want refund", q)
	}
	if q := queryEnvelope(t, conn, opened); q.Status != polypay.RedEnvelopeReceived {
		t.Fatalf("an opened envelope is %+v a day later, want still received", q)
	}
	if got, want := e.sim.Funds(mchID), start-100; got != want {
		t.Fatalf("funds %d, want %d: only the opened envelope's money is gone", got, want)
	}
}

// openViaEndpoint is the user opening an envelope, through the sandbox's
// HTTP endpoint.
func openViaEndpoint(t *testing.T, e *env, billno string) {
	t.Helper()
	resp, err := http.PostForm(e.base+"/sandbox/"+mchID+"/redpack", url.Values{"mch_billno": {billno}, "action": {"open"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("open: HTTP %d", resp.StatusCode)
	}
}

// TestRedEnvelopeRefused: WeChat's refusals are EChannel errors with its
// code, and nothing is sent or debited.
func TestRedEnvelopeRefused(t *testing.T) {
	e := newEnv(t)
	conn := e.conns[wechatpay.ChannelPub]
	wrongKey := config(e.base)
	wrongKey.APIv2Key = "OTHERKEY0123456789abcdefghijklmn"
	cases := []struct {
		name  string
		setup func(r *polypay.RedEnvelope)
		conn  *wechatpay.Client
		code  string
	}{
		{"ErrNotEnough", func(*polypay.RedEnvelope) { e.sim.SetFunds(mchID, 99) }, conn, "NOTENOUGH"},
		{"ErrUnknownUser", func(r *polypay.RedEnvelope) { r.Recipient = "oUpF8uNoSuchUser000000000000" }, conn, "OPENID_ERROR"},
		{"ErrSignature", nil, newConn(t, wechatpay.ChannelPub, wrongKey), "SIGN_ERROR"},
		{"ErrBillNoOfAnother", func(r *polypay.RedEnvelope) {
			first := *r
			first.Amount = 101
			send(t, conn, &first)
		}, conn, "FATAL_ERROR"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.SetFunds(mchID, wechatsim.DefaultFunds)
			r := envelope(strings.Repeat("3", i+1), 100)
			if tc.setup != nil {
				tc.setup(r)
			}
			before := e.sim.Funds(mchID)
			_, err := tc.conn.SendRedEnvelope(context.Background(), r)
			wantCode(t, err, polypay.EChannel, tc.code)
			if got := e.sim.Funds(mchID); got != before {
				t.Fatalf("funds %d after a refusal, were %d", got, before)
			}
		})
	}
	t.Run("ErrDailyCount", func(t *testing.T) {
		e.sim.SetFunds(mchID, wechatsim.DefaultFunds)
		for i := range 10 {
			r := envelope("4"+strings.Repeat("0", i), 100)
			r.Recipient = payeeOther.OpenID
			send(t, conn, r)
		}
		r := envelope("49", 100)
		r.Recipient = payeeOther.OpenID
		_, err := conn.SendRedEnvelope(context.Background(), r)
		wantCode(t, err, polypay.EChannel, "SENDNUM_LIMIT")
	})
}

func TestRedEnvelopeNotFound(t *testing.T) {
	e := newEnv(t)
	res, err := e.conns[wechatpay.ChannelPub].QueryRedEnvelope(context.Background(), envelope("5001", 100))
	if err != nil || !res.NotFound {
		t.Fatalf("QueryRedEnvelope of an envelope never sent = %+v, %v; want NotFound", res, err)
	}
}

// TestRedEnvelopeTLS: over TLS the sim checks the client certificate,
// which must be the merchant's API certificate.
func TestRedEnvelopeTLS(t *testing.T) {
	sim := wechatsim.New(wechatsim.Options{PrivateKey: platformKey, PublicKeyID: keyID, Merchant: simMerchant})
	t.Cleanup(sim.Close)
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	cfg := config(srv.URL)
	cfg.HTTPClient = srv.Client()
	res := send(t, newConn(t, wechatpay.ChannelPub, cfg), envelope("6001", 100))
	if res.Status != polypay.RedEnvelopeSent {
		t.Fatalf("over TLS with the API certificate: %+v", res)
	}

	// Another key's certificate under the merchant's serial: refused.
	forged := cfg
	forged.PrivateKeyPEM, forged.APICertPEM = pkcs8(otherKey), certPEM(otherKey, serial)
	_, err := newConn(t, wechatpay.ChannelPub, forged).SendRedEnvelope(context.Background(), envelope("6002", 100))
	wantCode(t, err, polypay.EChannel, "CA_ERROR")

	// A client presenting no certificate at all (raw v2 call).
	resp, err := srv.Client().Post(srv.URL+"/mmpaymkttransfers/gethbinfo", "text/xml",
		strings.NewReader("<xml><mch_id>"+mchID+"</mch_id></xml>"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "CA_ERROR") {
		t.Fatalf("a call without a certificate answered %s", b)
	}
}

// TestRedEnvelopePlainHTTPRequiringCert: a sim that requires the client
// certificate refuses plain HTTP.
func TestRedEnvelopePlainHTTPRequiringCert(t *testing.T) {
	e := newEnvOpts(t, nil, func(o *wechatsim.Options) { o.RequireClientCert = true })
	_, err := e.conns[wechatpay.ChannelPub].SendRedEnvelope(context.Background(), envelope("7001", 100))
	wantCode(t, err, polypay.EChannel, "CA_ERROR")
}

// TestRedEnvelopeUnknownOutcome: an answer lost or garbled is not a
// refusal: the outcome is unknown.
func TestRedEnvelopeUnknownOutcome(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"HTTP500", ""},
		{"NotXML", "{}"},
		{"SystemError", "<xml><return_code>SUCCESS</return_code><result_code>FAIL</result_code><err_code>SYSTEMERROR</err_code></xml>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.body == "" {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			_, err := newConn(t, wechatpay.ChannelPub, config(srv.URL)).SendRedEnvelope(context.Background(), envelope("8001", 100))
			var pe *polypay.Error
			if err == nil || (errors.As(err, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid)) {
				t.Fatalf("SendRedEnvelope = %v, want a plain error (outcome unknown)", err)
			}
		})
	}
}
