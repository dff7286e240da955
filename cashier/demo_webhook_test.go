package cashier_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/webhook"
)

// TestDemoWebhookVerifiesItsOwnAppKey: the demo store accepts only events
// signed with its own app's test-mode key and naming its app in test mode,
// not another app's or mode's, however validly signed.
func TestDemoWebhookVerifiesItsOwnAppKey(t *testing.T) {
	n, a := gatewaytest.Start(t, "cashier test", func(c *gateway.Config) { c.PollInterval = time.Hour; c.Demo = true })
	nd := &node{t: t, n: n, app: a}
	// Buying once creates the demo app; find it through the order.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(nd.n.URL+"/demo/buy", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.Path, "/cashier/") {
		t.Fatalf("buy: %d %q %v", res.StatusCode, res.Header.Get("Location"), err)
	}
	var o *polypay.Order
	if err := nd.n.DB.Read(t.Context(), func(tx *store.Tx) (err error) {
		o, err = tx.OrderByID(t.Context(), strings.TrimPrefix(loc.Path, "/cashier/"))
		return err
	}); err != nil || o == nil {
		t.Fatalf("demo order: %v", err)
	}
	demoApp := o.AppID
	if demoApp == nd.app.AppID {
		t.Fatal("the demo store uses the test's app")
	}
	event := func(app string, live bool) []byte {
		b, _ := json.Marshal(map[string]any{"id": "evt_demo", "object": "event", "type": "charge.succeeded", "livemode": live,
			"created": 1_800_000_000, "data": map[string]any{"object": map[string]any{"id": "ch_demo", "object": "charge",
				"app": app, "amount": 990, "channel": "alipay_qr", "metadata": map[string]string{"order_id": o.ID}}}})
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		keyApp  string // whose key signs
		keyLive bool
		status  int
	}{
		{"OK", event(demoApp, false), demoApp, false, 200},
		{"ErrDemoAppLiveKey", event(demoApp, false), demoApp, true, 400},
		{"ErrOtherAppKey", event(demoApp, false), nd.app.AppID, false, 400},
		{"ErrLiveEvent", event(demoApp, true), demoApp, false, 400},
		{"ErrOtherAppEvent", event(nd.app.AppID, false), demoApp, false, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := nd.n.WebhookKeys.Signer(t.Context(), tc.keyApp, tc.keyLive)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", nd.n.URL+"/demo/webhook", bytes.NewReader(tc.body))
			req.Header.Set(webhook.SignatureHeader, s.Sign(tc.body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
}
