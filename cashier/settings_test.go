package cashier_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"

func (nd *node) page(u string) (*http.Response, string) {
	nd.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", desktopUA)
	req.Header.Set("Accept-Language", "en")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// payForm posts the cashier's channel choice and returns the redirect.
func (nd *node) payForm(id, tok, ch, extra string) string {
	nd.t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", nd.n.URL+"/cashier/"+id+"/pay", strings.NewReader("t="+url.QueryEscape(tok)+"&channel="+ch+extra))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", desktopUA)
	res, err := cl.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Location")
}

func (nd *node) newOrder(b map[string]any) (id, tok, cu string) {
	nd.t.Helper()
	s, o, raw := nd.do("POST", "/v1/orders", b)
	if s != 200 {
		nd.t.Fatalf("order: %d %s", s, raw)
	}
	cu = o["cashier_url"].(string)
	return o["id"].(string), cu[strings.Index(cu, "?t=")+3:], cu
}

// buttons lists the channel buttons of a choose page, in order.
func buttons(page string) []string {
	var out []string
	for _, part := range strings.Split(page, `name="channel" value="`)[1:] {
		out = append(out, part[:strings.Index(part, `"`)])
	}
	return out
}

func TestCashierSettingsAPI(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/cashier_settings"
	for _, tc := range []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"unknown order channel", map[string]any{"channel_order": []string{"alipay_scan"}}, "channel_order"},
		{"duplicate order channel", map[string]any{"channel_order": []string{"alipay_qr", "alipay_qr"}}, "channel_order"},
		{"order not a list", map[string]any{"channel_order": "alipay_qr"}, "channel_order"},
		{"unknown disabled channel", map[string]any{"disabled_channels": []string{"bitcoin"}}, "disabled_channels"},
		{"label channel", map[string]any{"labels": map[string]any{"bitcoin": map[string]string{"zh": "x"}}}, "labels[bitcoin]"},
		{"label language", map[string]any{"labels": map[string]any{"alipay_qr": map[string]string{"de": "x"}}}, "labels[alipay_qr][de]"},
		{"label too long", map[string]any{"labels": map[string]any{"alipay_qr": map[string]string{"zh": strings.Repeat("字", 33)}}}, "labels[alipay_qr][zh]"},
		{"label empty", map[string]any{"labels": map[string]any{"alipay_qr": map[string]string{"en": ""}}}, "labels[alipay_qr][en]"},
		{"labels not an object", map[string]any{"labels": []string{"x"}}, "labels"},
		{"origin with path", map[string]any{"allowed_origins": []string{"https://shop.example/pay"}}, "allowed_origins"},
		{"origin plain http", map[string]any{"allowed_origins": []string{"http://shop.example"}}, "allowed_origins"},
		{"origin wildcard", map[string]any{"allowed_origins": []string{"https://*.shop.example"}}, "allowed_origins"},
		{"origin javascript", map[string]any{"allowed_origins": []string{"javascript:alert(1)"}}, "allowed_origins"},
		{"origin user", map[string]any{"allowed_origins": []string{"https://a@shop.example"}}, "allowed_origins"},
		{"origin bad port", map[string]any{"allowed_origins": []string{"https://shop.example:99999"}}, "allowed_origins"},
		{"origin trailing slash", map[string]any{"allowed_origins": []string{"https://shop.example/"}}, "allowed_origins"},
		{"unknown parameter", map[string]any{"theme": "dark"}, "theme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m, raw := nd.do("POST", path, tc.body)
			e, _ := m["error"].(map[string]any)
			if status != 400 || e["type"] != "invalid_request_error" || e["param"] != tc.param || e["message"] == "" {
				t.Fatalf("got %d %s, want 400 invalid_request_error param %s", status, raw, tc.param)
			}
		})
	}
	if s, m, raw := nd.do("GET", path, nil); s != 200 || m["object"] != "cashier_settings" || len(m["channel_order"].([]any)) != 0 ||
		len(m["allowed_origins"].([]any)) != 0 {
		t.Fatalf("empty settings: %d %s", s, raw)
	}
	s, m, raw := nd.do("POST", path, map[string]any{"channel_order": []string{"wx_pub_qr"},
		"allowed_origins": []string{"https://Shop.Example:443", "http://127.0.0.1:8080", "http://localhost"}})
	if s != 200 || m["livemode"] != false || m["app"] != nd.app.AppID {
		t.Fatalf("set: %d %s", s, raw)
	}
	// A second POST changes only what it names.
	nd.do("POST", path, map[string]any{"disabled_channels": []string{"alipay_pc_direct"}})
	_, m, raw = nd.do("GET", path, nil)
	got := func(k string) string {
		var out []string
		for _, v := range m[k].([]any) {
			out = append(out, v.(string))
		}
		return strings.Join(out, " ")
	}
	if got("channel_order") != "wx_pub_qr" || got("disabled_channels") != "alipay_pc_direct" ||
		got("allowed_origins") != "https://shop.example http://127.0.0.1:8080 http://localhost" {
		t.Fatalf("get: %s", raw)
	}
	// Settings are per mode: the live key sees none.
	req, _ := http.NewRequest("GET", nd.n.URL+path, nil)
	req.SetBasicAuth(nd.app.SecretKeyLive, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(b), "wx_pub_qr") {
		t.Fatalf("live settings: %d %s", res.StatusCode, b)
	}
	if s, _, _ := nd.do("GET", "/v1/apps/app_0000000000000000/cashier_settings", nil); s != 404 {
		t.Fatalf("foreign app: %d", s)
	}
}

// TestCashierSettingsApplied: order, labels and disabled channels shape the
// choose page; a disabled channel cannot be paid; allowed_origins may
// frame the page and receive its messages.
func TestCashierSettingsApplied(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/cashier_settings"
	id, tok, cu := nd.newOrder(nd.orderBody("set-1"))
	if _, p := nd.page(cu); strings.Join(buttons(p), " ") != "alipay_qr wx_pub_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("default channels %v", buttons(p))
	}
	if s, _, raw := nd.do("POST", path, map[string]any{"channel_order": []string{"wx_pub_qr", "alipay_pc_direct"},
		"labels":            map[string]any{"alipay_qr": map[string]string{"zh": "支付宝", "en": "Pay with Alipay"}},
		"disabled_channels": []string{"alipay_pc_direct"}, "allowed_origins": []string{"https://widgets.example"}}); s != 200 {
		t.Fatalf("set: %s", raw)
	}
	_, p := nd.page(cu)
	if strings.Join(buttons(p), " ") != "wx_pub_qr alipay_qr upacp_pc card paypal" || !strings.Contains(p, "Pay with Alipay") {
		t.Fatalf("configured channels %v", buttons(p))
	}
	if loc := nd.payForm(id, tok, "alipay_pc_direct", ""); !strings.Contains(loc, "err=channel") {
		t.Fatalf("disabled channel paid: %q", loc)
	}
	if loc := nd.payForm(id, tok, "alipay_qr", ""); !strings.Contains(loc, "ch=alipay_qr") {
		t.Fatalf("pay: %q", loc)
	}
	if _, qr := nd.page(cu + "&ch=alipay_qr"); !strings.Contains(qr, "Pay with Alipay") {
		t.Fatalf("QR page lacks the app's label")
	}
	// Embedding: both origins may frame; messages go to return_url's origin
	// unless the page asks for another allowed one.
	res, p := nd.page(cu + "&embed=1")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors https://shop.example https://widgets.example") ||
		!strings.Contains(p, `data-parent-origin="https://shop.example"`) {
		t.Fatalf("embed: CSP %q", csp)
	}
	if _, p := nd.page(cu + "&embed=1&parent=" + url.QueryEscape("https://widgets.example")); !strings.Contains(p, `data-parent-origin="https://widgets.example"`) ||
		!strings.Contains(p, `name="parent" value="https://widgets.example"`) {
		t.Fatalf("embed with an allowed parent does not post there")
	}
	if _, p := nd.page(cu + "&embed=1&parent=" + url.QueryEscape("https://evil.example")); !strings.Contains(p, `data-parent-origin="https://shop.example"`) ||
		strings.Contains(p, "evil.example") {
		t.Fatalf("embed with a foreign parent")
	}
	if loc := nd.payForm(id, tok, "wx_pub_qr", "&embed=1&parent="+url.QueryEscape("https://widgets.example")); !strings.Contains(loc, "embed=1&parent=https%3A%2F%2Fwidgets.example&ch=wx_pub_qr") {
		t.Fatalf("embed pay keeps parent: %q", loc)
	}
	// An order without return_url is embeddable by allowed_origins alone.
	b := nd.orderBody("set-2")
	delete(b, "return_url")
	_, _, cu2 := nd.newOrder(b)
	if res, _ := nd.page(cu2 + "&embed=1"); !strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "frame-ancestors https://widgets.example") {
		t.Fatalf("no return_url: CSP %q", res.Header.Get("Content-Security-Policy"))
	}
}

func TestChannelHealthTracker(t *testing.T) {
	h := core.NewChannelHealth()
	t0 := time.Unix(1_700_000_000, 0)
	fail := &polypay.Error{Code: polypay.EChannel, Message: "down"}
	h.Record("app_1", false, "alipay_qr", fail, t0)
	h.Record("app_1", false, "alipay_qr", fail, t0.Add(time.Minute))
	if !h.Healthy("app_1", false, "alipay_qr", t0.Add(time.Minute)) {
		t.Fatal("unhealthy after two failures")
	}
	h.Record("app_1", false, "alipay_qr", polypay.ParamError("x", "not the channel's fault"), t0.Add(time.Minute))
	h.Record("app_1", false, "alipay_qr", fail, t0.Add(2*time.Minute))
	if h.Healthy("app_1", false, "alipay_qr", t0.Add(2*time.Minute)) {
		t.Fatal("healthy after three channel failures")
	}
	if !h.Healthy("app_1", true, "alipay_qr", t0.Add(2*time.Minute)) || !h.Healthy("app_2", false, "alipay_qr", t0.Add(2*time.Minute)) ||
		!h.Healthy("app_1", false, "wx_pub_qr", t0.Add(2*time.Minute)) {
		t.Fatal("health leaks across mode, app or channel")
	}
	if h.Healthy("app_1", false, "alipay_qr", t0.Add(7*time.Minute-time.Second)) || !h.Healthy("app_1", false, "alipay_qr", t0.Add(7*time.Minute)) {
		t.Fatal("not healthy again 5 minutes after the last failure")
	}
	// Failures spread over more than 5 minutes do not count together.
	h.Record("app_1", false, "wx_pub_qr", fail, t0)
	h.Record("app_1", false, "wx_pub_qr", fail, t0.Add(4*time.Minute))
	h.Record("app_1", false, "wx_pub_qr", fail, t0.Add(6*time.Minute))
	if !h.Healthy("app_1", false, "wx_pub_qr", t0.Add(6*time.Minute)) {
		t.Fatal("spread failures made it unhealthy")
	}
	h.Record("app_1", false, "wx_pub_qr", fail, t0.Add(7*time.Minute)) // last three: 4, 6, 7 minutes
	if h.Healthy("app_1", false, "wx_pub_qr", t0.Add(7*time.Minute)) {
		t.Fatal("three failures within 5 minutes")
	}
	h.Record("app_1", false, "wx_pub_qr", nil, t0.Add(8*time.Minute))
	if !h.Healthy("app_1", false, "wx_pub_qr", t0.Add(8*time.Minute)) {
		t.Fatal("a success does not restore health")
	}
}

// TestUnhealthyChannelHidden: outcomes injected through the service's
// ChannelHealth hide a channel from the cashier and refuse it.
func TestUnhealthyChannelHidden(t *testing.T) {
	nd := start(t)
	id, tok, cu := nd.newOrder(nd.orderBody("health-1"))
	h := nd.n.Svc.ChannelHealth()
	now := time.Now()
	for i := 0; i < 3; i++ {
		h.Record(nd.app.AppID, false, "wx_pub_qr", &polypay.Error{Code: polypay.EChannel, Message: "SYSTEMERROR"}, now)
	}
	if _, p := nd.page(cu); strings.Join(buttons(p), " ") != "alipay_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("unhealthy channel shown: %v", buttons(p))
	}
	if loc := nd.payForm(id, tok, "wx_pub_qr", ""); !strings.Contains(loc, "err=channel") {
		t.Fatalf("unhealthy channel paid: %q", loc)
	}
	// Time passing brings it back.
	nd.n.Svc.Now = func() time.Time { return now.Add(core.UnhealthyWindow) }
	defer func() { nd.n.Svc.Now = nil }()
	if _, p := nd.page(cu); strings.Join(buttons(p), " ") != "alipay_qr wx_pub_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("channel still hidden after the window: %v", buttons(p))
	}
	nd.n.Svc.Now = nil
	// A successful creation through the cashier brings it back at once.
	for i := 0; i < 3; i++ {
		h.Record(nd.app.AppID, false, "alipay_qr", &polypay.Error{Code: polypay.EChannel, Message: "down"}, time.Now())
	}
	if _, p := nd.page(cu); strings.Contains(strings.Join(buttons(p), " "), "alipay_qr") {
		t.Fatalf("alipay_qr shown while unhealthy")
	}
	if _, err := nd.n.Svc.PayOrder(t.Context(), mustOrder(t, nd, id, tok), "alipay_qr", "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	if _, p := nd.page(cu); !strings.Contains(strings.Join(buttons(p), " "), "alipay_qr") {
		t.Fatalf("alipay_qr hidden after a success: %v", buttons(p))
	}
}

func mustOrder(t *testing.T, nd *node, id, tok string) *polypay.Order {
	t.Helper()
	o, err := nd.n.Svc.OrderForCashier(t.Context(), id, tok)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
