package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/metrics"
)

// knownFamilies are the only family label values /notify may create.
var knownFamilies = map[string]bool{"alipay": true, "wx": true, "upacp": true, "stripe": true, "paypal": true}

// FuzzNotifyRoute sends anything to /notify/{family}/{app}/{mode}: the
// route never panics, an unknown target is never acknowledged, recorded
// or counted, and no metric label ever holds request text.
func FuzzNotifyRoute(f *testing.F) {
	dir := f.TempDir()
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, PollInterval: time.Hour,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), NotifyRateLimit: -1})
	if err != nil {
		f.Fatal(err)
	}
	defer n.Close(ctx)
	a, err := n.CreateApp(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	h := n.API.Handler()
	for _, fam := range []string{"alipay", "wx", "upacp", "stripe", "paypal", "alipay@second", "bitcoin", strings.Repeat("y", 5000)} {
		f.Add(fam, a.AppID, "test", "application/x-www-form-urlencoded", []byte("notify_id=1&sign=abc&out_trade_no=x"))
	}
	f.Add("wx", a.AppID, "live", "application/json", []byte(`{"id":"x","resource":{"ciphertext":"AAAA"}}`))
	f.Add("alipay", "app_x", "test", "", []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, family, app, mode, ctype string, body []byte) {
		target := "/notify/" + url.PathEscape(family) + "/" + url.PathEscape(app) + "/" + url.PathEscape(mode)
		req := httptest.NewRequest("POST", target, bytes.NewReader(body))
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Content-Type", ctype)
		before := len(notifyOutcomes(t, n, app))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		base, _, _ := strings.Cut(family, "@")
		if knownFamilies[base] && app == a.AppID && mode == "test" {
			// A real target answers in its channel's own terms (WeChat Pay,
			// UnionPay and PayPal refuse a notification with a 5xx).
			return
		}
		// An unknown target (or a path the router cleans and redirects) is
		// never acknowledged, recorded or counted.
		if rec.Code < 300 {
			t.Fatalf("%s: %d, want 404 for an unknown target", target, rec.Code)
		}
		if len(notifyOutcomes(t, n, app)) != before {
			t.Fatalf("%s: an unknown target was recorded", target)
		}
		checkLabels(t)
	})
}

// notifyOutcomes reads the notification outcomes recorded for app.
func notifyOutcomes(t *testing.T, n *gateway.Node, app string) []string {
	env := &env{t: t, node: n}
	return env.outcomes(app)
}

func checkLabels(t *testing.T) {
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "polypay_notifications_total" && mf.GetName() != "polypay_notification_lag_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if fam := label(m, "family"); !knownFamilies[fam] {
				t.Fatalf("%s has family label %q", mf.GetName(), fam)
			}
		}
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
