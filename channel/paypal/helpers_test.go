package paypal

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/paypalsim"
)

var ctx = context.Background()

const (
	testClientID = "AQYRTESTMERCH01_clientid0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
	testSecret   = "EsecretSECRET0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
	testMerchant = "QYRTESTMERCH1"
)

// received is one notification the merchant endpoint saw.
type received struct {
	n   *polypay.Notification
	err error
}

type env struct {
	sim    *paypalsim.Sim
	api    string
	client *Client
	notify string // notify URL
	got    chan received
	fail   chan struct{} // a value makes the endpoint answer 500 once
}

// setup runs the simulator and a merchant notify endpoint that parses
// every webhook with the connector under test.
func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup with the simulator's handler behind wrap (nil: none).
func setupWith(t *testing.T, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	e := &env{got: make(chan received, 100), fail: make(chan struct{}, 100)}
	e.sim = paypalsim.New(paypalsim.Options{
		Merchant: func(id string) (*paypalsim.Merchant, bool) {
			if id != testClientID {
				return nil, false
			}
			return &paypalsim.Merchant{ClientID: testClientID, Secret: testSecret, MerchantID: testMerchant, Email: "m@example.com"}, true
		},
		Retry: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond},
	})
	var h http.Handler = e.sim
	if wrap != nil {
		h = wrap(e.sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { e.sim.Close(); srv.Close() })
	e.sim.SetURL(srv.URL)
	e.api = srv.URL
	e.client = newClient(t, srv.URL, testSecret)
	ns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case <-e.fail:
			w.WriteHeader(500)
			return
		default:
		}
		n, err := e.client.ParseNotification(r.Context(), polypay.NewNotifyRequest(r, body))
		e.got <- received{n, err}
		e.client.Ack(err == nil).WriteResponse(w)
	}))
	t.Cleanup(ns.Close)
	e.notify = ns.URL + "/notify/paypal/app_test/test"
	return e
}

func newClient(t *testing.T, base, secret string) *Client {
	t.Helper()
	c, err := New(Config{ClientID: testClientID, ClientSecret: secret, MerchantID: testMerchant, BaseURL: base, Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var seq int

func charge(amount int64, currency string) *polypay.Charge {
	seq++
	return &polypay.Charge{ID: "ch_paypaltest" + time.Now().Format("150405.000000") + string(rune('a'+seq%26)),
		Channel: Channel, Amount: amount, Currency: currency, Subject: "Test item"}
}

// create places the order for c and keeps the credential on it.
func (e *env) create(t *testing.T, c *polypay.Charge, authorize bool) {
	t.Helper()
	cred, err := e.client.CreateCharge(ctx, polypay.ChannelRequest{Charge: c, NotifyURL: e.notify, ReturnURL: "https://shop.example/return", AuthorizeOnly: authorize})
	if err != nil {
		t.Fatalf("CreateCharge: %v", err)
	}
	var href string
	if err := json.Unmarshal(cred, &href); err != nil || href == "" {
		t.Fatalf("credential = %s, want a JSON string", cred)
	}
	c.Credential = cred
}

// next waits for the next notification the endpoint parsed.
func (e *env) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-e.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
	}
	return received{}
}

// nextKind waits for a parsed notification of the given kind about a
// charge, skipping those about others.
func (e *env) nextKind(t *testing.T, chargeID string, kind polypay.NotifyKind) *polypay.Notification {
	t.Helper()
	for {
		r := e.next(t)
		if r.err != nil {
			t.Fatalf("notification rejected: %v", r.err)
		}
		if r.n.Kind == kind && r.n.Trade.OutTradeNo == chargeID {
			return r.n
		}
	}
}
