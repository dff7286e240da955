package stripe_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

var ctx = context.Background()

// env is a simulator with one account, a connector per channel and a
// notify endpoint that verifies and records what arrives.
type env struct {
	t      *testing.T
	sim    *stripesim.Sim
	srv    *httptest.Server
	acct   stripesim.Account
	card   *stripe.Client
	apple  *stripe.Client
	notify *receiver
}

type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []*polypay.Notification
	errs []error
	fail bool // answer 500 (so the sim retries)
}

func (r *receiver) notifications() []*polypay.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*polypay.Notification(nil), r.got...)
}

// waitFor waits until a notification satisfying ok arrived.
func (r *receiver) waitFor(t *testing.T, what string, ok func(*polypay.Notification) bool) *polypay.Notification {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, n := range r.notifications() {
			if ok(n) {
				return n
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no %s notification arrived; got %d, errors %v", what, len(r.got), r.errs)
	return nil
}

func newEnv(t *testing.T, mod func(*stripesim.Options, *stripe.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, mod)
}

// newEnvWith is newEnv with the simulator's handler behind wrap (nil: none).
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler, mod func(*stripesim.Options, *stripe.Config)) *env {
	t.Helper()
	e := &env{t: t, acct: stripesim.NewAccount()}
	opts := stripesim.Options{Retry: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond},
		EventDelay: 5 * time.Millisecond, SlowDelay: 600 * time.Millisecond,
		Account: func(id string) (*stripesim.Account, bool) {
			if id == e.acct.ID {
				a := e.acct
				return &a, true
			}
			return nil, false
		}}
	cfg := stripe.Config{AccountID: e.acct.ID, SecretKey: e.acct.SecretKey, WebhookSecret: e.acct.WebhookSecret,
		Timeout: 300 * time.Millisecond, MaxNetworkRetries: new(int64), RegisterWebhook: true,
		ReturnURL: "https://merchant.example/return"}
	if mod != nil {
		mod(&opts, &cfg)
	}
	e.sim = stripesim.New(opts)
	var h http.Handler = e.sim
	if wrap != nil {
		h = wrap(e.sim)
	}
	e.srv = httptest.NewServer(h)
	cfg.BaseURL = e.srv.URL
	var err error
	if e.card, err = stripe.New(stripe.ChannelCard, cfg); err != nil {
		t.Fatal(err)
	}
	if e.apple, err = stripe.New(stripe.ChannelApplePay, cfg); err != nil {
		t.Fatal(err)
	}
	e.notify = &receiver{}
	e.notify.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n, err := e.card.ParseNotification(r.Context(), polypay.NewNotifyRequest(r, body))
		e.notify.mu.Lock()
		fail := e.notify.fail
		if err != nil {
			e.notify.errs = append(e.notify.errs, err)
		} else if !fail {
			e.notify.got = append(e.notify.got, n)
		}
		e.notify.mu.Unlock()
		e.card.Ack(err == nil && !fail).WriteResponse(w)
	}))
	t.Cleanup(func() {
		e.sim.Close()
		e.srv.Close()
		e.notify.srv.Close()
	})
	return e
}

func newCharge(amount int64) *polypay.Charge {
	id := polypay.NewID("ch_")
	return &polypay.Charge{ID: id, AppID: "app_1", Channel: "card", OrderNo: "ORD" + id[len(id)-7:], Amount: amount,
		Currency: "usd", Subject: "Test order", Body: "Test", Extra: json.RawMessage(`{}`)}
}

func cardReq(c *polypay.Charge, number, notify string) polypay.ChannelRequest {
	return polypay.ChannelRequest{Charge: c, NotifyURL: notify,
		Card: &polypay.CardData{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}}
}

// create charges a card and stores the credential on the charge, as core does.
func (e *env) create(c *polypay.Charge, req polypay.ChannelRequest) stripe.Credential {
	e.t.Helper()
	raw, err := e.card.CreateCharge(ctx, req)
	if err != nil {
		e.t.Fatalf("CreateCharge: %v", err)
	}
	c.Credential = raw
	var cr stripe.Credential
	if err := json.Unmarshal(raw, &cr); err != nil {
		e.t.Fatal(err)
	}
	return cr
}

func (e *env) query(c *polypay.Charge) *polypay.Trade {
	e.t.Helper()
	tr, err := e.card.QueryCharge(ctx, c)
	if err != nil {
		e.t.Fatalf("QueryCharge: %v", err)
	}
	return tr
}

// challenge completes the ACS page as a browser would and returns where
// it redirected to.
func (e *env) challenge(cr stripe.Credential, code string) string {
	e.t.Helper()
	if cr.NextAction == nil || cr.NextAction.RedirectToURL == nil {
		e.t.Fatalf("credential has no redirect: %+v", cr)
	}
	page, err := http.Get(cr.NextAction.RedirectToURL.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(html), stripesim.ChallengeCode) {
		e.t.Fatalf("ACS page: %d %s", page.StatusCode, html)
	}
	token := cr.NextAction.RedirectToURL.URL[strings.Index(cr.NextAction.RedirectToURL.URL, "token=")+6:]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	action := strings.SplitN(cr.NextAction.RedirectToURL.URL, "?", 2)[0]
	resp, err := noRedirect.PostForm(action, map[string][]string{"token": {token}, "code": {code}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("ACS submit: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}
