package cashier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/cashier"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/store"
)

type node struct {
	t   *testing.T
	n   *gateway.Node
	app *core.NewApp
}

func start(t *testing.T) *node {
	t.Helper()
	n, a := gatewaytest.Start(t, "cashier test", func(c *gateway.Config) { c.PollInterval = time.Hour })
	return &node{t: t, n: n, app: a}
}

func (nd *node) do(method, path string, body any, hdr ...string) (int, map[string]any, []byte) {
	nd.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, nd.n.URL+path, rd)
	req.SetBasicAuth(nd.app.SecretKeyTest, "")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return res.StatusCode, m, raw
}

func (nd *node) orderBody(no string) map[string]any {
	return map[string]any{"app": nd.app.AppID, "merchant_order_no": no, "amount": 1999, "currency": "cny",
		"subject": "T 恤", "body": "one T-shirt", "return_url": "https://shop.example/done"}
}

func TestCreateOrderValidation(t *testing.T) {
	nd := start(t)
	for _, tc := range []struct {
		name  string
		mod   func(m map[string]any)
		param string
	}{
		{"missing app", func(m map[string]any) { delete(m, "app") }, "app"},
		{"foreign app", func(m map[string]any) { m["app"] = "app_0000000000000000" }, "app"},
		{"missing merchant_order_no", func(m map[string]any) { delete(m, "merchant_order_no") }, "merchant_order_no"},
		{"bad merchant_order_no", func(m map[string]any) { m["merchant_order_no"] = "a b" }, "merchant_order_no"},
		{"zero amount", func(m map[string]any) { m["amount"] = 0 }, "amount"},
		{"float amount", func(m map[string]any) { m["amount"] = 1.5 }, "amount"},
		{"currency", func(m map[string]any) { m["currency"] = "usd" }, "currency"},
		{"missing subject", func(m map[string]any) { delete(m, "subject") }, "subject"},
		{"long subject", func(m map[string]any) { m["subject"] = strings.Repeat("字", 33) }, "subject"},
		{"missing body", func(m map[string]any) { delete(m, "body") }, "body"},
		{"unknown channel", func(m map[string]any) { m["allowed_channels"] = []string{"alipay_scan"} }, "allowed_channels"},
		{"channels not a list", func(m map[string]any) { m["allowed_channels"] = "alipay_qr" }, "allowed_channels"},
		{"return_url scheme", func(m map[string]any) { m["return_url"] = "javascript:alert(1)" }, "return_url"},
		{"time_expire past", func(m map[string]any) { m["time_expire"] = time.Now().Unix() - 10 }, "time_expire"},
		{"time_expire far", func(m map[string]any) { m["time_expire"] = time.Now().Add(16 * 24 * time.Hour).Unix() }, "time_expire"},
		{"nested metadata", func(m map[string]any) { m["metadata"] = map[string]any{"a": map[string]any{}} }, "metadata[a]"},
		{"unknown parameter", func(m map[string]any) { m["colour"] = "red" }, "colour"},
		{"coupon without uid", func(m map[string]any) { m["coupon"] = "x" }, "uid"},
		{"coupon of nobody", func(m map[string]any) { m["coupon"], m["uid"] = "x", "nobody" }, "coupon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := nd.orderBody("V" + strings.ReplaceAll(tc.name, " ", ""))
			tc.mod(b)
			status, m, raw := nd.do("POST", "/v1/orders", b)
			e, _ := m["error"].(map[string]any)
			if status != 400 || e["type"] != "invalid_request_error" || e["param"] != tc.param || e["message"] == "" {
				t.Fatalf("got %d %s, want 400 invalid_request_error param %s", status, raw, tc.param)
			}
		})
	}
}

func TestCreateAndGetOrder(t *testing.T) {
	nd := start(t)
	status, o, raw := nd.do("POST", "/v1/orders", nd.orderBody("shop-001"))
	if status != 200 {
		t.Fatalf("create: %d %s", status, raw)
	}
	id, _ := o["id"].(string)
	if len(id) != 19 || strings.Trim(id, "0123456789") != "" || o["object"] != "order" || o["status"] != "created" ||
		o["paid"] != false || o["amount"] != 1999.0 || o["actual_amount"] != 1999.0 || o["charge"] != nil {
		t.Fatalf("order %s", raw)
	}
	cu, _ := o["cashier_url"].(string)
	if !strings.HasPrefix(cu, nd.n.URL+"/cashier/"+id+"?t=") || len(cu) < len(nd.n.URL)+40 {
		t.Fatalf("cashier_url %q", cu)
	}
	// The same merchant_order_no and parameters: the same order.
	if _, again, _ := nd.do("POST", "/v1/orders", nd.orderBody("shop-001")); again["id"] != id {
		t.Fatalf("repeat gave %v", again["id"])
	}
	// Other parameters: an error naming merchant_order_no.
	b := nd.orderBody("shop-001")
	b["amount"] = 1
	if status, m, _ := nd.do("POST", "/v1/orders", b); status != 400 || m["error"].(map[string]any)["param"] != "merchant_order_no" {
		t.Fatalf("conflicting repeat: %d %v", status, m)
	}
	status, got, raw := nd.do("GET", "/v1/orders/"+id, nil)
	if status != 200 || got["id"] != id || got["cashier_url"] != cu {
		t.Fatalf("get: %d %s", status, raw)
	}
	if status, m, _ := nd.do("GET", "/v1/orders/2601010000000000000", nil); status != 404 || m["error"].(map[string]any)["param"] != "id" {
		t.Fatalf("unknown order: %d %v", status, m)
	}
}

func TestCashierToken(t *testing.T) {
	nd := start(t)
	_, o, _ := nd.do("POST", "/v1/orders", nd.orderBody("tok-1"))
	id := o["id"].(string)
	good := o["cashier_url"].(string)
	tok := good[strings.Index(good, "?t=")+3:]
	get := func(path string) int {
		res, err := http.Get(nd.n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := get("/cashier/" + id + "?t=" + tok); s != 200 {
		t.Fatalf("right token: %d", s)
	}
	for _, tc := range []struct{ name, path string }{
		{"no token", "/cashier/" + id},
		{"wrong token", "/cashier/" + id + "?t=" + strings.Repeat("A", len(tok))},
		{"short token", "/cashier/" + id + "?t=" + tok[:10]},
		{"other order", "/cashier/2601010000000000000?t=" + tok},
		{"events wrong token", "/cashier/" + id + "/events?t=x"},
		{"status wrong token", "/cashier/" + id + "/status?t=x"},
		{"qr wrong token", "/cashier/" + id + "/qr.png?t=x&ch=alipay_qr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s := get(tc.path); s != 404 {
				t.Fatalf("%s: %d, want 404", tc.path, s)
			}
		})
	}
	res, err := http.PostForm(nd.n.URL+"/cashier/"+id+"/pay", map[string][]string{"t": {"wrong"}, "channel": {"alipay_qr"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("pay with a wrong token: %d", res.StatusCode)
	}
}

func TestChannelsFor(t *testing.T) {
	all := core.CashierChannels()
	for _, tc := range []struct {
		ua   string
		want string
	}{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36", "alipay_qr,wx_pub_qr,alipay_pc_direct,upacp_pc,card,paypal"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1", "alipay_wap,wx_wap,upacp_wap,card,paypal"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 MicroMessenger/8.0.40", "wx_pub"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 AlipayClient/10.5", "alipay_wap"},
	} {
		if got := strings.Join(cashier.ChannelsFor(all, tc.ua), ","); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.ua, got, tc.want)
		}
	}
	if got := cashier.ChannelsFor([]string{"wx_pub_qr"}, "Mozilla/5.0 (X11; Linux x86_64)"); strings.Join(got, ",") != "wx_pub_qr" {
		t.Errorf("allowed channels not applied: %v", got)
	}
}

func TestMerchantOrigin(t *testing.T) {
	for _, tc := range []struct{ ret, want string }{
		{"https://shop.example/done?x=1", "https://shop.example"},
		{"https://Shop.Example:443/done", "https://shop.example"},
		{"http://127.0.0.1:8081/done", "http://127.0.0.1:8081"},
		{"http://shop.example:80/", "http://shop.example"},
		{"https://shop.example:8443/a", "https://shop.example:8443"},
		{"", ""},
		{"ftp://shop.example/", ""},
		{"https://user@shop.example/", ""},
		{"http://[::1]:8080/", ""},
		{"https://shop.example;script-src/", ""},
	} {
		if got := cashier.MerchantOrigin(&polypay.Order{ReturnURL: tc.ret}); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.ret, got, tc.want)
		}
	}
}

// TestEmbedHeaders: only the embed page lets the merchant origin frame it;
// the hosted page and an order without return_url stay unframeable; the
// popup script is served at /cashier.js (for when the API routes it) and
// /cashier/cashier.js.
func TestEmbedHeaders(t *testing.T) {
	nd := start(t)
	get := func(u string) *http.Response {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	_, o, _ := nd.do("POST", "/v1/orders", nd.orderBody("embed-1"))
	u := o["cashier_url"].(string)
	if csp := get(u).Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
		t.Fatalf("hosted page CSP %q", csp)
	}
	res := get(u + "&embed=1")
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.HasSuffix(csp, "; frame-ancestors https://shop.example") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("embed page: %d CSP %q", res.StatusCode, csp)
	}
	b := nd.orderBody("embed-2")
	delete(b, "return_url")
	_, o2, _ := nd.do("POST", "/v1/orders", b)
	if csp := get(o2["cashier_url"].(string) + "&embed=1").Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
		t.Fatalf("embed page without return_url: CSP %q", csp)
	}
	// The embed page keeps embed mode through the channel choice.
	id := o["id"].(string)
	tok := u[strings.Index(u, "?t=")+3:]
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", nd.n.URL+"/cashier/"+id+"/pay", strings.NewReader("t="+tok+"&channel=alipay_qr&embed=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
	pr, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if loc := pr.Header.Get("Location"); pr.StatusCode != 303 || !strings.Contains(loc, "&embed=1&ch=alipay_qr") {
		t.Fatalf("pay in embed mode: %d %q", pr.StatusCode, loc)
	}
	// cashier.js through the handler (both paths) and through the API server.
	c := cashier.New(cashier.Config{})
	for _, p := range []string{"/cashier.js", "/cashier/cashier.js"} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(rec.Body.String(), "PolypayCashier") {
			t.Fatalf("%s: %d %s", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if res := get(nd.n.URL + "/cashier/cashier.js"); res.StatusCode != 200 {
		t.Fatalf("API server /cashier/cashier.js: %d", res.StatusCode)
	}
	if res := get(nd.n.URL + "/cashier/page.js"); res.StatusCode != 200 {
		t.Fatalf("page.js: %d", res.StatusCode)
	}
}

// TestOrderPaidWithItsCharge: the order is paid in the transaction that
// applies its charge's payment (nobody needs to read it first), and a
// charge that merely names the order in its metadata cannot pay it.
func TestOrderPaidWithItsCharge(t *testing.T) {
	nd := start(t)
	ctx := context.Background()
	_, o, _ := nd.do("POST", "/v1/orders", nd.orderBody("paid-1"))
	id := o["id"].(string)
	// A plain charge whose metadata claims the order.
	_, ch, raw := nd.do("POST", "/v1/charges", map[string]any{"order_no": "FAKE0001", "app": map[string]any{"id": nd.app.AppID},
		"channel": "alipay_qr", "amount": 1, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b",
		"metadata": map[string]any{"order_id": id}})
	if ch["id"] == nil {
		t.Fatalf("create: %s", raw)
	}
	nd.do("POST", "/v1/test/charges/"+ch["id"].(string)+"/pay", map[string]any{"result": "success"})
	status := func() string {
		var s string
		nd.n.DB.Read(ctx, func(tx *store.Tx) error {
			o, err := tx.OrderByID(ctx, id)
			if err == nil {
				s = string(o.Status)
			}
			return err
		})
		return s
	}
	if got := status(); got != string(polypay.OrderCreated) {
		t.Fatalf("order is %q after a foreign charge naming it was paid", got)
	}
	// The order's own charge, chosen in the cashier, paid in the simulator.
	tok := strings.SplitN(o["cashier_url"].(string), "?t=", 2)[1]
	req, _ := http.NewRequest("POST", nd.n.URL+"/cashier/"+id+"/pay", strings.NewReader("t="+tok+"&channel=alipay_qr"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var chargeID string
	nd.n.DB.Read(ctx, func(tx *store.Tx) error {
		links, err := tx.OrderCharges(ctx, id)
		if len(links) > 0 {
			chargeID = links[0].ChargeID
		}
		return err
	})
	if chargeID == "" {
		t.Fatalf("choosing a channel made no charge (status %d)", res.StatusCode)
	}
	nd.do("POST", "/v1/test/charges/"+chargeID+"/pay", map[string]any{"result": "success"})
	if got := status(); got != string(polypay.OrderPaid) {
		t.Fatalf("order is %q right after its charge was paid, before anyone read it", got)
	}
}
