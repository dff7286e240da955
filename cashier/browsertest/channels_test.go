package browsertest_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	desktopChannels = "alipay_qr,wx_pub_qr,alipay_pc_direct,upacp_pc,card,paypal"
	phoneChannels   = "alipay_wap,wx_wap,upacp_wap,card,paypal"
)

// fillCard types a card into the cashier's card form with the keyboard,
// field by field as a customer does (Tab between fields).
func (tb *tab) fillCard(number string) {
	tb.t.Helper()
	year := strconv.Itoa(time.Now().Year() + 2)
	tb.do(chromedp.Focus(chromedp.ID("card_number")))
	tb.do(chromedp.KeyEvent(number))
	for _, s := range []string{"12", year, "123", "Li Lei"} {
		tb.key("\t")
		tb.do(chromedp.KeyEvent(s))
	}
	if got := eval[string](tb, `document.activeElement.id`); got != "card_name" {
		t := tb.t
		t.Fatalf("after typing the card, focus is on %q, want card_name", got)
	}
}

// chooseCard opens the order's cashier and chooses the card channel; the
// form must be labelled and keyboard-usable.
func chooseCard(t *testing.T, pg *tab, cashierURL string) {
	t.Helper()
	pg.open(cashierURL)
	pg.click("#ch_card")
	if !strings.Contains(eval[string](pg, "location.href"), "card=1") || pg.text("channel_label") == "" {
		t.Fatalf("no card form: %s", pg.text("cashier"))
	}
	pg.labelled()
	pg.do(chromedp.Focus(chromedp.ID("card_number")))
	if got := strings.Join(pg.tabOrder(5), ","); got != "card_exp_month,card_exp_year,card_cvc,card_name,card_pay" {
		t.Fatalf("Tab order through the card form: %s", got)
	}
}

// TestCashierChannelLists: the new channels (UnionPay, card, PayPal) are
// offered to the clients they fit, with readable labels.
func TestCashierChannelLists(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	for _, tc := range []struct {
		name, ua, want string
		mobile         bool
	}{
		{"desktop", desktopUA, desktopChannels, false},
		{"phone", iphoneUA, phoneChannels, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := nd.order("https://shop.example/done", 0)
			pg := newTab(t, browser, tc.ua, 390, 844, tc.mobile)
			pg.watchConsole()
			pg.open(o["cashier_url"].(string))
			if got := pg.channels(); got != tc.want {
				t.Fatalf("channels %q, want %q", got, tc.want)
			}
			pg.labelled()
			for ch, want := range map[string]string{"upacp": "银联", "card": "银行卡", "paypal": "PayPal"} {
				id := "ch_" + ch
				if ch == "upacp" {
					id = "ch_upacp_pc"
					if tc.mobile {
						id = "ch_upacp_wap"
					}
				}
				if got := pg.text(id); !strings.Contains(got, want) {
					t.Errorf("#%s says %q, want %q", id, got, want)
				}
			}
			pg.screenshot(tc.name + "-choose-all.png")
		})
	}
}

// TestCashierCard: the card form on polypay's origin, through the vault and
// the Stripe simulator: a frictionless card is paid at once, a 3-D Secure
// card after the issuer's page, a declined card comes back to the form, a
// failed challenge fails the charge.
func TestCashierCard(t *testing.T) {
	nd := startNode(t)
	hooks := nd.listenWebhooks()
	browser := newBrowser(t)
	shop, hits := merchantSite(t)

	t.Run("frictionless", func(t *testing.T) {
		o := nd.order(shop.URL+"/done/card", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.watchConsole()
		chooseCard(t, pg, o["cashier_url"].(string))
		if !strings.Contains(pg.text("card_sandbox"), "4242") {
			t.Fatalf("no test-card hint: %s", pg.text("cashier"))
		}
		pg.fillCard("4242424242424242")
		pg.screenshot("desktop-card-form.png")
		pg.key("\r") // Enter submits the form
		pg.waitLocation(shop.URL + "/done/card")
		if h := hits(); len(h) == 0 || h[len(h)-1] != "/done/card" {
			t.Fatalf("merchant hits %v", h)
		}
		paidOrder(t, nd, id)
		ch := nd.orderCharge(id, "card")
		if ch["paid"] != true || ch["amount"] != 2599.0 || !strings.HasPrefix(ch["transaction_no"].(string), "pi_") {
			t.Fatalf("card charge %v", ch)
		}
		ev := hooks.wait(t, "charge.succeeded", ch["id"].(string))
		if ev["paid"] != true {
			t.Fatalf("charge.succeeded carries %v", ev)
		}
		if raw := nd.rawCharge(ch["id"].(string)); strings.Contains(raw, "4242424242424242") {
			t.Fatalf("the charge holds the card number: %s", raw)
		}
	})

	t.Run("3-D Secure", func(t *testing.T) {
		o := nd.order(shop.URL+"/done/3ds", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.watchConsole()
		chooseCard(t, pg, o["cashier_url"].(string))
		pg.fillCard("4000000000003220")
		pg.click("#card_pay")
		if got := eval[string](pg, `document.getElementById("cashier").dataset.state`); got != "redirect" {
			t.Fatalf("after a 3-D Secure card: state %q: %s", got, pg.text("cashier"))
		}
		href := eval[string](pg, `document.getElementById("pay_link").href`)
		if !strings.HasPrefix(href, nd.n.URL+"/sim/stripe/acs/pi_") {
			t.Fatalf("pay link %q", href)
		}
		ch := nd.orderCharge(id, "card")
		if ch["paid"] != false {
			t.Fatalf("paid before the challenge: %v", ch)
		}
		pg.screenshot("desktop-card-3ds.png")
		pg.click("#pay_link")
		if got := pg.text("code"); got != "123456" || !strings.Contains(eval[string](pg, "document.body.innerText"), "3220") {
			t.Fatalf("ACS page: %s", eval[string](pg, "document.body.innerText"))
		}
		pg.do(chromedp.SendKeys(chromedp.CSS(`input[name=code]`), "123456"))
		pg.screenshot("desktop-card-acs.png")
		pg.click(`button[value=complete]`)
		pg.waitLocation(shop.URL + "/done/3ds")
		paidOrder(t, nd, id)
		if ch := nd.api("GET", "/v1/charges/"+ch["id"].(string), nil); ch["paid"] != true {
			t.Fatalf("charge after the challenge: %v", ch)
		}
		hooks.wait(t, "charge.succeeded", ch["id"].(string))
	})

	t.Run("declined", func(t *testing.T) {
		o := nd.order(shop.URL+"/done/declined", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.watchConsole()
		chooseCard(t, pg, o["cashier_url"].(string))
		pg.fillCard("4000000000009995")
		pg.click("#card_pay")
		if got := pg.text("error"); !strings.Contains(got, "银行卡被拒绝") {
			t.Fatalf("after a declined card: %q: %s", got, pg.text("cashier"))
		}
		if !eval[bool](pg, `!!document.getElementById("card_number")`) {
			t.Fatal("the card form is not shown again")
		}
		if strings.Contains(eval[string](pg, "document.documentElement.outerHTML+location.href"), "9995") {
			t.Fatal("the declined card's number is echoed back")
		}
		pg.screenshot("desktop-card-declined.png")
		if got := nd.api("GET", "/v1/orders/"+id, nil); got["paid"] != false {
			t.Fatalf("order after a decline: %v", got)
		}
		// The same order still pays with another card.
		pg.fillCard("4242424242424242")
		pg.click("#card_pay")
		pg.waitLocation(shop.URL + "/done/declined")
		paidOrder(t, nd, id)
	})

	t.Run("wrong ACS code", func(t *testing.T) {
		o := nd.order(shop.URL+"/done/acsfail", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.watchConsole()
		chooseCard(t, pg, o["cashier_url"].(string))
		pg.fillCard("4000000000003220")
		pg.click("#card_pay")
		ch := nd.orderCharge(id, "card")
		pg.click("#pay_link")
		pg.do(chromedp.SendKeys(chromedp.CSS(`input[name=code]`), "654321"))
		pg.click(`button[value=complete]`)
		// Back at the cashier, which must not show it paid.
		pg.waitLocation(nd.n.URL + "/cashier/" + id)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := nd.api("GET", "/v1/charges/"+ch["id"].(string), nil)
			if got["paid"] == true {
				t.Fatalf("paid with a wrong ACS code: %v", got)
			}
			if got["status"] == "failed" || got["failure_code"] != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("charge after a wrong ACS code: %v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		if got := pg.text("result"); got == "支付成功" {
			t.Fatal("the cashier shows paid after a failed challenge")
		}
		pg.screenshot("desktop-card-acs-failed.png")
		if got := nd.api("GET", "/v1/orders/"+id, nil); got["paid"] != false {
			t.Fatalf("order %v", got)
		}
		hooks.none(t, "charge.succeeded", ch["id"].(string))
	})
}

// TestCashierPayPal: PayPal from the cashier: the redirect state, the
// simulator's approval page (log in, approve), back to the cashier, paid
// once PayPal's verified webhook is in.
func TestCashierPayPal(t *testing.T) {
	nd := startNode(t)
	hooks := nd.listenWebhooks()
	browser := newBrowser(t)
	shop, _ := merchantSite(t)
	o := nd.order(shop.URL+"/done/paypal", 0)
	id := o["id"].(string)
	pg := newTab(t, browser, desktopUA, 1280, 860, false)
	pg.watchConsole()
	pg.open(o["cashier_url"].(string))
	pg.click("#ch_paypal")
	if got := eval[string](pg, `document.getElementById("cashier").dataset.state`); got != "redirect" {
		t.Fatalf("paypal state %q: %s", got, pg.text("cashier"))
	}
	if href := eval[string](pg, `document.getElementById("pay_link").href`); !strings.HasPrefix(href, nd.n.URL+"/sim/paypal/checkoutnow?token=") {
		t.Fatalf("pay link %q", href)
	}
	pg.screenshot("desktop-paypal.png")
	pg.click("#pay_link")
	if got := pg.text("amount"); !strings.Contains(got, "25.99") {
		t.Fatalf("PayPal amount %q", got)
	}
	pg.do(chromedp.SetValue(chromedp.ID("email"), "buyer@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "sandbox123"))
	pg.screenshot("desktop-paypal-approve.png")
	pg.click("#approve")
	pg.waitLocation(shop.URL + "/done/paypal")
	paidOrder(t, nd, id)
	ch := nd.orderCharge(id, "paypal")
	if ch["paid"] != true || ch["transaction_no"] == "" {
		t.Fatalf("paypal charge %v", ch)
	}
	hooks.wait(t, "charge.succeeded", ch["id"].(string))
}

// TestCashierUnionPay: UnionPay PC from the cashier: the form state posts
// the signed fields to the simulator's front gateway, the customer pays on
// its card page (test card, SMS code), comes back to the cashier (frontUrl)
// and sees paid after the signed notification.
func TestCashierUnionPay(t *testing.T) {
	nd := startNode(t)
	hooks := nd.listenWebhooks()
	browser := newBrowser(t)
	shop, _ := merchantSite(t)
	o := nd.order(shop.URL+"/done/upacp", 0)
	id := o["id"].(string)
	pg := newTab(t, browser, desktopUA, 1280, 860, false)
	pg.watchConsole()
	pg.open(o["cashier_url"].(string))
	pg.click("#ch_upacp_pc")
	if got := eval[string](pg, `document.getElementById("cashier").dataset.state`); got != "form" {
		t.Fatalf("upacp_pc state %q: %s", got, pg.text("cashier"))
	}
	if got := eval[string](pg, `document.getElementById("channel_form").action`); got != nd.n.URL+"/sim/unionpay/gateway/api/frontTransReq.do" {
		t.Fatalf("form action %q", got)
	}
	fields := eval[string](pg, `Array.from(document.querySelectorAll("#channel_form input[type=hidden]")).map(function(i){return i.name}).sort().join(",")`)
	for _, f := range []string{"signature", "certId", "frontUrl", "backUrl", "txnAmt", "orderId"} {
		if !strings.Contains(","+fields+",", ","+f+",") {
			t.Fatalf("form fields %s lack %s", fields, f)
		}
	}
	if got := eval[string](pg, `document.querySelector("#channel_form input[name=txnAmt]").value`); got != "2599" {
		t.Fatalf("txnAmt %q", got)
	}
	pg.screenshot("desktop-upacp.png")
	pg.click("#pay_link")
	if got := pg.text("amount"); got != "¥25.99" {
		t.Fatalf("UnionPay card page amount %q: %s", got, eval[string](pg, "document.body.innerText"))
	}
	pg.do(chromedp.SetValue(chromedp.ID("card"), "6216261000000000018"),
		chromedp.SendKeys(chromedp.ID("sms"), "111111"))
	pg.screenshot("desktop-upacp-card.png")
	pg.click("#pay")
	pg.waitLocation(shop.URL + "/done/upacp")
	paidOrder(t, nd, id)
	ch := nd.orderCharge(id, "upacp_pc")
	if ch["paid"] != true || ch["transaction_no"] == "" {
		t.Fatalf("upacp charge %v", ch)
	}
	hooks.wait(t, "charge.succeeded", ch["id"].(string))
}

// TestIframeCard: the card form inside the merchant's iframe. The card is
// typed on polypay's origin: the merchant page can neither read the frame's
// document nor learn the number from its messages, which carry only the
// status.
func TestIframeCard(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop := merchantPages(t, nd.n.URL)
	o := nd.order(shop.URL+"/done", 0)
	id := o["id"].(string)
	pg := newTab(t, browser, desktopUA, 1280, 860, false)
	pg.watchConsole()
	pg.open(shop.URL + "/iframe?u=" + url.QueryEscape(o["cashier_url"].(string)))
	pg.waitFor("the pending message", `messages.some(function (m) { return m.status === "pending" })`)
	inFrame := func(a func(f *chromedp.Node) chromedp.Action[chromedp.Void]) { pg.inFrame(a) }
	inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS("#ch_card"), chromedp.FromNode(f))
	})
	pg.waitFrameURL("card=1")
	const number = "4242424242424242"
	year := strconv.Itoa(time.Now().Year() + 2)
	for _, f := range []struct{ id, v string }{{"card_number", number}, {"card_exp_month", "12"}, {"card_exp_year", year}, {"card_cvc", "123"}, {"card_name", "Han Meimei"}} {
		inFrame(func(fr *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.SendKeys(chromedp.ID(f.id), f.v, chromedp.FromNode(fr))
		})
	}
	if got := pg.frameValue("#card_number"); got != number {
		t.Fatalf("card number in the frame %q", got)
	}
	// The merchant's page cannot reach into the frame.
	if got := eval[string](pg, `(function () {
		var f = document.getElementById("cashier");
		try { if (f.contentDocument) { return "contentDocument readable"; } } catch (e) {}
		try { return "read " + f.contentWindow.document.getElementById("card_number").value; } catch (e) { return "blocked:" + e.name; }
	})()`); got != "blocked:SecurityError" {
		t.Fatalf("the merchant page reached the card form: %s", got)
	}
	pg.screenshot("desktop-iframe-card.png")
	inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS("#card_pay"), chromedp.FromNode(f))
	})
	pg.waitFor("the paid message", `messages.some(function (m) { return m.status === "paid" })`)
	all := eval[string](pg, `JSON.stringify(messages)`)
	if strings.Contains(all, "4242") || strings.Contains(all, "Han Meimei") {
		t.Fatalf("messages carry card data: %s", all)
	}
	if keys := eval[string](pg, `Array.from(new Set(messages.map(function (m) { return Object.keys(m).sort().join(",") }))).join(" ")`); keys != "height,order,status,type" {
		t.Fatalf("message fields %s", keys)
	}
	if strings.Contains(eval[string](pg, `document.documentElement.outerHTML + location.href`), "4242") {
		t.Fatal("the card number reached the merchant's page")
	}
	// The frame stays in embed mode on the result.
	if fr := pg.childFrame(); !strings.HasPrefix(fr.URL, nd.n.URL+"/cashier/"+id) || !strings.Contains(fr.URL, "embed=1") {
		t.Fatalf("frame at %s", fr.URL)
	}
	pg.screenshot("desktop-iframe-card-paid.png")
	paidOrder(t, nd, id)
	if raw := nd.rawCharge(nd.orderCharge(id, "card")["id"].(string)); strings.Contains(raw, number) {
		t.Fatalf("the charge holds the card number: %s", raw)
	}
}
