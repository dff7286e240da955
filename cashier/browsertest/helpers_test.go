package browsertest_test

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

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/webhook"
)

// consoleLog records what a tab's pages write to the console (console API,
// uncaught exceptions, the browser's own log, where CSP reports its
// violations).
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// watchConsole records the tab's console and, when the test ends, fails it
// on any Content-Security-Policy violation or uncaught exception. A page
// that CSP breaks may still look right; this is how it shows.
func (tb *tab) watchConsole() *consoleLog {
	tb.t.Helper()
	cl := &consoleLog{}
	msgs := chromedp.Console(tb.ctx) // subscribed now, read below
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			cl.mu.Lock()
			cl.msgs = append(cl.msgs, m)
			cl.mu.Unlock()
		}
	}()
	t := tb.t
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond) // let the last events arrive
		for _, m := range cl.all() {
			switch {
			case isCSPViolation(m):
				t.Errorf("CSP violation on %s: %s", m.URL, m.Text)
			case m.IsException():
				t.Errorf("uncaught exception on %s: %s", m.URL, m.Text)
			case m.Type == chromedp.ConsoleError:
				t.Logf("console error on %s: %s", m.URL, m.Text)
			}
		}
	})
	return cl
}

func (cl *consoleLog) all() []chromedp.ConsoleMessage {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), cl.msgs...)
}

func isCSPViolation(m chromedp.ConsoleMessage) bool {
	return strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy")
}

// hooks is the merchant's webhook endpoint: it keeps only the events
// whose signature verifies with the node's public key.
type hooks struct {
	mu     sync.Mutex
	events []map[string]any
	bad    int
}

func (nd *node) listenWebhooks() *hooks {
	nd.t.Helper()
	h := &hooks{}
	pub, err := nd.n.WebhookPublicKey(context.Background(), nd.app.AppID, false)
	if err != nil {
		nd.t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), pub); err != nil {
			h.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev map[string]any
		json.Unmarshal(body, &ev)
		h.events = append(h.events, ev)
	}))
	nd.t.Cleanup(srv.Close)
	nd.api("POST", "/v1/webhook_endpoints", map[string]any{"app": nd.app.AppID, "url": srv.URL + "/hook"})
	return h
}

// wait returns the verified event of this type about object id.
func (h *hooks) wait(t *testing.T, typ, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		for _, ev := range h.events {
			obj, _ := ev["data"].(map[string]any)["object"].(map[string]any)
			if ev["type"] == typ && obj["id"] == id {
				h.mu.Unlock()
				return obj
			}
		}
		bad := h.bad
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no verified %s event for %s (%d bad signatures)", typ, id, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// none fails if any verified event of this type about id arrived.
func (h *hooks) none(t *testing.T, typ, id string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.events {
		obj, _ := ev["data"].(map[string]any)["object"].(map[string]any)
		if ev["type"] == typ && obj["id"] == id {
			t.Fatalf("unexpected %s event for %s", typ, id)
		}
	}
}

// orderCharge is the charge of an order on a channel, through the API.
func (nd *node) orderCharge(orderID, channel string) map[string]any {
	nd.t.Helper()
	list := nd.api("GET", "/v1/orders/"+orderID+"/charges", nil)
	data, _ := list["data"].([]any)
	for _, c := range data {
		if m := c.(map[string]any); m["channel"] == channel {
			return nd.api("GET", "/v1/charges/"+m["id"].(string), nil)
		}
	}
	nd.t.Fatalf("order %s has no %s charge: %v", orderID, channel, list)
	return nil
}

// waitLocation waits until the tab is at a URL starting with prefix.
func (tb *tab) waitLocation(prefix string) string {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The page may be between documents (a reload by SSE, a form that
		// submits itself): an error here is a try again.
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil && strings.HasPrefix(loc, prefix) {
			return loc
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("never reached %s; at %s: %s", prefix, loc, eval[string](tb, "document.body ? document.body.innerText : \"\""))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// labelled fails unless every visible form control on the page has an
// accessible name (a <label>, aria-label or, for buttons, its text).
func (tb *tab) labelled() {
	tb.t.Helper()
	bad := eval[string](tb, `Array.from(document.querySelectorAll("input:not([type=hidden]),select,textarea,button")).filter(function(e){
		var name = (e.labels && e.labels.length ? Array.from(e.labels).map(function(l){return l.innerText}).join("") : "") +
			(e.getAttribute("aria-label")||"") + (e.tagName==="BUTTON" ? e.innerText : "");
		return name.trim()==="";
	}).map(function(e){return e.outerHTML.slice(0,80)}).join(" | ")`)
	if bad != "" {
		tb.t.Fatalf("form controls without a label: %s", bad)
	}
}

// tabOrder presses Tab from the element focused now and returns the ids
// (or names) of the next n elements that get the focus.
func (tb *tab) tabOrder(n int) []string {
	tb.t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		tb.key("\t")
		out = append(out, eval[string](tb, `(function(e){return e ? (e.id || e.name || e.tagName) : ""})(document.activeElement)`))
	}
	return out
}

// rawCharge is a charge's JSON as the API returns it.
func (nd *node) rawCharge(id string) string {
	nd.t.Helper()
	b, _ := json.Marshal(nd.api("GET", "/v1/charges/"+id, nil))
	return string(b)
}
