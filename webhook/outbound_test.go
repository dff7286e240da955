package webhook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

// oneKey signs every app's webhooks with one key.
type oneKey struct{ s *webhook.Signer }

func (k oneKey) Signer(context.Context, string, bool) (*webhook.Signer, error) { return k.s, nil }

// deliverOnce queues one event for an endpoint at url in a mode on a fresh
// store, runs one dispatcher pass, and returns the attempt it recorded.
func deliverOnce(t *testing.T, p *outbound.Policy, live bool, url string, log *slog.Logger) store.Attempt {
	t.Helper()
	ctx := context.Background()
	db := storetest.Backends(t)[0].Open(t)
	s, _ := newSigner(t)
	appID, evID := polypay.NewAppID(), polypay.NewID("evt_")
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertApp(ctx, &polypay.App{ID: appID, Name: "t", Created: tx.Now()}); err != nil {
			return err
		}
		if err := tx.InsertWebhookEndpoint(ctx, &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: appID, Livemode: live, URL: url, Created: tx.Now()}); err != nil {
			return err
		}
		_, err := tx.InsertEvent(ctx, &polypay.Event{ID: evID, AppID: appID, Livemode: live, Type: "charge.succeeded", Created: tx.Now(),
			Object: []byte(`{"id":"ch_1","object":"charge"}`)}, time.Now().UnixMilli()-1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &webhook.Dispatcher{DB: db, Keys: oneKey{s}, Policy: p, Log: log, AttemptTimeout: 300 * time.Millisecond}
	if n, err := d.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 1 delivery", n, err)
	}
	var logs []*store.DeliveryLog
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		logs, err = tx.DeliveriesForEvent(ctx, evID)
		return
	}); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || len(logs[0].Attempts) != 1 {
		t.Fatalf("delivery log %+v, want one delivery with one attempt", logs)
	}
	return logs[0].Attempts[0]
}

// TestDeliveryPolicy: deliveries connect only where the endpoint's mode
// allows, and the attempt recorded for the merchant says "refused by
// policy" or "failed" and nothing more: a closed port, a port that never
// answers and a refused address cannot be told apart by how they failed.
func TestDeliveryPolicy(t *testing.T) {
	var hits atomic.Int32
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/500" {
			w.WriteHeader(500)
		}
	}))
	defer ok.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ok.URL+"/moved", http.StatusFound)
	}))
	defer redirect.Close()
	// A closed port: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	// A port that accepts and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	allowLoopback := &outbound.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	tests := []struct {
		name   string
		p      *outbound.Policy
		live   bool
		url    string
		status int
		err    string
		hits   int32
	}{
		{"OKTestModeLoopback", nil, false, ok.URL + "/hook", 200, "", 1},
		{"OKLiveAllowed", allowLoopback, true, ok.URL + "/hook", 200, "", 1},
		{"ErrLiveLoopback", nil, true, ok.URL + "/hook", 0, "refused by policy", 0},
		{"ErrLiveLocalhost", nil, true, strings.Replace(ok.URL, "127.0.0.1", "localhost", 1) + "/hook", 0, "refused by policy", 0},
		{"ErrMetadata", allowLoopback, false, "http://169.254.169.254/latest/meta-data/", 0, "refused by policy", 0},
		{"ErrClosedPort", nil, false, closed, 0, "failed", 0},
		{"ErrTimeout", nil, false, "http://" + hang.Addr().String() + "/hook", 0, "failed", 0},
		{"Err500", nil, false, ok.URL + "/500", 500, "", 1},
		{"ErrRedirectNotFollowed", nil, false, redirect.URL + "/hook", 302, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			a := deliverOnce(t, tc.p, tc.live, tc.url, nil)
			if a.StatusCode != tc.status || a.Error != tc.err {
				t.Fatalf("attempt: status %d, error %q; want %d, %q", a.StatusCode, a.Error, tc.status, tc.err)
			}
			if tc.status == 0 && a.LatencyMS != 0 {
				t.Fatalf("latency %d ms recorded for an attempt without answer, want 0 (it tells closed from filtered)", a.LatencyMS)
			}
			if got := hits.Load() - before; got != tc.hits {
				t.Fatalf("endpoint got %d requests, want %d", got, tc.hits)
			}
		})
	}
}

// TestDeliveryErrorLogged: the cause of a failure goes to the server log
// at debug level only, without the URL's query.
func TestDeliveryErrorLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/hook?token=s3cret"
	ln.Close()
	tests := []struct {
		name  string
		level slog.Level
		want  bool
	}{
		{"Debug", slog.LevelDebug, true},
		{"Info", slog.LevelInfo, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			deliverOnce(t, nil, false, u, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})))
			out := buf.String()
			if got := strings.Contains(out, "webhook delivery error") && strings.Contains(out, "refused"); got != tc.want {
				t.Fatalf("cause logged = %v, want %v; log:\n%s", got, tc.want, out)
			}
			if strings.Contains(out, "s3cret") {
				t.Fatalf("log has the URL's query:\n%s", out)
			}
		})
	}
}
