package gateway_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// alipaySign signs notification params the way Alipay does: every field but
// sign and sign_type, sorted, k=v joined with &, RSA2.
func alipaySign(t *testing.T, key *rsa.PrivateKey, v url.Values) {
	t.Helper()
	var keys []string
	for k := range v {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+v.Get(k))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
}

func TestNotificationsCannotBeForged(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		id := e.createCharge("NTF0001", 100)
		other, err := e.node.CreateApp(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		platform, err := credstore.LoadOrCreateKey(ctx, e.node.DB, e.node.Box, "sim.alipay.platform_key")
		if err != nil {
			t.Fatal(err)
		}
		merchant, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "alipay")
		if err != nil {
			t.Fatal(err)
		}
		otherMerchant, _ := e.node.Registry.SandboxMerchantID(ctx, other.AppID, "alipay")
		stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
		notice := func(mod func(v url.Values)) url.Values {
			v := url.Values{}
			for k, x := range map[string]string{"notify_time": time.Now().Format("2006-01-02 15:04:05"), "notify_type": "trade_status_sync",
				"notify_id": "n1", "app_id": merchant, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
				"trade_no": "2026000000001", "out_trade_no": id, "trade_status": "TRADE_SUCCESS", "total_amount": "1.00",
				"gmt_payment": time.Now().Format("2006-01-02 15:04:05")} {
				v.Set(k, x)
			}
			if mod != nil {
				mod(v)
			}
			return v
		}
		post := func(v url.Values) string {
			res, err := http.PostForm(e.node.URL+"/notify/alipay/"+e.app.AppID+"/test", v)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return string(body)
		}
		signed := func(mod func(v url.Values)) url.Values {
			v := notice(mod)
			alipaySign(t, platform, v)
			return v
		}
		tests := []struct {
			name    string
			form    url.Values
			reply   string
			outcome string
			paid    bool
		}{
			{"ErrForged", func() url.Values { v := notice(nil); alipaySign(t, stranger, v); return v }(), "fail", "rejected_signature", false},
			{"ErrTamperedAmount", func() url.Values { v := signed(nil); v.Set("total_amount", "0.01"); return v }(), "fail", "rejected_signature", false},
			{"ErrAmountMismatch", signed(func(v url.Values) { v.Set("total_amount", "0.01") }), "fail", "rejected_amount", false},
			{"ErrForeignMerchant", signed(func(v url.Values) { v.Set("app_id", otherMerchant) }), "fail", "rejected_foreign", false},
			{"OK", signed(nil), "success", "applied", true},
			{"OKReplay", signed(nil), "success", "duplicate", true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := post(tc.form); got != tc.reply {
					t.Fatalf("reply = %q, want %q", got, tc.reply)
				}
				var outcomes []string
				e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
					outcomes, err = tx.NotificationOutcomes(ctx, e.app.AppID)
					return
				})
				if len(outcomes) == 0 || !strings.HasPrefix(outcomes[len(outcomes)-1], tc.outcome) {
					t.Fatalf("recorded outcomes %v, want last %q", outcomes, tc.outcome)
				}
				ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
				if ch.JSON["paid"] != tc.paid {
					t.Fatalf("paid = %v, want %v", ch.JSON["paid"], tc.paid)
				}
			})
		}
		// Another app's notification URL cannot pay this app's charge.
		if got := func() string {
			v := signed(nil)
			res, err := http.PostForm(e.node.URL+"/notify/alipay/"+other.AppID+"/test", v)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return string(b)
		}(); got != "fail" {
			t.Fatalf("cross-app notification reply = %q, want fail", got)
		}
		evs := rc.waitEvents(t, 1)
		time.Sleep(200 * time.Millisecond)
		if len(rc.events) != 1 || evs[0]["type"] != "charge.succeeded" {
			t.Fatalf("events = %d, want exactly one charge.succeeded", len(rc.events))
		}
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

func TestExpiryClosesChargeAndTrade(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		body := e.chargeBody("EXP0001", 100)
		body["time_expire"] = time.Now().Unix() + 2
		r := e.do("POST", "/v1/charges", e.sk(), body)
		if r.Status != 200 {
			t.Fatalf("create: %s", r.Body)
		}
		id := r.str("id")
		time.Sleep(2100 * time.Millisecond)
		if _, err := e.node.Svc.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
		if ch.JSON["paid"] != false || string(mustJSON(ch.JSON["credential"])) != "{}" {
			t.Fatalf("after expiry: %s", ch.Body)
		}
		// The customer can no longer pay: the simulator's trade is closed too.
		if err := e.node.Sandbox.AlipaySim().Pay(ctx, mustMerchant(t, e), id, true); err == nil {
			t.Fatal("simulator accepted payment of a closed trade")
		}
		pay := e.do("POST", "/v1/test/charges/"+id+"/pay", e.sk(), `{"result":"success"}`)
		if pay.Status != 400 {
			t.Fatalf("test pay after expiry: %d %s", pay.Status, pay.Body)
		}
	})
}

func mustMerchant(t *testing.T, e *env) string {
	m, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "alipay")
	if err != nil {
		t.Fatal(err)
	}
	return m
}
