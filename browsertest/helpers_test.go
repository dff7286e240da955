package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

// stepTimeout bounds one browser step (a navigation, a click and the page
// it loads, reading an element).
const stepTimeout = 30 * time.Second

// browser is one headless Chromium with one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{t: t, ctx: chromium.Start(t)}
}

func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// do runs steps that return nothing.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open navigates to u and returns the document's response.
func (b *browser) open(u string) *network.Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("browser: open %s: %v", u, err)
	}
	return resp
}

// click clicks a button that submits a form and waits for the page it
// loads (after any redirects); it returns that page's response.
func (b *browser) click(sel chromedp.CSS) *network.Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		b.t.Fatalf("browser: click %s: %v", sel, err)
	}
	return resp
}

// text reads the text of the element with this id.
func (b *browser) text(id string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		b.t.Fatalf("browser: text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// has reports whether the page has an element with this id, without waiting.
func (b *browser) has(id string) bool {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.getElementById("+jsString(id)+") !== null"))
	if err != nil {
		b.t.Fatalf("browser: looking for #%s: %v", id, err)
	}
	return ok
}

func (b *browser) location() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("browser: location: %v", err)
	}
	return u
}

// body is the page's visible text, for failure messages.
func (b *browser) body() string {
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// node is a running polypay with one app.
type node struct {
	t   *testing.T
	n   *gateway.Node
	app *core.NewApp
}

func startNode(t *testing.T) *node {
	t.Helper()
	n, app := gatewaytest.Start(t, "browser test", nil)
	return &node{t: t, n: n, app: app}
}

// api calls polypay's HTTP API with the app's test secret key.
func (nd *node) api(method, path string, body any) (int, map[string]any) {
	nd.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			nd.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, nd.n.URL+path, rd)
	if err != nil {
		nd.t.Fatal(err)
	}
	req.SetBasicAuth(nd.app.SecretKeyTest, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		nd.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

var orderSeq int

// createCharge creates a charge and fails the test unless it succeeds.
func (nd *node) createCharge(channel string, amount int64, extra map[string]any) map[string]any {
	nd.t.Helper()
	status, c := nd.tryCharge(channel, amount, extra)
	if status != 200 {
		nd.t.Fatalf("create %s charge: %d %v", channel, status, c)
	}
	return c
}

func (nd *node) tryCharge(channel string, amount int64, extra map[string]any) (int, map[string]any) {
	nd.t.Helper()
	orderSeq++
	body := map[string]any{
		"order_no": fmt.Sprintf("BT%d%04d", time.Now().UnixNano()%1e9, orderSeq),
		"app":      map[string]any{"id": nd.app.AppID},
		"channel":  channel, "amount": amount, "client_ip": "127.0.0.1", "currency": "cny",
		"subject": "浏览器测试 <商品>", "body": "polypay browser test",
	}
	if extra != nil {
		body["extra"] = extra
	}
	return nd.api("POST", "/v1/charges", body)
}

// charge fetches a charge through the API.
func (nd *node) charge(id string) map[string]any {
	nd.t.Helper()
	status, c := nd.api("GET", "/v1/charges/"+id, nil)
	if status != 200 {
		nd.t.Fatalf("GET charge %s: %d %v", id, status, c)
	}
	return c
}

func (nd *node) paid(id string) bool { return nd.charge(id)["paid"] == true }

// waitPaid waits for a charge to be paid (a poll, or a notification still
// being applied).
func (nd *node) waitPaid(id string) map[string]any {
	nd.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := nd.charge(id)
		if c["paid"] == true {
			return c
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("charge %s still unpaid: %v", id, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// credential returns credential[<channel>] of a charge.
func credential(t *testing.T, c map[string]any) any {
	t.Helper()
	cred, _ := c["credential"].(map[string]any)
	v, ok := cred[c["channel"].(string)]
	if !ok {
		t.Fatalf("charge has no credential: %v", c)
	}
	return v
}

// channelURL builds what pingpp-js opens for a form credential (alipay_wap,
// alipay_pc_direct): channel_url?<every other field>.
func channelURL(t *testing.T, cred any) string {
	t.Helper()
	fields, ok := cred.(map[string]any)
	if !ok || fields["channel_url"] == nil {
		t.Fatalf("not a form credential: %v", cred)
	}
	q := url.Values{}
	for k, v := range fields {
		if k != "channel_url" {
			q.Set(k, v.(string))
		}
	}
	return fields["channel_url"].(string) + "?" + q.Encode()
}
