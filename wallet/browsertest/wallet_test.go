package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boombuler/barcode/code128"
	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/paycode"
)

const step = 20 * time.Second

type env struct {
	t        *testing.T
	api, sk  string
	app      string
	ctx      context.Context
	down     *atomic.Bool
	walletAt string // the proxy's origin the browser uses
}

// start runs a node behind a proxy the test can cut (every connection
// closed at once, as with no network) and a browser.
func start(t *testing.T) *env {
	ctx := chromium.Start(t)
	n, app := gatewaytest.Start(t, "wallet browser test", nil)
	target, _ := url.Parse(n.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	down := &atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, api: n.URL, sk: app.SecretKeyTest, app: app.AppID, ctx: ctx, down: down, walletAt: srv.URL}
}

func (e *env) call(method, path string, body any) map[string]any {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.api+path, bytes.NewReader(b))
	req.SetBasicAuth(e.sk, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if res.StatusCode != 200 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return out
}

func (e *env) run(actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		e.t.Fatal(err)
	}
}

func eval[T any](e *env, js string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		e.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitState waits for the wallet page to settle in a state.
func (e *env) waitState(want string) {
	e.t.Helper()
	deadline := time.Now().Add(step)
	for {
		got := eval[string](e, `(document.getElementById("wallet")||{dataset:{}}).dataset.state||""`)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("wallet state %q, want %q: %s", got, want, eval[string](e, "document.body.innerText"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWallet: the device registered through the API is enrolled by its
// wallet_url; the code the page shows pays at the counter (the gateway's
// Go verifier agrees with the page's JavaScript); the page agrees with
// the published vectors; its barcode is the one an independent Code 128
// encoder draws; with the network gone it still opens and makes codes;
// the key cannot be read back; forgetting the device removes it.
func TestWallet(t *testing.T) {
	e := start(t)
	e.call("POST", "/v1/apps/"+e.app+"/users", map[string]any{"id": "wl1"})
	e.call("POST", "/v1/apps/"+e.app+"/balance_bonuses", map[string]any{"user": "wl1", "amount": 10000, "order_no": "WLBONUS1"})
	dev := e.call("POST", "/v1/apps/"+e.app+"/users/wl1/payment_code_devices", map[string]any{"max_amount": 5000})
	link := dev["wallet_url"].(string)
	frag := link[strings.Index(link, "#"):]
	if !strings.HasPrefix(link, e.api+"/wallet/#enroll=") {
		t.Fatalf("wallet_url %s", link)
	}
	// Listing the device later shows neither secret nor link.
	again := e.call("GET", "/v1/apps/"+e.app+"/users/wl1/payment_code_devices/"+dev["id"].(string), nil)
	if _, has := again["wallet_url"]; has || again["secret"] != nil {
		t.Fatalf("device later: %v", again)
	}

	e.run(chromedp.Navigate(e.walletAt + "/wallet/" + frag))
	e.waitState("code")
	if h := eval[string](e, "location.hash"); h != "" {
		t.Fatalf("the secret stayed in the address: %q", h)
	}
	code := eval[string](e, "polypayWallet.current()")
	if !paycode.Is(code) {
		t.Fatalf("page shows %q", code)
	}
	if shown := eval[string](e, `document.getElementById("digits").textContent`); strings.Contains(shown, code[4:]) {
		t.Fatalf("digits shown before the customer asks: %q", shown)
	}
	ch := e.call("POST", "/v1/charges", map[string]any{"app": map[string]any{"id": e.app}, "order_no": "WLPAY0001", "channel": "isv_scan",
		"amount": 1200, "currency": "cny", "client_ip": "127.0.0.1", "subject": "咖啡", "body": "门店",
		"extra": map[string]any{"scan_code": code, "terminal_id": "POS-W"}})
	if ch["paid"] != true || ch["channel"] != "balance" {
		t.Fatalf("the wallet's code did not pay: %v", ch)
	}

	t.Run("vectors", func(t *testing.T) {
		raw, err := os.ReadFile("../../paycode/testdata/vectors.json")
		if err != nil {
			t.Fatal(err)
		}
		var vs []struct {
			Secret  string `json:"secret"`
			Index   uint32 `json:"index"`
			Version int    `json:"version"`
			Unix    int64  `json:"unix"`
			Code    string `json:"code"`
		}
		if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 {
			t.Fatalf("vectors: %v", err)
		}
		for _, v := range vs {
			got := eval[string](e, fmt.Sprintf("polypayWallet.generate(%q, %d, %d, %d)", v.Secret, v.Index, v.Version, v.Unix))
			if got != v.Code {
				t.Errorf("vector %+v: page made %s", v, got)
			}
		}
	})

	t.Run("code128", func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 19))
		for i := 0; i < 200; i++ {
			s := fmt.Sprintf("9%d%017d", r.IntN(10), r.Int64N(1e17))
			bc, err := code128.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for x := 0; x < bc.Bounds().Dx(); x++ {
				if r, _, _, _ := bc.At(x, 0).RGBA(); r == 0 {
					want.WriteByte('1')
				} else {
					want.WriteByte('0')
				}
			}
			if got := eval[string](e, fmt.Sprintf("polypayWallet.code128(%q)", s)); got != want.String() {
				t.Fatalf("Code 128 of %s:\npage     %s\nboombuler %s", s, got, want.String())
			}
		}
		drawn := eval[string](e, `document.getElementById("barcode").dataset.modules`)
		if drawn != eval[string](e, "polypayWallet.code128(polypayWallet.current())") {
			t.Fatal("the barcode drawn is not the current code's")
		}
	})

	t.Run("offline", func(t *testing.T) {
		if !eval[bool](e, `navigator.serviceWorker.ready.then(function(){return true})`) {
			t.Fatal("no service worker")
		}
		// The worker caches the wallet's files when it installs; reload
		// once so it controls the page, then cut the network.
		e.run(chromedp.Reload())
		e.waitState("code")
		if !eval[bool](e, `!!navigator.serviceWorker.controller`) {
			t.Fatal("the service worker does not control the page")
		}
		e.down.Store(true)
		defer e.down.Store(false)
		if _, err := http.Get(e.walletAt + "/wallet/"); err == nil {
			t.Fatal("the network is still up")
		}
		e.run(chromedp.Reload())
		e.waitState("code")
		if c := eval[string](e, "polypayWallet.current()"); !paycode.Is(c) {
			t.Fatalf("offline code %q", c)
		}
		extractable := eval[string](e, `new Promise(function(ok){var rq=indexedDB.open("polypay-wallet");rq.onsuccess=function(){
			var g=rq.result.transaction("device").objectStore("device").get("current");g.onsuccess=function(){ok(String(g.result.key.extractable))}}})`)
		if extractable != "false" {
			t.Fatalf("the stored key is extractable: %s", extractable)
		}
	})

	t.Run("reveal and forget", func(t *testing.T) {
		e.run(chromedp.Click(chromedp.CSS("#reveal")))
		if shown := strings.ReplaceAll(eval[string](e, `document.getElementById("digits").textContent`), " ", ""); !paycode.Is(shown) {
			t.Fatalf("revealed digits %q", shown)
		}
		e.run(chromedp.Click(chromedp.CSS("#forget")))
		time.Sleep(300 * time.Millisecond)
		e.waitState("none")
	})
}
