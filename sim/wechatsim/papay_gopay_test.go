package wechatsim_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
)

// TestPapayGopay drives entrusted debit with go-pay/gopay's v2 client, an
// implementation independent of this package's tests: its signing URL,
// H5 signing, query, debit and deletion, and its verification of the
// answers' and notifications' signatures.
func TestPapayGopay(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	ctx := context.Background()
	c := wechat.NewClient(appid, mchid, apiV2Key, true)
	c.BaseURL = e.base
	terms := func(code, serial string) gopay.BodyMap {
		return gopay.BodyMap{"plan_id": planID, "contract_code": code, "request_serial": serial,
			"contract_display_account": "gopay 用户", "notify_url": rc.url, "version": "1.0",
			"timestamp": strconv.FormatInt(e.clock.Now().Unix(), 10)}
	}
	signURL, err := c.EntrustPublic(ctx, terms("G100001", "1001"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.sim.SignContract(ctx, signURL)
	if err != nil {
		t.Fatal(err)
	}
	wantGopaySigned(t, rc, 0, wechat.SignType_MD5)

	q, err := c.EntrustQuery(ctx, gopay.BodyMap{"contract_id": id, "version": "1.0"})
	if err != nil || q.ResultCode != "SUCCESS" || q.ContractState != "0" || q.ContractCode != "G100001" {
		t.Fatalf("EntrustQuery: %+v %v", q, err)
	}
	if ok, err := wechat.VerifySign(apiV2Key, wechat.SignType_MD5, q); !ok {
		t.Fatalf("EntrustQuery answer sign: %v", err)
	}
	pay, err := c.EntrustApplyPay(ctx, gopay.BodyMap{"nonce_str": "gopay0001", "body": "会员月费", "out_trade_no": "gopay_pap_1",
		"total_fee": 990, "fee_type": "CNY", "spbill_create_ip": "127.0.0.1", "notify_url": rc.url, "trade_type": "PAP", "contract_id": id})
	if err != nil || pay.ResultCode != "SUCCESS" {
		t.Fatalf("EntrustApplyPay: %+v %v", pay, err)
	}
	if ok, err := wechat.VerifySign(apiV2Key, wechat.SignType_MD5, pay); !ok {
		t.Fatalf("EntrustApplyPay answer sign: %v", err)
	}
	if n := wantGopaySigned(t, rc, 1, wechat.SignType_MD5); n.GetString("out_trade_no") != "gopay_pap_1" || n.GetString("total_fee") != "990" {
		t.Fatalf("pay notification %v", n)
	}
	del, err := c.EntrustDelete(ctx, gopay.BodyMap{"contract_id": id, "contract_termination_remark": "gopay 解约", "version": "1.0"})
	if err != nil || del.ResultCode != "SUCCESS" || del.ContractId != id {
		t.Fatalf("EntrustDelete: %+v %v", del, err)
	}
	if ok, err := wechat.VerifySign(apiV2Key, wechat.SignType_MD5, del); !ok {
		t.Fatalf("EntrustDelete answer sign: %v", err)
	}
	if n := wantGopaySigned(t, rc, 2, wechat.SignType_MD5); n.GetString("change_type") != "DELETE" {
		t.Fatalf("DELETE notification %v", n)
	}
	// H5 signing: gopay signs with HMAC-SHA256 and follows no redirect.
	h5 := terms("G100002", "1002").Set("clientip", "203.0.113.9")
	rsp, err := c.EntrustH5(ctx, h5)
	if err != nil || rsp.ReturnCode != "SUCCESS" || rsp.ResultCode != "SUCCESS" || rsp.RedirectUrl == "" {
		t.Fatalf("EntrustH5: %+v %v", rsp, err)
	}
	if _, err := e.sim.SignContract(ctx, rsp.RedirectUrl); err != nil {
		t.Fatal(err)
	}
	// APP signing: the pre-sign's id, opened in WeChat by the APP.
	pre, err := c.EntrustAppPre(ctx, terms("G100003", "1003"))
	if err != nil || pre.ReturnCode != "SUCCESS" || pre.ResultCode != "SUCCESS" || pre.PreEntrustwebId == "" {
		t.Fatalf("EntrustAppPre: %+v %v", pre, err)
	}
	if ok, err := wechat.VerifySign(apiV2Key, wechat.SignType_MD5, pre); !ok {
		t.Fatalf("EntrustAppPre answer sign: %v", err)
	}
	appID, err := e.sim.SignPreEntrust(ctx, pre.PreEntrustwebId)
	if err != nil {
		t.Fatal(err)
	}
	if n := wantGopaySigned(t, rc, 4, wechat.SignType_MD5); n.GetString("change_type") != "ADD" || n.GetString("contract_id") != appID {
		t.Fatalf("APP signing's ADD notification %v", n)
	}
	if _, err := e.sim.SignPreEntrust(ctx, pre.PreEntrustwebId); err == nil {
		t.Fatal("a pre_entrustweb_id signed twice")
	}
}

// wantGopaySigned parses notification i as gopay's notify handler does
// and checks its signature with gopay.
func wantGopaySigned(t *testing.T, rc *v2Receiver, i int, signType string) gopay.BodyMap {
	t.Helper()
	rc.notes(t, i+1)
	rc.mu.Lock()
	body := rc.got[i]
	rc.mu.Unlock()
	bm, err := wechat.ParseNotifyToBodyMap(httptest.NewRequest("POST", "/notify", bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	check := gopay.BodyMap{}
	for k, v := range bm {
		check[k] = v
	}
	if ok, err := wechat.VerifySign(apiV2Key, signType, check); !ok {
		t.Fatalf("notification %s does not verify with gopay: %v", body, err)
	}
	return bm
}
