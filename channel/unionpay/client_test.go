package unionpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/sim/unionpaysim"
)

const merID = "777290058110048"

var (
	rootKey, midKey, simKey, merchantKey, otherKey *rsa.PrivateKey
	merchantKeyPEM, merchantCertPEM, otherCertPEM  string
)

func TestMain(m *testing.M) {
	for _, k := range []**rsa.PrivateKey{&rootKey, &midKey, &simKey, &merchantKey, &otherKey} {
		var err error
		if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	merchantKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)}))
	merchantCertPEM = selfSigned(merchantKey, 69629715988, "041@"+merID+"@merchant@1")
	otherCertPEM = selfSigned(otherKey, 69629715989, "041@"+merID+"@merchant@2")
	os.Exit(m.Run())
}

func selfSigned(k *rsa.PrivateKey, serial int64, cn string) string {
	t := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, t, t, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// fixture is a simulator and a merchant's notify endpoint that verifies
// every notification with the connector.
type fixture struct {
	sim    *unionpaysim.Sim
	srv    *httptest.Server
	notify *httptest.Server
	conn   *unionpay.Client // parses notifications

	mu    sync.Mutex
	got   []*polypay.Notification
	nacks int           // answer 500 this many times first
	skew  time.Duration // added to the sim's clock
}

// now is the sim's clock.
func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Add(f.skew)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, nil)
}

// newFixtureWith is newFixture with the simulator's handler behind wrap
// (nil: none).
func newFixtureWith(t *testing.T, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	f := &fixture{}
	f.sim = unionpaysim.New(unionpaysim.Options{RootKey: rootKey, MiddleKey: midKey, SignKey: simKey,
		Retry: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}, Now: f.now,
		Merchant: func(id string) (*unionpaysim.Merchant, bool) {
			if id != merID {
				return nil, false
			}
			return &unionpaysim.Merchant{MerID: merID, CertID: "69629715988", PublicKey: &merchantKey.PublicKey}, true
		}})
	var h http.Handler = f.sim
	if wrap != nil {
		h = wrap(f.sim)
	}
	f.srv = httptest.NewServer(h)
	f.conn = f.client(t, unionpay.ChannelApp, nil)
	f.notify = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n, err := f.conn.ParseNotification(r.Context(), polypay.NewNotifyRequest(r, body))
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil || f.nacks > 0 {
			if err == nil {
				f.nacks--
			}
			f.conn.Ack(false).WriteResponse(w)
			return
		}
		f.got = append(f.got, n)
		f.conn.Ack(true).WriteResponse(w)
	}))
	t.Cleanup(func() { f.sim.Close(); f.srv.Close(); f.notify.Close() })
	return f
}

func (f *fixture) config(mod func(*unionpay.Config)) unionpay.Config {
	cfg := unionpay.Config{MerID: merID, PrivateKeyPEM: merchantKeyPEM, SignCertPEM: merchantCertPEM,
		RootCertPEM: f.sim.RootCertPEM(), MiddleCertPEM: f.sim.MiddleCertPEM(), AppleMerchantID: "merchant.com.example",
		BaseURL: f.srv.URL, FileURL: f.srv.URL + "/filedownload/", Test: true}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func (f *fixture) client(t *testing.T, ch string, mod func(*unionpay.Config)) *unionpay.Client {
	t.Helper()
	c, err := unionpay.New(ch, f.config(mod))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) notifications() []*polypay.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*polypay.Notification(nil), f.got...)
}

func (f *fixture) waitNotifications(t *testing.T, n int) []*polypay.Notification {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got := f.notifications(); len(got) >= n {
			return got
		}
	}
	t.Fatalf("got %d notifications, want %d", len(f.notifications()), n)
	return nil
}

var ctx = context.Background()

func newCharge(ch string, amount int64) *polypay.Charge {
	now := time.Now().Unix()
	c := &polypay.Charge{ID: polypay.NewID("ch_"), Channel: ch, Amount: amount, Currency: "cny", Subject: "s",
		Created: now, TimeExpire: now + 3600, Extra: json.RawMessage(`{}`)}
	switch ch {
	case unionpay.ChannelWap, unionpay.ChannelPC:
		c.Extra = json.RawMessage(`{"result_url":"https://merchant.example/r"}`)
	case unionpay.ChannelScan:
		// A code whose customer confirms in the app: payCredential plays it.
		c.Extra = json.RawMessage(`{"scan_code":"` + unionpaysim.NewPaymentCode(unionpaysim.CodeConfirms) + `","terminal_id":"POS00001"}`)
	}
	return c
}

// payCharge creates and pays a charge as its customer would.
func (f *fixture) payCharge(t *testing.T, c *unionpay.Client, ch *polypay.Charge) {
	t.Helper()
	f.pay(t, c, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL})
}

func (f *fixture) pay(t *testing.T, c *unionpay.Client, req polypay.ChannelRequest) {
	t.Helper()
	ch := req.Charge
	cred, err := c.CreateCharge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ch.Credential = cred
	f.payCredential(t, ch, cred, true)
}

// payCredential has the customer pay (ok) or decline a created charge:
// the app's tn, Apple Pay's token, or the front gateway's card page.
func (f *fixture) payCredential(t *testing.T, ch *polypay.Charge, cred []byte, ok bool) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(cred, &m); err != nil {
		t.Fatal(err)
	}
	var err error
	switch ch.Channel {
	case unionpay.ChannelApp:
		err = f.sim.PayTN(ctx, m["tn"], ok)
	case unionpay.ChannelApplePay:
		err = f.sim.ApplePay(ctx, m["tn"], unionpaysim.NewApplePayToken(ch.Amount, unionpaysim.TestCard), ok)
	case unionpay.ChannelScan:
		err = f.sim.PayCode(ctx, merID, m["orderId"], ok)
	default:
		form := url.Values{}
		for k, v := range m {
			if k != "channel_url" {
				form.Set(k, v)
			}
		}
		res, perr := http.PostForm(m["channel_url"], form)
		if perr != nil {
			t.Fatal(perr)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(page), `name="card"`) {
			t.Fatalf("front gateway page: %s", page)
		}
		err = f.sim.Pay(ctx, merID, m["orderId"], ok)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestChannelsEndToEnd(t *testing.T) {
	f := newFixture(t)
	for _, name := range unionpay.Channels {
		t.Run(name, func(t *testing.T) {
			c := f.client(t, name, nil)
			ch := newCharge(name, 1000)
			before := len(f.notifications())
			if tr, err := c.QueryCharge(ctx, ch); err != nil || tr.State != polypay.TradeNotFound {
				t.Fatalf("query before pay = %+v, %v", tr, err)
			}
			f.payCharge(t, c, ch)
			n := f.waitNotifications(t, before+1)[before]
			if n.Kind != polypay.NotifyTrade || n.Trade.State != polypay.TradePaid || n.Trade.OutTradeNo != ch.ID || n.Trade.Amount != 1000 || n.MerchantID != merID {
				t.Fatalf("notification = %+v", n)
			}
			tr, err := c.QueryCharge(ctx, ch)
			if err != nil || tr.State != polypay.TradePaid || tr.Amount != 1000 || tr.TransactionNo != n.Trade.TransactionNo {
				t.Fatalf("query after pay = %+v, %v", tr, err)
			}
			ch.TransactionNo = tr.TransactionNo
			re := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 300, Currency: "cny", Created: time.Now().Unix()}
			for _, attempt := range []string{"First", "Repeat"} {
				res, err := c.Refund(ctx, ch, re, f.notify.URL)
				if err != nil || res.Status != polypay.RefundSucceeded || res.Amount != 300 {
					t.Fatalf("refund %s = %+v, %v", attempt, res, err)
				}
			}
			rn := f.waitNotifications(t, before+2)[before+1]
			if rn.Kind != polypay.NotifyRefund || rn.RefundNo != re.OrderNo || rn.RefundAmount != 300 || rn.Trade.OutTradeNo != ch.ID {
				t.Fatalf("refund notification = %+v", rn)
			}
			over := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 701, Currency: "cny", Created: time.Now().Unix()}
			if res, err := c.Refund(ctx, ch, over, f.notify.URL); err != nil || res.Status != polypay.RefundFailed || res.FailureCode != "36" {
				t.Fatalf("over-refund = %+v, %v", res, err)
			}
		})
	}
}

func TestCreateCharge(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, channel string
		mod           func(*polypay.Charge)
		cfg           func(*unionpay.Config)
		code, param   string
	}{
		{"ErrNoResultURL", unionpay.ChannelWap, func(c *polypay.Charge) { c.Extra = json.RawMessage(`{}`) }, nil, polypay.EInvalid, "extra[result_url]"},
		{"ErrCurrency", unionpay.ChannelApp, func(c *polypay.Charge) { c.Currency = "usd" }, nil, polypay.EInvalid, "currency"},
		{"ErrNoAppleMerchant", unionpay.ChannelApplePay, nil, func(c *unionpay.Config) { c.AppleMerchantID = "" }, polypay.EInvalid, "channel"},
		{"ErrWrongCert", unionpay.ChannelApp, nil, func(c *unionpay.Config) { c.PrivateKeyPEM, c.SignCertPEM = pemKey(otherKey), otherCertPEM }, polypay.EChannel, ""},
		{"OKApp", unionpay.ChannelApp, nil, nil, "", ""},
		{"OKPC", unionpay.ChannelPC, nil, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t, tc.channel, tc.cfg)
			ch := newCharge(tc.channel, 100)
			if tc.mod != nil {
				tc.mod(ch)
			}
			cred, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL})
			if tc.code == "" {
				again, err2 := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL})
				if err != nil || err2 != nil || string(cred) != string(again) {
					t.Fatalf("create twice: %s %v / %s %v", cred, err, again, err2)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != tc.code || pe.Param != tc.param {
				t.Fatalf("err = %v, want %s %s", err, tc.code, tc.param)
			}
			if tc.name == "ErrWrongCert" && pe.ChannelCode != "11" {
				t.Fatalf("channel code = %s, want 11 (验证签名失败)", pe.ChannelCode)
			}
		})
	}
}

// TestFormCredentialPostedAsIs: pingpp-js posts every key of a upacp_wap or
// upacp_pc credential to UnionPay's production front gateway, which checks
// the signature over every field it receives, so that credential may hold
// nothing unsigned; only another gateway (the sandbox) is named, in
// channel_url, which clients take out before posting. The fixture's
// simulator stands in for the gateway (pingpp-js with the host replaced).
func TestFormCredentialPostedAsIs(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, channel string
		base          string // "" the fixture's simulator
		channelURL    bool
	}{
		{"WapProduction", unionpay.ChannelWap, unionpay.DefaultBaseURL, false},
		{"PCProduction", unionpay.ChannelPC, unionpay.DefaultBaseURL, false},
		{"WapSandbox", unionpay.ChannelWap, "", true},
		{"PCSandbox", unionpay.ChannelPC, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t, tc.channel, func(cfg *unionpay.Config) {
				if tc.base != "" {
					cfg.BaseURL = tc.base
				}
			})
			ch := newCharge(tc.channel, 100)
			ch.Extra = json.RawMessage(`{"result_url":"https://merchant.example/result"}`)
			cred, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL})
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(cred, &m); err != nil {
				t.Fatalf("credential %s: %v", cred, err)
			}
			form := url.Values{}
			for k, v := range m {
				if k != "channel_url" || !tc.channelURL {
					form.Set(k, v)
				}
			}
			res, err := http.PostForm(f.srv.URL+unionpay.PathFront, form)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(page), `name="card"`) {
				t.Fatalf("front gateway refused the credential's fields %v: %s", form, page)
			}
			if action, named := m["channel_url"]; named != tc.channelURL || (named && action != f.srv.URL+unionpay.PathFront) {
				t.Fatalf("channel_url = %q (present %v), want present %v", action, named, tc.channelURL)
			}
		})
	}
}

func pemKey(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func TestAnswersFromAnotherRootAreRejected(t *testing.T) {
	f := newFixture(t)
	other := unionpaysim.New(unionpaysim.Options{}) // a different PKI
	defer other.Close()
	c := f.client(t, unionpay.ChannelApp, func(c *unionpay.Config) { c.RootCertPEM, c.MiddleCertPEM = other.RootCertPEM(), other.MiddleCertPEM() })
	_, err := c.QueryCharge(ctx, newCharge(unionpay.ChannelApp, 100))
	if !errors.Is(err, polypay.ErrBadSignature) {
		t.Fatalf("err = %v, want ErrBadSignature", err)
	}
}

func TestCloseAndCancel(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, unionpay.ChannelApp, nil)
	t.Run("ErrUnpaidBeforeTimeout", func(t *testing.T) {
		ch := newCharge(unionpay.ChannelApp, 100)
		var pe *polypay.Error
		if err := c.CloseCharge(ctx, ch); !errors.As(err, &pe) || pe.Code != polypay.ENotSupported {
			t.Fatalf("close = %v, want ENotSupported", err)
		}
	})
	t.Run("OKUnpaidAfterTimeout", func(t *testing.T) {
		ch := newCharge(unionpay.ChannelApp, 100)
		ch.TimeExpire = time.Now().Unix() - 1
		if err := c.CloseCharge(ctx, ch); err != nil {
			t.Fatal(err)
		}
	})
	ch := newCharge(unionpay.ChannelApp, 500)
	f.payCharge(t, c, ch)
	t.Run("ErrPaid", func(t *testing.T) {
		var pe *polypay.Error
		if err := c.CloseCharge(ctx, ch); !errors.As(err, &pe) || pe.Code != polypay.EChannel {
			t.Fatalf("close paid = %v, want EChannel", err)
		}
	})
	t.Run("CancelSameDay", func(t *testing.T) {
		for i := 0; i < 2; i++ { // repeating is safe
			if err := c.Cancel(ctx, ch, f.notify.URL); err != nil {
				t.Fatalf("cancel %d: %v", i, err)
			}
		}
		re := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 100, Currency: "cny", Created: time.Now().Unix()}
		if res, err := c.Refund(ctx, ch, re, f.notify.URL); err != nil || res.Status != polypay.RefundFailed || res.FailureCode != "35" {
			t.Fatalf("refund after cancel = %+v, %v", res, err)
		}
	})
}

func TestNotificationRetries(t *testing.T) {
	f := newFixture(t)
	f.nacks = 2
	c := f.client(t, unionpay.ChannelApp, nil)
	ch := newCharge(unionpay.ChannelApp, 100)
	f.payCharge(t, c, ch)
	f.waitNotifications(t, 1)
	orderID, _ := unionpay.OrderID(ch.ID)
	d := f.sim.Notifications(merID, orderID)
	if len(d) != 3 || d[0].Acked || d[1].Acked || !d[2].Acked || d[2].Attempt != 3 {
		t.Fatalf("deliveries = %+v, want 2 refused then acked on the 3rd", d)
	}
}

// TestStatement asks for the settlement day's statement at two moments of
// the sim's clock: midday Beijing time, and 23:30, after UnionPay's day
// has rolled over to tomorrow's settlement date.
func TestStatement(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	n := time.Now().In(cst)
	// The latest such moment not after now: the connector stamps its
	// requests with the real time, and the sim refuses a request already
	// older than its own clock's order timeout.
	latest := func(h, m int) time.Time {
		at := time.Date(n.Year(), n.Month(), n.Day(), h, m, 0, 0, cst)
		if at.After(n) {
			at = at.AddDate(0, 0, -1)
		}
		return at
	}
	for _, at := range []time.Time{latest(12, 0), latest(23, 30)} {
		t.Run(at.Format("15:04"), func(t *testing.T) {
			f := newFixture(t)
			f.skew = time.Until(at)
			statementAt(t, f, cst)
		})
	}
}

func statementAt(t *testing.T, f *fixture, cst *time.Location) {
	c := f.client(t, unionpay.ChannelApp, nil)
	ch := newCharge(unionpay.ChannelApp, 1000)
	f.payCharge(t, c, ch)
	tr, _ := c.QueryCharge(ctx, ch)
	ch.TransactionNo = tr.TransactionNo
	re := &polypay.Refund{OrderNo: polypay.NewID("re_")[3:], Amount: 400, Currency: "cny", Created: f.now().Unix()}
	if _, err := c.Refund(ctx, ch, re, f.notify.URL); err != nil {
		t.Fatal(err)
	}
	day := f.now().In(cst).Add(time.Hour).Format("2006-01-02")
	lines, err := c.Statement(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("lines = %+v", lines)
	}
	pay, ref := lines[0], lines[1]
	if pay.Kind != polypay.StatementPayment || pay.OutTradeNo != ch.ID || pay.Amount != 1000 || pay.Fee != 6 || pay.TransactionNo != ch.TransactionNo {
		t.Fatalf("payment line = %+v", pay)
	}
	if ref.Kind != polypay.StatementRefund || ref.RefundNo != re.OrderNo || ref.Amount != 400 || ref.TransactionNo != ch.TransactionNo {
		t.Fatalf("refund line = %+v", ref)
	}
	var pe *polypay.Error
	if _, err := c.Statement(ctx, "2020-02-03"); !errors.As(err, &pe) || pe.Code != polypay.ENotFound {
		t.Fatalf("empty day = %v, want ENotFound", err)
	}
}

func TestOrderIDRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		ok       bool
	}{{"OK", polypay.NewID("ch_"), true}, {"ErrRefundID", "re_0Rk3dF6wJx00101aBcDeFgHiJ", false}, {"ErrShort", "ch_abc", false}, {"ErrSymbol", "ch_0Rk3dF6wJx0010-aBcDeFgHiJ", false}} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := unionpay.OrderID(tc.id)
			if (err == nil) != tc.ok {
				t.Fatalf("OrderID(%s) = %s, %v", tc.id, o, err)
			}
			if tc.ok && (unionpay.ChargeID(o) != tc.id || len(o) > 40 || strings.Contains(o, "_")) {
				t.Fatalf("OrderID(%s) = %s, back %s", tc.id, o, unionpay.ChargeID(o))
			}
		})
	}
}
