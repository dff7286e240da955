package browsertest_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

const alipayAppUA = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 AlipayClient/10.5.30"

// TestShopQRCode: in Alipay's and WeChat's browsers the shop's code page
// takes an amount, shows it to confirm, and hands over to the cashier with
// an order of that amount for the wallet's own channel.
func TestShopQRCode(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	qr := nd.api("POST", "/v1/apps/"+nd.app.AppID+"/qr_codes", map[string]any{"label": "一号收银台"})
	for _, c := range []struct{ name, ua, channel string }{
		{"alipay", alipayAppUA, "alipay_wap"},
		{"wechat", wechatUA, "wx_pub"},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := newTab(t, browser, c.ua, 390, 844, true)
			page.open(qr["url"].(string))
			page.screenshot("phone-qr-" + c.name + "-amount.png")
			page.do(chromedp.SendKeys(chromedp.CSS("#amount"), "8.80"))
			page.click("#next")
			if got := page.text("confirm_amount"); got != "8.80" {
				t.Fatalf("confirm amount %q", got)
			}
			page.screenshot("phone-qr-" + c.name + "-confirm.png")
			page.click("#pay")
			href := eval[string](page, "location.href")
			if !strings.Contains(href, "/cashier/") {
				t.Fatalf("not at the cashier: %s", href)
			}
			id := href[strings.Index(href, "/cashier/")+9 : strings.Index(href, "?")]
			o := nd.api("GET", "/v1/orders/"+id, nil)
			chans, _ := o["allowed_channels"].([]any)
			if o["amount"] != 880.0 || len(chans) != 1 || chans[0] != c.channel {
				t.Fatalf("order %v", o)
			}
		})
	}
}
