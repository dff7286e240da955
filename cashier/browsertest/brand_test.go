package browsertest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/cashier"
)

// waitImages waits until every image of the page has loaded or failed.
func (tb *tab) waitImages() {
	tb.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if eval[bool](tb, `Array.from(document.images).every(function(i){return i.complete})`) {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("images still loading: %s", eval[string](tb, `Array.from(document.images).filter(function(i){return !i.complete}).map(function(i){return i.src}).join(" ")`))
		}
	}
}

// brokenImages lists the page's images that did not render.
func (tb *tab) brokenImages() string {
	tb.t.Helper()
	return eval[string](tb, `Array.from(document.images).filter(function(i){return !(i.naturalWidth>0 && i.getBoundingClientRect().width>0)}).map(function(i){return i.src}).join(" ")`)
}

// layout is where the cashier's parts sit and whether the page scrolls
// sideways.
type layout struct {
	ViewWidth, ScrollWidth, CardWidth float64
	HeaderRight, HeaderBottom         float64
	SectionLeft, SectionTop           float64
}

func (tb *tab) layout() layout {
	tb.t.Helper()
	s := eval[string](tb, `(function(){
		var h=document.querySelector("#cashier > header").getBoundingClientRect(), s=document.querySelector("#cashier > section").getBoundingClientRect();
		return JSON.stringify({ViewWidth: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth,
			CardWidth: document.getElementById("cashier").getBoundingClientRect().width,
			HeaderRight: h.right, HeaderBottom: h.bottom, SectionLeft: s.left, SectionTop: s.top});
	})()`)
	var l layout
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		tb.t.Fatal(err)
	}
	return l
}

func (tb *tab) shotBytes() []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	return png
}

// TestCashierBrandAndLayout: the merchant's name and logo show, every
// channel button carries a mark that renders, every brand mark the
// cashier has renders, and the layout follows the viewport width as well
// as the User-Agent, without sideways scrolling on a phone.
func TestCashierBrandAndLayout(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	path := "/v1/apps/" + nd.app.AppID + "/cashier_settings"
	nd.api("POST", path, map[string]any{"display_name": "Acme Coffee 咖啡", "logo": cashier.DemoLogo()})
	for _, tc := range []struct {
		name      string
		ua        string
		w, h      int64
		mobile    bool
		wantPhone bool
	}{
		{"DesktopWide", desktopUA, 1280, 860, false, false},
		{"DesktopNarrowWindow", desktopUA, 390, 844, false, true}, // the width decides
		{"Phone", iphoneUA, 390, 844, true, true},
		{"PhoneUAWideWindow", iphoneUA, 1024, 768, false, true}, // the User-Agent decides
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := nd.order("", 0)
			tb := newTab(t, browser, tc.ua, tc.w, tc.h, tc.mobile)
			tb.watchConsole()
			tb.open(o["cashier_url"].(string))
			tb.waitImages()
			if got := tb.text("merchant_name"); got != "Acme Coffee 咖啡" {
				t.Fatalf("merchant name %q", got)
			}
			if w := eval[float64](tb, `document.getElementById("merchant_logo").naturalWidth`); w != 96 {
				t.Fatalf("logo natural width %v, want 96", w)
			}
			if bad := tb.brokenImages(); bad != "" {
				t.Fatalf("images that did not render: %s", bad)
			}
			if n := eval[int](tb, `Array.from(document.querySelectorAll("button[name=channel]")).filter(function(b){var m=b.querySelector("img.mark");return !m||m.naturalWidth===0}).length`); n != 0 {
				t.Fatalf("%d channel buttons without a rendered mark", n)
			}
			l := tb.layout()
			if l.ScrollWidth > l.ViewWidth {
				t.Fatalf("page scrolls sideways: %v wide in a %v window", l.ScrollWidth, l.ViewWidth)
			}
			side := l.SectionLeft >= l.HeaderRight-1 && l.SectionTop < l.HeaderBottom
			if tc.wantPhone == side {
				t.Fatalf("phone layout %v wanted, got %+v", tc.wantPhone, l)
			}
			if tc.wantPhone && tc.w <= 480 && l.CardWidth != l.ViewWidth {
				t.Fatalf("phone card %v wide in a %v window", l.CardWidth, l.ViewWidth)
			}
			if err := chromium.NonBlank(tb.shotBytes()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("EveryMark", func(t *testing.T) {
		o := nd.order("", 0)
		tb := newTab(t, browser, desktopUA, 1280, 860, false)
		tb.watchConsole()
		tb.open(o["cashier_url"].(string))
		var urls []string
		for _, m := range cashier.BrandMarks() {
			urls = append(urls, "/cashier/static/brand/"+m+".svg")
		}
		list, _ := json.Marshal(urls)
		tb.do(chromedp.Evaluate[chromedp.Void](`window.__marks = {}; ` + string(list) + `.forEach(function(u){
			var i = new Image(); i.onload = function(){ window.__marks[u] = i.naturalWidth + "x" + i.naturalHeight };
			i.onerror = function(){ window.__marks[u] = "error" }; i.src = u; })`))
		for deadline := time.Now().Add(10 * time.Second); eval[int](tb, `Object.keys(window.__marks).length`) < len(urls); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("marks still loading: %s", eval[string](tb, `JSON.stringify(window.__marks)`))
			}
		}
		var got map[string]string
		json.Unmarshal([]byte(eval[string](tb, `JSON.stringify(window.__marks)`)), &got)
		for _, u := range urls {
			if got[u] == "error" || strings.HasPrefix(got[u], "0x") {
				t.Errorf("%s: %s", u, got[u])
			}
		}
		if len(urls) < 11 {
			t.Fatalf("only %d marks", len(urls))
		}
	})
}
