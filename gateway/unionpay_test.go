package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sim/unionpaysim"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

func TestUnionPayChannels(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	events := 0
	for i, ch := range unionpay.Channels {
		t.Run(ch, func(t *testing.T) {
			body := e.chargeBody(fmt.Sprintf("UPACP%04d", i), 1000)
			body["channel"] = ch
			switch ch {
			case unionpay.ChannelWap, unionpay.ChannelPC:
				body["extra"] = map[string]any{"result_url": "https://merchant.example/result"}
			case unionpay.ChannelScan: // a code whose customer confirms in the app: the sandbox's pay plays it
				body["extra"] = map[string]any{"scan_code": unionpaysim.NewPaymentCode(unionpaysim.CodeConfirms), "terminal_id": "POS00001"}
			}
			r := e.do("POST", "/v1/charges", e.sk(), body)
			if r.Status != 200 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			id := r.str("id")
			cred, _ := r.JSON["credential"].(map[string]any)[ch].(map[string]any)
			switch ch {
			case unionpay.ChannelScan:
				if cred["orderId"] == nil || cred["respCode"] != "00" {
					t.Fatalf("scan credential = %v", cred)
				}
			case unionpay.ChannelWap, unionpay.ChannelPC:
				if cred["signature"] == "" || cred["frontUrl"] != "https://merchant.example/result" || !strings.HasSuffix(fmt.Sprint(cred["channel_url"]), unionpay.PathFront) {
					t.Fatalf("form credential = %v", cred)
				}
			default:
				if cred["tn"] == nil || cred["mode"] != "01" {
					t.Fatalf("credential = %v", cred)
				}
				if ch == unionpay.ChannelApplePay && cred["merchant_id"] == nil {
					t.Fatalf("applepay credential without merchant_id: %v", cred)
				}
			}
			paid := e.pay(id)
			if paid.JSON["paid"] != true || paid.str("transaction_no") == "" {
				t.Fatalf("after pay: %s", paid.Body)
			}
			events++
			evs := rc.waitEvents(t, events)
			if last := evs[len(evs)-1]; last["type"] != "charge.succeeded" {
				t.Fatalf("event = %v", last)
			}
			for _, tc := range []struct {
				name, body string
				amount     int64
			}{{"Partial", `{"amount":300,"description":"part"}`, 300}, {"Rest", `{"description":"rest"}`, 700}} {
				r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), tc.body)
				if r.Status != 200 || r.num("amount") != tc.amount || r.str("status") != "succeeded" {
					t.Fatalf("refund %s: %d %s", tc.name, r.Status, r.Body)
				}
				events++
			}
			if got := e.do("GET", "/v1/charges/"+id, e.sk(), nil); got.num("amount_refunded") != 1000 {
				t.Fatalf("charge after refunds: %s", got.Body)
			}
		})
	}
	rc.waitEvents(t, events)
	if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", probs, err)
	}
}

func TestUnionPayNotificationsCannotBeForged(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	body := e.chargeBody("UPFORGE01", 500)
	body["channel"] = unionpay.ChannelApp
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id := r.str("id")
	orderID, _ := unionpay.OrderID(id)
	merID, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "upacp")
	if err != nil {
		t.Fatal(err)
	}
	simKey, err := credstore.LoadOrCreateKey(ctx, e.node.DB, e.node.Box, "sim.unionpay.sign_key")
	if err != nil {
		t.Fatal(err)
	}
	simCert := e.node.Sandbox.UnionPaySim().SignCertPEM()
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: unionpaysim.SignCertCN},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &stranger.PublicKey, stranger)
	strangerCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	notice := func(key *rsa.PrivateKey, cert string, mod func(map[string]string)) url.Values {
		v := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0",
			"bizType": "000201", "txnType": "01", "txnSubType": "01", "merId": merID, "orderId": orderID,
			"txnTime": unionpay.TxnTime(time.Now().Unix()), "txnAmt": "500", "currencyCode": "156", "queryId": "912345678901234567890",
			"traceTime": time.Now().In(time.FixedZone("CST", 8*3600)).Format("0102150405"), "respCode": "00", "respMsg": "Success!",
			"signPubKeyCert": cert}
		if err := unionpay.Sign(key, v); err != nil {
			t.Fatal(err)
		}
		if mod != nil {
			mod(v)
		}
		f := url.Values{}
		for k, x := range v {
			f.Set(k, x)
		}
		return f
	}
	post := func(v url.Values) (int, string) {
		res, err := http.PostForm(e.node.URL+"/notify/upacp/"+e.app.AppID+"/test", v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	tests := []struct {
		name    string
		form    url.Values
		status  int
		outcome string
		paid    bool
	}{
		{"ErrSelfSignedUnionPayCN", notice(stranger, strangerCert, nil), 500, "rejected_signature", false},
		{"ErrStrangerKeySimCert", notice(stranger, simCert, nil), 500, "rejected_signature", false},
		{"ErrTamperedAmount", notice(simKey, simCert, func(v map[string]string) { v["txnAmt"] = "1" }), 500, "rejected_signature", false},
		{"ErrAmountMismatch", notice(simKey, simCert, func(v map[string]string) {
			v["txnAmt"] = "1"
			unionpay.Sign(simKey, v)
		}), 500, "rejected_amount", false},
		{"OK", notice(simKey, simCert, nil), 200, "applied", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, reply := post(tc.form); st != tc.status {
				t.Fatalf("reply = %d %q, want %d", st, reply, tc.status)
			}
			var outcomes []string
			e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
				outcomes, err = tx.NotificationOutcomes(ctx, e.app.AppID)
				return
			})
			if len(outcomes) == 0 || !strings.HasPrefix(outcomes[len(outcomes)-1], tc.outcome) {
				t.Fatalf("outcomes %v, want last %q", outcomes, tc.outcome)
			}
			if ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil); ch.JSON["paid"] != tc.paid {
				t.Fatalf("paid = %v, want %v", ch.JSON["paid"], tc.paid)
			}
		})
	}
	_ = json.Marshal
}
