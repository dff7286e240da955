package alipaysim_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-pay/gopay"
	gopayalipay "github.com/go-pay/gopay/alipay"
	"github.com/go-pay/gopay/pkg/xhttp"
)

// toGateway sends every request to gateway whatever URL the client built:
// gopay hard-codes openapi.alipay.com/gateway.do?charset=utf-8.
type toGateway struct{ gateway *url.URL }

func (g toGateway) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.URL.Path = g.gateway.Scheme, g.gateway.Host, g.gateway.Path
	r.Host = g.gateway.Host
	return http.DefaultTransport.RoundTrip(r)
}

// newGopay is gopay's Alipay client for the test merchant, verifying
// responses with the sim's platform key and talking to gateway.
func newGopay(t *testing.T, gateway string) *gopayalipay.Client {
	t.Helper()
	// gopay takes keys the way Alipay's console shows them: bare base64.
	key := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(merchantKey))
	c, err := gopayalipay.NewClient(appID, key, true)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&platformKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c.AutoVerifySign(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	u, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	c.SetHttpClient(xhttp.NewClient().SetTransport(toGateway{u}))
	return c
}

// TestGopayAgrees runs go-pay/gopay, an Alipay SDK written independently of
// smartwalle/alipay, against the sim: its requests must verify, and the
// sim's signed responses must pass gopay's text-search verification.
func TestGopayAgrees(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	c := newGopay(t, e.gateway)
	c.SetNotifyUrl(rc.srv.URL)
	ctx := context.Background()

	pre, err := c.TradePrecreate(ctx, gopay.BodyMap{"out_trade_no": "gp1", "total_amount": "10.01", "subject": "gopay 测试"})
	if err != nil {
		t.Fatalf("TradePrecreate: %v", err)
	}
	if pre.Response.Code != "10000" || !strings.HasPrefix(pre.Response.QrCode, "https://qr.alipay.com/") || pre.SignData == "" {
		t.Fatalf("precreate: %+v", pre.Response)
	}
	mustPay(t, e, "gp1")

	q, err := c.TradeQuery(ctx, gopay.BodyMap{"out_trade_no": "gp1"})
	if err != nil {
		t.Fatalf("TradeQuery: %v", err)
	}
	if q.Response.TradeStatus != "TRADE_SUCCESS" || q.Response.TotalAmount != "10.01" {
		t.Fatalf("query: %+v", q.Response)
	}

	rf, err := c.TradeRefund(ctx, gopay.BodyMap{"out_trade_no": "gp1", "refund_amount": "10.01", "out_request_no": "gpr1"})
	if err != nil {
		t.Fatalf("TradeRefund: %v", err)
	}
	if rf.Response.FundChange != "Y" || rf.Response.RefundFee != "10.01" || rf.Response.TradeNo != q.Response.TradeNo {
		t.Fatalf("refund: %+v", rf.Response)
	}

	// gopay's notification verifier accepts the sim's notifications.
	waitFor(t, "the refund notification", func() bool { return len(rc.received()) == 2 })
	pub := barePublic()
	for i, v := range rc.received() {
		bm := gopay.BodyMap{}
		for k := range v {
			bm.Set(k, v.Get(k))
		}
		if ok, err := gopayalipay.VerifySign(pub, bm); !ok || err != nil {
			t.Fatalf("gopay rejects notification %d: %v (%v)", i, err, v)
		}
	}

	// gopay's app order string is accepted by PayOrderString.
	order, err := c.TradeAppPay(ctx, gopay.BodyMap{"out_trade_no": "gp2", "total_amount": "0.50", "subject": "App"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PayOrderString(ctx, order, true); err != nil {
		t.Fatalf("PayOrderString(gopay order): %v", err)
	}
	if got := e.status(t, "gp2"); got != "TRADE_SUCCESS" {
		t.Fatalf("gp2 trade_status = %s", got)
	}
}

// TestGopayRejectsForgery shows the agreement above is not vacuous: a
// response altered after signing fails gopay's verification.
func TestGopayRejectsForgery(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "gf1", "10.01", "")
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(e.gateway, r.Header.Get("Content-Type"), strings.NewReader(string(body)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_, _ = w.Write([]byte(strings.Replace(string(b), `"WAIT_BUYER_PAY"`, `"TRADE_SUCCESS"`, 1)))
	}))
	t.Cleanup(forger.Close)
	c := newGopay(t, forger.URL+"/gateway.do")
	q, err := c.TradeQuery(context.Background(), gopay.BodyMap{"out_trade_no": "gf1"})
	if !errors.Is(err, gopay.VerifySignatureErr) {
		t.Fatalf("TradeQuery of a forged answer: %v (%+v), want VerifySignatureErr", err, q)
	}
}

// barePublic is the platform public key as Alipay's console shows it.
func barePublic() string {
	der, err := x509.MarshalPKIXPublicKey(&platformKey.PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}
