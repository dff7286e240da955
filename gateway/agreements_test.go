package gateway_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestAgreements: an Alipay debit agreement is signed in the simulated
// Alipay page, then debited without the customer (a charge with
// extra.agreement, paid at once, refundable); a declined debit takes no
// money; a forged notification changes nothing; the customer ending it
// in the app cancels it (canceled_by user) and debits are refused; the
// merchant's cancel ends a second one at Alipay first; another app, and
// the live mode, reach none of them.
func TestAgreements(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testAgreements(t, b) })
	}
}

func testAgreements(t *testing.T, b storetest.Backend) {
	e := start(t, b, nil)
	rc := e.listen()
	sim := e.node.Sandbox.AlipaySim()
	create := func(no string, extra map[string]any) *resp {
		body := map[string]any{"app": e.app.AppID, "channel": "alipay", "contract_no": no, "metadata": map[string]any{"plan": "gold"}}
		if extra != nil {
			body["extra"] = extra
		}
		return e.do("POST", "/v1/agreements", e.sk(), body)
	}
	debit := func(no, agr string, amount int64) *resp {
		body := e.chargeBody(no, amount)
		body["channel"], body["extra"] = "alipay", map[string]any{"agreement": agr}
		return e.do("POST", "/v1/charges", e.sk(), body)
	}
	a := ok(t, "create", create("CONTRACT001", map[string]any{"return_url": "https://shop.example/signed"}))
	id := a.str("id")
	signURL := a.str("credential", "alipay", "credential")
	if a.str("status") != "created" || a.JSON["contract_id"] != nil || !strings.Contains(signURL, "alipay.user.agreement.page.sign") {
		t.Fatalf("created agreement %s", a.Body)
	}
	if again := ok(t, "again", create("CONTRACT001", nil)); again.str("id") != id {
		t.Fatalf("same contract_no made another agreement: %s", again.Body)
	}
	refused(t, "contract_no on another channel", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "wx", "contract_no": "CONTRACT001"}), 400, "contract_no")
	refused(t, "bad contract_no", create("合同", nil), 400, "contract_no")
	refused(t, "channel without agreements", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "alipay_qr", "contract_no": "C2"}), 400, "channel")
	refused(t, "debit before signing", debit("DEBIT0001", id, 990), 400, "extra[agreement]")

	agreementNo, err := sim.SignAgreement(ctx, signURL)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agreement.succeeded", func() bool { return rc.count(id, "agreement.succeeded") == 1 })
	got := ok(t, "get", e.do("GET", "/v1/agreements/"+id, e.sk(), nil))
	if got.str("status") != "succeeded" || got.str("contract_id") != agreementNo || got.num("time_succeeded") == 0 || got.str("credential", "alipay") != "" {
		t.Fatalf("signed agreement %s", got.Body)
	}

	ch := ok(t, "debit", debit("DEBIT0002", id, 990))
	if ch.JSON["paid"] != true || ch.str("channel") != "alipay" {
		t.Fatalf("debit %s", ch.Body)
	}
	waitFor(t, "charge.succeeded", func() bool { return rc.count(ch.str("id"), "charge.succeeded") == 1 })
	ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 100, "description": "部分退款"}))
	refused(t, "debit on another channel", func() *resp {
		body := e.chargeBody("DEBIT0003", 100)
		body["extra"] = map[string]any{"agreement": id}
		return e.do("POST", "/v1/charges", e.sk(), body)
	}(), 400, "channel")

	sim.SetAgreementBalance(agreementNo, false)
	if r := debit("DEBIT0004", id, 500); r.Status == 200 && r.JSON["paid"] == true {
		t.Fatalf("a debit with no balance paid: %s", r.Body)
	}
	sim.SetAgreementBalance(agreementNo, true)

	// A forged unsign notification is refused and changes nothing.
	forged := url.Values{"notify_type": {"dut_user_unsign"}, "notify_id": {"forged1"}, "app_id": {mustMerchant(t, e)}, "agreement_no": {agreementNo},
		"external_agreement_no": {"CONTRACT001"}, "status": {"UNSIGN"}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}}
	e.do("POST", "/notify/alipay/"+e.app.AppID+"/test", "", forged.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if st := ok(t, "get", e.do("GET", "/v1/agreements/"+id, e.sk(), nil)).str("status"); st != "succeeded" {
		t.Fatalf("a forged notification canceled the agreement: %s", st)
	}

	// Isolation: another app, and the live key, see nothing.
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	refused(t, "other app", e.do("GET", "/v1/agreements/"+id, other.SecretKeyTest, nil), 404, "id")
	refused(t, "live mode", e.do("GET", "/v1/agreements/"+id, e.app.SecretKeyLive, nil), 404, "id")
	if l := ok(t, "other list", e.do("GET", "/v1/agreements?app="+other.AppID, other.SecretKeyTest, nil)); len(ids(l)) != 0 {
		t.Fatalf("other app lists %v", ids(l))
	}
	otherDebit := map[string]any{"order_no": "DEBIT0005", "app": map[string]any{"id": other.AppID}, "channel": "alipay", "amount": 100,
		"client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b", "extra": map[string]any{"agreement": id}}
	refused(t, "other app's debit", e.do("POST", "/v1/charges", other.SecretKeyTest, otherDebit), 400, "extra[agreement]")

	// The customer ends it in Alipay.
	if err := sim.UserUnsign(ctx, mustMerchant(t, e), agreementNo); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agreement.canceled", func() bool { return rc.count(id, "agreement.canceled") == 1 })
	if g := ok(t, "get", e.do("GET", "/v1/agreements/"+id, e.sk(), nil)); g.str("status") != "canceled" || g.str("canceled_by") != "user" {
		t.Fatalf("after the user ended it: %s", g.Body)
	}
	refused(t, "debit after unsign", debit("DEBIT0006", id, 100), 400, "extra[agreement]")

	// The merchant cancels a second one: Alipay ends it first.
	b2 := ok(t, "second", create("CONTRACT002", nil))
	no2, err := sim.SignAgreement(ctx, b2.str("credential", "alipay", "credential"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second signed", func() bool { return rc.count(b2.str("id"), "agreement.succeeded") == 1 })
	c2 := ok(t, "cancel", e.do("PUT", "/v1/agreements/"+b2.str("id"), e.sk(), map[string]any{"status": "canceled"}))
	if c2.str("status") != "canceled" || c2.str("canceled_by") != "merchant" {
		t.Fatalf("canceled %s", c2.Body)
	}
	if r := ok(t, "refresh", e.do("POST", "/v1/agreements/"+b2.str("id")+"/refresh", e.sk(), nil)); r.str("status") != "canceled" {
		t.Fatalf("refreshed %s", r.Body)
	}
	waitFor(t, "one canceled event", func() bool { return rc.count(b2.str("id"), "agreement.canceled") == 1 })
	if no2 == agreementNo {
		t.Fatal("two agreements share Alipay's number")
	}
	refused(t, "pre-debit notice on alipay", e.do("POST", "/v1/agreements/"+id+"/notify", e.sk(), map[string]any{"amount": 100}), 400, "")
	l := ok(t, "list", e.do("GET", "/v1/agreements?status=canceled&limit=10", e.sk(), nil))
	if len(ids(l)) != 2 {
		t.Fatalf("canceled agreements %v", ids(l))
	}
	refused(t, "bad status filter", e.do("GET", "/v1/agreements?status=signed", e.sk(), nil), 400, "status")
}

// TestAgreementSignatureLost: an agreement signed at Alipay whose sign
// notification never came (here: the agreement put back as it was before
// the notice) is found signed by the poller's query.
func TestAgreementSignatureLost(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	id, no := signedAgreement(t, e, "LOSTSIGN01")
	if err := e.node.DB.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.GetAgreement(ctx, e.app.AppID, false, id)
		if err != nil {
			return err
		}
		a.Status, a.ContractID, a.TimeSucceeded = polypay.AgreementCreated, "", 0
		if err := tx.UpdateAgreement(ctx, a); err != nil {
			return err
		}
		return tx.SetAgreementCheck(ctx, id, 1)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.Svc.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	got := ok(t, "get", e.do("GET", "/v1/agreements/"+id, e.sk(), nil))
	if got.str("status") != "succeeded" || got.str("contract_id") != no {
		t.Fatalf("after the poller's query: %s", got.Body)
	}
}

// TestWechatAgreements: WeChat Pay's entrusted debit end to end in the
// sandbox: the contract signed on WeChat's page (ADD notification), a
// debit on wx paid by its PAP notification and refunded, the pre-debit
// notice, the customer ending the contract in WeChat (DELETE), and the
// merchant's cancel of a second one; plan_id is required.
func TestWechatAgreements(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	refused(t, "no plan_id", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "wx", "contract_no": "WXC000"}), 400, "extra[plan_id]")
	create := func(no string) *resp {
		return ok(t, "create", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "wx", "contract_no": no,
			"extra": map[string]any{"plan_id": "12535", "display_account": "会员 " + no}}))
	}
	a := create("WXC001")
	// wx is APP signing: the request the APP hands to WeChat's OpenSDK.
	if a.num("credential", "wx", "credential", "businessType") != 12 || a.str("credential", "wx", "credential", "queryInfo", "pre_entrustweb_id") == "" {
		t.Fatalf("credential %s", a.Body)
	}
	// wx_pub signs on WeChat's page in its browser.
	pub := ok(t, "wx_pub", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "wx_pub", "contract_no": "WXPUB01",
		"extra": map[string]any{"plan_id": "12535"}}))
	if u := pub.str("credential", "wx_pub", "credential"); !strings.Contains(u, "/papay/entrustweb?") || !strings.Contains(u, "plan_id=12535") {
		t.Fatalf("wx_pub credential %s", pub.Body)
	}
	if s := ok(t, "sign wx_pub", e.do("POST", "/v1/test/agreements/"+pub.str("id")+"/sign", e.sk(), map[string]any{})); s.str("status") != "succeeded" {
		t.Fatalf("wx_pub signed %s", s.Body)
	}
	id := a.str("id")
	s := ok(t, "sign", e.do("POST", "/v1/test/agreements/"+id+"/sign", e.sk(), map[string]any{}))
	if s.str("status") != "succeeded" || s.str("contract_id") == "" {
		t.Fatalf("signed %s", s.Body)
	}
	body := e.chargeBody("WXDEBIT01", 1500)
	body["channel"], body["extra"] = "wx", map[string]any{"agreement": id}
	ch := ok(t, "debit", e.do("POST", "/v1/charges", e.sk(), body))
	waitFor(t, "charge.succeeded", func() bool { return rc.count(ch.str("id"), "charge.succeeded") == 1 })
	if got := ok(t, "charge", e.do("GET", "/v1/charges/"+ch.str("id"), e.sk(), nil)); got.JSON["paid"] != true || got.str("transaction_no") == "" {
		t.Fatalf("debit %s", got.Body)
	}
	ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 500, "description": "部分退款"}))
	ok(t, "pre-debit notice", e.do("POST", "/v1/agreements/"+id+"/notify", e.sk(), map[string]any{"amount": 1500}))
	if got := e.node.Sandbox.WechatSim().PreDebitNotices(s.str("contract_id")); len(got) != 1 || got[0] != 1500 {
		t.Fatalf("pre-debit notices %v", got)
	}
	ended := ok(t, "terminate", e.do("POST", "/v1/test/agreements/"+id+"/terminate", e.sk(), map[string]any{}))
	if ended.str("status") != "canceled" || ended.str("canceled_by") != "user" {
		t.Fatalf("after the customer ended it %s", ended.Body)
	}
	body = e.chargeBody("WXDEBIT02", 100)
	body["channel"], body["extra"] = "wx", map[string]any{"agreement": id}
	refused(t, "debit after the end", e.do("POST", "/v1/charges", e.sk(), body), 400, "extra[agreement]")

	b := create("WXC002")
	ok(t, "sign 2", e.do("POST", "/v1/test/agreements/"+b.str("id")+"/sign", e.sk(), map[string]any{}))
	c := ok(t, "cancel", e.do("PUT", "/v1/agreements/"+b.str("id"), e.sk(), map[string]any{"status": "canceled"}))
	if c.str("status") != "canceled" || c.str("canceled_by") != "merchant" {
		t.Fatalf("merchant cancel %s", c.Body)
	}
	if r := ok(t, "refresh", e.do("POST", "/v1/agreements/"+b.str("id")+"/refresh", e.sk(), nil)); r.str("status") != "canceled" {
		t.Fatalf("refresh %s", r.Body)
	}
}
