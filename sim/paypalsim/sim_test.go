package paypalsim

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/plutov/paypal/v4"
)

var ctx = context.Background()

const (
	clientID = "AQYRTESTMERCH01_sim"
	secret   = "Esecret-sim"
	merchID  = "QYRTESTMERCH1"
)

type fixture struct {
	sim   *Sim
	url   string
	api   *sdk.Client
	clock *clock
	hooks *hookSink
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hookSink is a webhook receiver that refuses the first `fail` deliveries.
type hookSink struct {
	mu     sync.Mutex
	fail   int
	got    []*http.Request
	bodies [][]byte
	srv    *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Now()}, hooks: &hookSink{}}
	f.sim = New(Options{Now: f.clock.now, Retry: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond},
		Merchant: func(id string) (*Merchant, bool) {
			if id != clientID {
				return nil, false
			}
			return &Merchant{ClientID: clientID, Secret: secret, MerchantID: merchID}, true
		}})
	srv := httptest.NewServer(f.sim)
	f.hooks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.hooks.mu.Lock()
		defer f.hooks.mu.Unlock()
		f.hooks.got, f.hooks.bodies = append(f.hooks.got, r), append(f.hooks.bodies, b)
		if f.hooks.fail > 0 {
			f.hooks.fail--
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(func() { f.sim.Close(); srv.Close(); f.hooks.srv.Close() })
	f.sim.SetURL(srv.URL)
	f.url = srv.URL
	api, err := sdk.NewClient(clientID, secret, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.api = api
	return f
}

// order creates an order with the merchant's SDK.
func (f *fixture) order(t *testing.T, ref, intent, value string) *sdk.Order {
	t.Helper()
	o, err := f.api.CreateOrderWithPaypalRequestID(ctx, intent, []sdk.PurchaseUnitRequest{{ReferenceID: ref, CustomID: ref, InvoiceID: ref,
		Amount: &sdk.PurchaseUnitAmount{Currency: "USD", Value: value}}}, nil, &sdk.ApplicationContext{ReturnURL: "https://shop.example/ok", CancelURL: "https://shop.example/no"}, "req-"+ref)
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	return o
}

func issueOf(err error) (int, string) {
	var er *sdk.ErrorResponse
	if errors.As(err, &er) {
		if len(er.Details) > 0 {
			return er.Response.StatusCode, er.Details[0].Issue
		}
		return er.Response.StatusCode, er.Name
	}
	return 0, ""
}

func TestOAuth(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, id, secret string
		status           int
	}{{"OK", clientID, secret, 200}, {"ErrWrongSecret", clientID, "nope", 401}, {"ErrUnknownClient", "AXXX", secret, 401}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := sdk.NewClient(tc.id, tc.secret, f.url)
			tok, err := c.GetAccessToken(ctx)
			if tc.status == 200 {
				if err != nil || tok.Token == "" || tok.ExpiresIn != 32400 {
					t.Fatalf("token = %+v, %v", tok, err)
				}
				return
			}
			var er *sdk.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != tc.status {
				t.Fatalf("err = %v, want HTTP %d", err, tc.status)
			}
		})
	}
	t.Run("ErrNoBearer", func(t *testing.T) {
		res, err := http.Get(f.url + "/v2/checkout/orders/X")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != 401 || body["name"] != "AUTHENTICATION_FAILURE" {
			t.Fatalf("%d %v", res.StatusCode, body)
		}
	})
}

func TestOrderLifecycle(t *testing.T) {
	f := newFixture(t)
	o := f.order(t, "ch_life", "CAPTURE", "10.00")
	if o.Status != "CREATED" || len(o.Links) < 2 {
		t.Fatalf("order = %+v", o)
	}
	t.Run("IdempotentCreate", func(t *testing.T) {
		again := f.order(t, "ch_life", "CAPTURE", "10.00")
		if again.ID != o.ID {
			t.Fatalf("repeat with the same PayPal-Request-Id made order %s, want %s", again.ID, o.ID)
		}
	})
	t.Run("ErrNotApproved", func(t *testing.T) {
		_, err := f.api.CaptureOrder(ctx, o.ID, sdk.CaptureOrderRequest{})
		if code, is := issueOf(err); code != 422 || is != "ORDER_NOT_APPROVED" {
			t.Fatalf("capture before approval: %v", err)
		}
	})
	if err := f.sim.Pay(ctx, merchID, "ch_life", true); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrWrongIntent", func(t *testing.T) {
		_, err := f.api.AuthorizeOrder(ctx, o.ID, sdk.AuthorizeOrderRequest{})
		if code, is := issueOf(err); code != 422 || is != "ACTION_DOES_NOT_MATCH_INTENT" {
			t.Fatalf("authorize of a CAPTURE order: %v", err)
		}
	})
	cap1, err := f.api.CaptureOrderWithPaypalRequestId(ctx, o.ID, sdk.CaptureOrderRequest{}, "cap-ch_life", nil)
	if err != nil || cap1.Status != "COMPLETED" || cap1.PurchaseUnits[0].Payments.Captures[0].Status != "COMPLETED" {
		t.Fatalf("capture = %+v, %v", cap1, err)
	}
	t.Run("CaptureReplayed", func(t *testing.T) {
		cap2, err := f.api.CaptureOrderWithPaypalRequestId(ctx, o.ID, sdk.CaptureOrderRequest{}, "cap-ch_life", nil)
		if err != nil || cap2.PurchaseUnits[0].Payments.Captures[0].ID != cap1.PurchaseUnits[0].Payments.Captures[0].ID {
			t.Fatalf("replayed capture = %+v, %v", cap2, err)
		}
	})
	t.Run("ErrCapturedTwice", func(t *testing.T) {
		_, err := f.api.CaptureOrder(ctx, o.ID, sdk.CaptureOrderRequest{})
		if code, is := issueOf(err); code != 422 || is != "ORDER_ALREADY_CAPTURED" {
			t.Fatalf("second capture: %v", err)
		}
	})
	capID := cap1.PurchaseUnits[0].Payments.Captures[0].ID
	t.Run("Refunds", func(t *testing.T) {
		r, err := f.api.RefundCaptureWithPaypalRequestId(ctx, capID, sdk.RefundCaptureRequest{Amount: &sdk.Money{Currency: "USD", Value: "4.00"}, InvoiceID: "rf1"}, "rf1")
		if err != nil || r.Status != "COMPLETED" {
			t.Fatalf("refund = %+v, %v", r, err)
		}
		_, err = f.api.RefundCapture(ctx, capID, sdk.RefundCaptureRequest{Amount: &sdk.Money{Currency: "USD", Value: "6.01"}})
		if code, is := issueOf(err); code != 422 || is != "REFUND_AMOUNT_EXCEEDED" {
			t.Fatalf("over-refund: %v", err)
		}
		_, err = f.api.RefundCapture(ctx, capID, sdk.RefundCaptureRequest{Amount: &sdk.Money{Currency: "USD", Value: "1.001"}})
		if code, is := issueOf(err); code != 422 || is != "DECIMAL_PRECISION" {
			t.Fatalf("three decimals: %v", err)
		}
		d, err := f.api.CapturedDetail(ctx, capID)
		if err != nil || d.Status != "PARTIALLY_REFUNDED" || d.SellerReceivableBreakdown.PaypalFee.Value != "0.84" {
			t.Fatalf("capture after refund = %+v, %v", d, err)
		}
	})
	t.Run("TransactionSearch", func(t *testing.T) {
		fields := "all"
		res, err := f.api.ListTransactions(ctx, &sdk.TransactionSearchRequest{StartDate: time.Now().Add(-time.Hour), EndDate: time.Now().Add(time.Hour), Fields: &fields})
		if err != nil || len(res.TransactionDetails) != 2 {
			t.Fatalf("search = %+v, %v", res, err)
		}
		pay, ref := res.TransactionDetails[0].TransactionInfo, res.TransactionDetails[1].TransactionInfo
		if pay.TransactionEventCode != "T0006" || pay.TransactionAmount.Value != "10.00" || pay.FeeAmount.Value != "-0.84" || pay.InvoiceID != "ch_life" {
			t.Fatalf("payment line = %+v", pay)
		}
		if ref.TransactionEventCode != "T1107" || ref.TransactionAmount.Value != "-4.00" || ref.InvoiceID != "rf1" || ref.PayPalReferenceID != capID {
			t.Fatalf("refund line = %+v", ref)
		}
		_, err = f.api.ListTransactions(ctx, &sdk.TransactionSearchRequest{StartDate: time.Now().AddDate(0, 0, -40), EndDate: time.Now()})
		if code, _ := issueOf(err); code != 400 {
			t.Fatalf("40-day range: %v", err)
		}
	})
}

func TestOrderExpires(t *testing.T) {
	f := newFixture(t)
	o := f.order(t, "ch_exp", "CAPTURE", "1.00")
	f.clock.add(OrderTTL + time.Minute)
	_, err := f.api.GetOrder(ctx, o.ID)
	if code, _ := issueOf(err); code != 404 {
		t.Fatalf("expired order: %v, want 404", err)
	}
	if err := f.sim.Pay(ctx, merchID, "ch_exp", true); err == nil {
		t.Fatal("an expired order was approved")
	}
}

func TestAuthorizations(t *testing.T) {
	f := newFixture(t)
	o := f.order(t, "ch_auth", "AUTHORIZE", "50.00")
	f.sim.Pay(ctx, merchID, "ch_auth", true)
	a, err := f.api.AuthorizeOrder(ctx, o.ID, sdk.AuthorizeOrderRequest{})
	if err != nil || a.Status != "COMPLETED" {
		t.Fatalf("authorize = %+v, %v", a, err)
	}
	full, _ := f.api.GetOrder(ctx, o.ID)
	raw, _ := json.Marshal(full)
	var view struct {
		PurchaseUnits []struct {
			Payments struct {
				Authorizations []struct{ ID, Status string }
			}
		} `json:"purchase_units"`
	}
	// The SDK's Order has no authorizations: read the raw order.
	req, _ := f.api.NewRequest(ctx, "GET", f.url+"/v2/checkout/orders/"+o.ID, nil)
	if err := f.api.SendWithAuth(req, &view); err != nil || len(view.PurchaseUnits[0].Payments.Authorizations) != 1 {
		t.Fatalf("order = %s, %v", raw, err)
	}
	authID := view.PurchaseUnits[0].Payments.Authorizations[0].ID
	c, err := f.api.CaptureAuthorization(ctx, authID, &sdk.PaymentCaptureRequest{Amount: &sdk.Money{Currency: "USD", Value: "20.00"}, FinalCapture: true})
	if err != nil || c.Status != "COMPLETED" || c.Amount.Value != "20.00" {
		t.Fatalf("capture = %+v, %v", c, err)
	}
	_, err = f.api.VoidAuthorization(ctx, authID)
	if code, is := issueOf(err); code != 422 || is != "PREVIOUSLY_CAPTURED" {
		t.Fatalf("void after capture: %v", err)
	}
	got, err := f.api.GetAuthorization(ctx, authID)
	if err != nil || got.Status != "CAPTURED" {
		t.Fatalf("authorization = %+v, %v", got, err)
	}
}

func TestWebhooksSignedAndRetried(t *testing.T) {
	f := newFixture(t)
	f.hooks.fail = 2
	wh, err := f.api.CreateWebhook(ctx, &sdk.CreateWebhookRequest{URL: f.hooks.srv.URL + "/notify", EventTypes: []sdk.WebhookEventType{{Name: "CHECKOUT.ORDER.APPROVED"}}})
	if err != nil || wh.ID == "" {
		t.Fatalf("create webhook = %+v, %v", wh, err)
	}
	_, err = f.api.CreateWebhook(ctx, &sdk.CreateWebhookRequest{URL: f.hooks.srv.URL + "/notify", EventTypes: []sdk.WebhookEventType{{Name: "*"}}})
	if code, is := issueOf(err); code != 400 || is != "WEBHOOK_URL_ALREADY_EXISTS" {
		t.Fatalf("duplicate webhook: %v", err)
	}
	f.order(t, "ch_hook", "CAPTURE", "2.00")
	if err := f.sim.Pay(ctx, merchID, "ch_hook", true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.sim.Notifications("ch_hook")) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ds := f.sim.Notifications("ch_hook")
	if len(ds) != 3 || ds[0].Acked || ds[1].Acked || !ds[2].Acked || ds[2].Attempt != 3 {
		t.Fatalf("deliveries = %+v, want two refused then one acknowledged", ds)
	}
	f.hooks.mu.Lock()
	r, body := f.hooks.got[2], f.hooks.bodies[2]
	f.hooks.mu.Unlock()

	verify := func(body []byte, mod func(h http.Header)) string {
		req, _ := http.NewRequest("POST", "/notify", strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		if mod != nil {
			mod(req.Header)
		}
		res, err := f.api.VerifyWebhookSignature(ctx, req, wh.ID)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return res.VerificationStatus
	}
	tests := []struct {
		name string
		body []byte
		mod  func(h http.Header)
		want string
	}{
		{"Genuine", body, nil, "SUCCESS"},
		{"ErrTamperedBody", []byte(strings.Replace(string(body), "2.00", "0.02", 1)), nil, "FAILURE"},
		{"ErrOtherTransmission", body, func(h http.Header) { h.Set("Paypal-Transmission-Id", "x") }, "FAILURE"},
		{"ErrForeignCert", body, func(h http.Header) { h.Set("Paypal-Cert-Url", "https://evil.example/cert") }, "FAILURE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verify(tc.body, tc.mod); got != tc.want {
				t.Fatalf("verification_status = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("OfflineWithCert", func(t *testing.T) {
		res, err := http.Get(r.Header.Get("Paypal-Cert-Url"))
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, _ := io.ReadAll(res.Body)
		res.Body.Close()
		block, _ := pem.Decode(pemBytes)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("Paypal-Transmission-Sig"))
		sum := sha256.Sum256(signed(r.Header.Get("Paypal-Transmission-Id"), r.Header.Get("Paypal-Transmission-Time"), wh.ID, body))
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("signature does not verify with the served certificate: %v", err)
		}
	})
}

func TestCheckoutPage(t *testing.T) {
	f := newFixture(t)
	o := f.order(t, "ch_page", "CAPTURE", "3.50")
	page, err := http.Get(f.url + "/checkoutnow?token=" + o.ID)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(html), "3.50 USD") {
		t.Fatalf("page: %d %s", page.StatusCode, html)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	submit := func(v url.Values) *http.Response {
		v.Set("token", o.ID)
		res, err := noRedirect.PostForm(f.url+"/checkoutnow", v)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := submit(url.Values{"email": {BuyerEmail}, "password": {"wrong"}, "action": {"approve"}}); res.StatusCode != 401 {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res := submit(url.Values{"email": {BuyerEmail}, "password": {BuyerPassword}, "action": {"approve"}})
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 303 || loc.Host != "shop.example" || loc.Query().Get("token") != o.ID || loc.Query().Get("PayerID") == "" {
		t.Fatalf("approve: %d %s", res.StatusCode, loc)
	}
	got, err := f.api.GetOrder(ctx, o.ID)
	if err != nil || got.Status != "APPROVED" || got.Payer.EmailAddress != BuyerEmail {
		t.Fatalf("order after approval = %+v, %v", got, err)
	}
}
