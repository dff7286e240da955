package paypal

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/paypalsim"
)

func TestAmounts(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		want     string
	}{
		{"USD", 1005, "usd", "10.05"},
		{"USDCents", 7, "USD", "0.07"},
		{"JPYNoDecimals", 1000, "jpy", "1000"},
		{"HUF", 250, "huf", "250"},
		{"EURWhole", 100, "eur", "1.00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatAmount(tc.minor, tc.currency)
			if err != nil || got != tc.want {
				t.Fatalf("FormatAmount = %q, %v; want %q", got, err, tc.want)
			}
			back, err := ParseAmount(got, strings.ToUpper(tc.currency))
			if err != nil || back != tc.minor {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d", got, back, err, tc.minor)
			}
		})
	}
	bad := []struct{ name, value, currency string }{
		{"ErrTooManyDecimals", "1.005", "USD"}, {"ErrJPYDecimals", "10.5", "JPY"}, {"ErrEmpty", "", "USD"},
		{"ErrLetters", "1e3", "USD"}, {"ErrUnknownCurrency", "1.00", "XXX"}, {"ErrDotOnly", "1.", "USD"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if n, err := ParseAmount(tc.value, tc.currency); err == nil {
				t.Fatalf("ParseAmount(%q, %s) = %d, want an error", tc.value, tc.currency, n)
			}
		})
	}
	if _, err := FormatAmount(100, "xxx"); polypay.ErrorCode(err) != polypay.EInvalid {
		t.Fatalf("unsupported currency: %v, want EInvalid", err)
	}
}

func TestCreateChargeIsIdempotent(t *testing.T) {
	e := setup(t)
	c := charge(1234, "usd")
	e.create(t, c, false)
	first := string(c.Credential)
	if !strings.Contains(first, "/checkoutnow?token=") {
		t.Fatalf("credential = %s, want the approval URL", first)
	}
	e.create(t, c, false)
	if string(c.Credential) != first {
		t.Fatalf("second create = %s, want the same order %s", c.Credential, first)
	}
	tr, err := e.client.QueryCharge(ctx, c)
	if err != nil || tr.State != polypay.TradePending {
		t.Fatalf("QueryCharge = %+v, %v; want pending", tr, err)
	}
}

func TestPaidThroughWebhook(t *testing.T) {
	e := setup(t)
	c := charge(1999, "usd")
	e.create(t, c, false)
	if err := e.sim.Pay(ctx, testMerchant, c.ID, true); err != nil {
		t.Fatal(err)
	}
	// CHECKOUT.ORDER.APPROVED: the connector captures and reports paid.
	n := e.nextKind(t, c.ID, polypay.NotifyTrade)
	if n.Trade.State != polypay.TradePaid || n.Trade.Amount != 1999 || n.Trade.OutTradeNo != c.ID || n.MerchantID != testMerchant || n.Trade.TransactionNo == "" {
		t.Fatalf("approval notification = %+v", n)
	}
	// PAYMENT.CAPTURE.COMPLETED follows and agrees.
	n2 := e.nextKind(t, c.ID, polypay.NotifyTrade)
	if n2.Trade.State != polypay.TradePaid || n2.Trade.TransactionNo != n.Trade.TransactionNo {
		t.Fatalf("capture notification = %+v, want the same capture", n2.Trade)
	}
	// Querying again neither fails nor captures twice.
	tr, err := e.client.QueryCharge(ctx, c)
	if err != nil || tr.State != polypay.TradePaid || tr.TransactionNo != n.Trade.TransactionNo {
		t.Fatalf("QueryCharge = %+v, %v", tr, err)
	}
}

func TestPaidByQueryWhenWebhookDropped(t *testing.T) {
	e := setup(t)
	c := charge(500, "jpy")
	// No notify URL: no webhook is registered, nothing is sent.
	cred, err := e.client.CreateCharge(ctx, polypay.ChannelRequest{Charge: c})
	if err != nil {
		t.Fatal(err)
	}
	c.Credential = cred
	if err := e.sim.Pay(ctx, testMerchant, c.ID, true); err != nil {
		t.Fatal(err)
	}
	tr, err := e.client.QueryCharge(ctx, c)
	if err != nil || tr.State != polypay.TradePaid || tr.Amount != 500 {
		t.Fatalf("QueryCharge = %+v, %v; want paid 500 JPY", tr, err)
	}
}

func TestDeclinedFunding(t *testing.T) {
	e := setup(t)
	c := charge(800, "usd")
	e.create(t, c, false)
	if err := e.sim.PayAs(ctx, testMerchant, c.ID, paypalsim.DeclinedEmail); err != nil {
		t.Fatal(err)
	}
	n := e.nextKind(t, c.ID, polypay.NotifyTrade)
	if n.Trade.State != polypay.TradeFailed || n.Trade.FailureCode == "" {
		t.Fatalf("trade = %+v, want failed", n.Trade)
	}
	tr, err := e.client.QueryCharge(ctx, c)
	if err != nil || tr.State != polypay.TradeFailed {
		t.Fatalf("QueryCharge = %+v, %v; want failed", tr, err)
	}
}

func TestCloseCharge(t *testing.T) {
	e := setup(t)
	t.Run("UnapprovedThenApproved", func(t *testing.T) {
		c := charge(300, "usd")
		e.create(t, c, false)
		if err := e.client.CloseCharge(ctx, c); err != nil {
			t.Fatalf("CloseCharge: %v", err)
		}
		if err := e.client.CloseCharge(ctx, c); err != nil {
			t.Fatalf("CloseCharge again: %v", err)
		}
		// The buyer approves anyway: the connector must not capture.
		if err := e.sim.Pay(ctx, testMerchant, c.ID, true); err != nil {
			t.Fatal(err)
		}
		n := e.nextKind(t, c.ID, polypay.NotifyTrade)
		if n.Trade.State != polypay.TradeClosed {
			t.Fatalf("approval after close = %+v, want closed", n.Trade)
		}
		tr, err := e.client.QueryCharge(ctx, c)
		if err != nil || tr.State != polypay.TradeClosed {
			t.Fatalf("QueryCharge = %+v, %v; want closed", tr, err)
		}
		if _, err := e.client.Refund(ctx, c, &polypay.Refund{OrderNo: "r" + c.ID[3:], Amount: 300, Currency: "usd"}, ""); err == nil {
			t.Fatal("refund of a closed, never captured order succeeded")
		}
	})
	t.Run("ErrPaid", func(t *testing.T) {
		c := charge(300, "usd")
		e.create(t, c, false)
		e.sim.Pay(ctx, testMerchant, c.ID, true)
		e.nextKind(t, c.ID, polypay.NotifyTrade)
		if err := e.client.CloseCharge(ctx, c); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("CloseCharge of a paid order = %v, want EChannel", err)
		}
	})
	t.Run("NoOrder", func(t *testing.T) {
		if err := e.client.CloseCharge(ctx, charge(1, "usd")); err != nil {
			t.Fatalf("CloseCharge without order = %v", err)
		}
		tr, err := e.client.QueryCharge(ctx, &polypay.Charge{ID: "ch_x", Credential: []byte(`"` + e.api + `/checkoutnow?token=NOSUCHORDER00000"`)})
		if err != nil || tr.State != polypay.TradeNotFound {
			t.Fatalf("QueryCharge of unknown order = %+v, %v", tr, err)
		}
	})
}

func TestRefunds(t *testing.T) {
	e := setup(t)
	c := charge(1000, "usd")
	e.create(t, c, false)
	e.sim.Pay(ctx, testMerchant, c.ID, true)
	paid := e.nextKind(t, c.ID, polypay.NotifyTrade)
	c.TransactionNo = paid.Trade.TransactionNo

	r1 := &polypay.Refund{OrderNo: "rf1" + c.ID[3:20], Amount: 300, Currency: "usd", Description: "part"}
	res, err := e.client.Refund(ctx, c, r1, "")
	if err != nil || res.Status != polypay.RefundSucceeded || res.Amount != 300 || res.TransactionNo == "" {
		t.Fatalf("Refund = %+v, %v", res, err)
	}
	again, err := e.client.Refund(ctx, c, r1, "")
	if err != nil || again.TransactionNo != res.TransactionNo {
		t.Fatalf("repeated Refund = %+v, %v; want refund %s again", again, err, res.TransactionNo)
	}
	n := e.nextKind(t, c.ID, polypay.NotifyRefund)
	if n.RefundNo != r1.OrderNo || n.RefundAmount != 300 || n.Trade.OutTradeNo != c.ID || n.RefundStatus != polypay.RefundSucceeded {
		t.Fatalf("refund notification = %+v", n)
	}
	tests := []struct {
		name   string
		refund *polypay.Refund
		status polypay.RefundStatus
		code   string
	}{
		{"ErrExceeded", &polypay.Refund{OrderNo: "rf2" + c.ID[3:20], Amount: 701, Currency: "usd"}, polypay.RefundFailed, "REFUND_AMOUNT_EXCEEDED"},
		{"Rest", &polypay.Refund{OrderNo: "rf3" + c.ID[3:20], Amount: 700, Currency: "usd"}, polypay.RefundSucceeded, ""},
		{"ErrFullyRefunded", &polypay.Refund{OrderNo: "rf4" + c.ID[3:20], Amount: 1, Currency: "usd"}, polypay.RefundFailed, "CAPTURE_FULLY_REFUNDED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.client.Refund(ctx, c, tc.refund, "")
			if err != nil || res.Status != tc.status || res.FailureCode != tc.code {
				t.Fatalf("Refund = %+v, %v; want %s %s", res, err, tc.status, tc.code)
			}
		})
	}
	t.Run("QueryByTransactionNo", func(t *testing.T) {
		q, err := e.client.QueryRefund(ctx, c, &polypay.Refund{OrderNo: r1.OrderNo, TransactionNo: res.TransactionNo, Currency: "usd"})
		if err != nil || q.Status != polypay.RefundSucceeded || q.Amount != 300 {
			t.Fatalf("QueryRefund = %+v, %v", q, err)
		}
	})
	t.Run("QueryByOrderNo", func(t *testing.T) {
		q, err := e.client.QueryRefund(ctx, c, &polypay.Refund{OrderNo: r1.OrderNo, Currency: "usd"})
		if err != nil || q.Status != polypay.RefundSucceeded || q.TransactionNo != res.TransactionNo {
			t.Fatalf("QueryRefund = %+v, %v", q, err)
		}
	})
	t.Run("QueryUnknownStaysPending", func(t *testing.T) {
		q, err := e.client.QueryRefund(ctx, c, &polypay.Refund{OrderNo: "never-sent", Currency: "usd"})
		if err != nil || q.Status != polypay.RefundPending {
			t.Fatalf("QueryRefund = %+v, %v", q, err)
		}
	})
	t.Run("Statement", func(t *testing.T) {
		lines, err := e.client.Statement(ctx, time.Now().UTC().Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		var pay, refunds int64
		for _, l := range lines {
			if l.OutTradeNo != c.ID {
				continue
			}
			switch l.Kind {
			case polypay.StatementPayment:
				pay += l.Amount
				// 3.49% of 10.00 plus 0.49, rounded: 0.84.
				if l.Fee != 84 || l.TransactionNo != c.TransactionNo || l.Currency != "usd" {
					t.Errorf("payment line = %+v", l)
				}
			case polypay.StatementRefund:
				refunds += l.Amount
				if l.RefundNo == "" {
					t.Errorf("refund line without refund no: %+v", l)
				}
			}
		}
		if pay != 1000 || refunds != 1000 {
			t.Fatalf("statement: paid %d refunded %d, want 1000 and 1000 (%+v)", pay, refunds, lines)
		}
	})
}

func TestAuthorizeCaptureVoid(t *testing.T) {
	e := setup(t)
	authorized := func(t *testing.T, amount int64) *polypay.Charge {
		c := charge(amount, "usd")
		e.create(t, c, true)
		if err := e.sim.Pay(ctx, testMerchant, c.ID, true); err != nil {
			t.Fatal(err)
		}
		n := e.nextKind(t, c.ID, polypay.NotifyTrade)
		if n.Trade.State != polypay.TradeAuthorized || n.Trade.AmountAuthorized != amount {
			t.Fatalf("approval of an AUTHORIZE order = %+v, want authorized %d", n.Trade, amount)
		}
		return c
	}
	t.Run("CaptureTwice", func(t *testing.T) {
		c := authorized(t, 2500)
		tr, err := e.client.Capture(ctx, c, 0)
		if err != nil || tr.State != polypay.TradePaid || tr.Amount != 2500 {
			t.Fatalf("Capture = %+v, %v", tr, err)
		}
		again, err := e.client.Capture(ctx, c, 0)
		if err != nil || again.TransactionNo != tr.TransactionNo {
			t.Fatalf("second Capture = %+v, %v; want capture %s", again, err, tr.TransactionNo)
		}
		if err := e.client.Void(ctx, c); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("Void after capture = %v, want EChannel", err)
		}
		q, err := e.client.QueryCharge(ctx, c)
		if err != nil || q.State != polypay.TradePaid {
			t.Fatalf("QueryCharge = %+v, %v", q, err)
		}
	})
	t.Run("PartialCapture", func(t *testing.T) {
		c := authorized(t, 2500)
		tr, err := e.client.Capture(ctx, c, 1000)
		if err != nil || tr.State != polypay.TradePaid || tr.Amount != 1000 {
			t.Fatalf("Capture(1000) = %+v, %v", tr, err)
		}
	})
	t.Run("VoidTwiceThenCapture", func(t *testing.T) {
		c := authorized(t, 700)
		if err := e.client.Void(ctx, c); err != nil {
			t.Fatalf("Void: %v", err)
		}
		if err := e.client.Void(ctx, c); err != nil {
			t.Fatalf("second Void: %v", err)
		}
		if _, err := e.client.Capture(ctx, c, 0); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("Capture after void = %v, want EChannel", err)
		}
		q, err := e.client.QueryCharge(ctx, c)
		if err != nil || q.State != polypay.TradeClosed {
			t.Fatalf("QueryCharge = %+v, %v; want closed", q, err)
		}
	})
	t.Run("ErrNotApproved", func(t *testing.T) {
		c := charge(100, "usd")
		e.create(t, c, true)
		if _, err := e.client.Capture(ctx, c, 0); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("Capture of an unapproved order = %v, want EChannel", err)
		}
	})
}

func TestBadCredentials(t *testing.T) {
	e := setup(t)
	c := newClient(t, e.api, "Ewrongsecret0123456789")
	_, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: charge(100, "usd")})
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != "AUTHENTICATION_FAILURE" {
		t.Fatalf("CreateCharge with a wrong secret = %v, want EChannel AUTHENTICATION_FAILURE", err)
	}
	if strings.Contains(err.Error(), "Ewrongsecret") {
		t.Fatal("the error shows the secret")
	}
}

func TestForgedNotifications(t *testing.T) {
	e := setup(t)
	c := charge(1000, "usd")
	e.create(t, c, false) // registers the webhook
	body := []byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{"id":"CAP1","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"custom_id":"` + c.ID + `"}}`)
	headers := map[string]string{"PAYPAL-TRANSMISSION-ID": "8f5a3c40-0000-4000-8000-000000000000", "PAYPAL-TRANSMISSION-TIME": time.Now().UTC().Format(time.RFC3339),
		"PAYPAL-TRANSMISSION-SIG": "bm90IGEgc2lnbmF0dXJl", "PAYPAL-CERT-URL": e.api + "/v1/notifications/certs/CERT-x", "PAYPAL-AUTH-ALGO": "SHA256withRSA"}
	tests := []struct {
		name string
		drop string
	}{{"ErrBadSignature", ""}, {"ErrMissingSignature", "PAYPAL-TRANSMISSION-SIG"}, {"ErrMissingCertURL", "PAYPAL-CERT-URL"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", e.notify, strings.NewReader(string(body)))
			for k, v := range headers {
				if k != tc.drop {
					r.Header.Set(k, v)
				}
			}
			n, err := e.client.ParseNotification(ctx, polypay.NewNotifyRequest(r, body))
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("ParseNotification = %+v, %v; want ErrBadSignature", n, err)
			}
		})
	}
}
