package stripe_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

func TestCreateCharge(t *testing.T) {
	e := newEnv(t, nil)
	notify := e.notify.srv.URL
	tests := []struct {
		name      string
		number    string
		threeDS   polypay.ThreeDSMode
		code      string // challenge code; "" = no challenge expected
		wantState polypay.TradeState
		wantFlow  string // "" = no 3DS
		wantAuth  bool
		wantFail  string
	}{
		{"OKFrictionless", "4242424242424242", polypay.ThreeDSAutomatic, "", polypay.TradePaid, "frictionless", true, ""},
		{"OKNo3DS", "378282246310005", polypay.ThreeDSAutomatic, "", polypay.TradePaid, "", false, ""},
		{"OKRequiredChallenge", "4242424242424242", polypay.ThreeDSRequired, stripesim.ChallengeCode, polypay.TradePaid, "challenge", true, ""},
		{"OKChallenge3220", "4000000000003220", "", stripesim.ChallengeCode, polypay.TradePaid, "challenge", true, ""},
		{"OKChallenge3155", "4000002500003155", "", stripesim.ChallengeCode, polypay.TradePaid, "challenge", true, ""},
		{"ErrWrongCode", "4000000000003063", "", "000000", polypay.TradeFailed, "", false, "payment_intent_authentication_failure"},
		{"ErrDeclinedAfterAuth", "4000008260003178", "", stripesim.ChallengeCode, polypay.TradeFailed, "challenge", true, "insufficient_funds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCharge(2000)
			req := cardReq(c, tc.number, notify)
			req.ThreeDS = tc.threeDS
			cr := e.create(c, req)
			if tc.code == "" {
				if cr.Status != "succeeded" || cr.NextAction != nil {
					t.Fatalf("credential = %+v, want succeeded without next_action", cr)
				}
			} else {
				if cr.Status != "requires_action" || cr.NextAction.Type != "redirect_to_url" || cr.NextAction.RedirectToURL.ReturnURL != "https://merchant.example/return" {
					t.Fatalf("credential = %+v, want requires_action redirect", cr)
				}
				if st := e.query(c).State; st != polypay.TradePending {
					t.Fatalf("state before challenge = %s, want pending", st)
				}
				loc := e.challenge(cr, tc.code)
				wantRedirect := "redirect_status=succeeded"
				if tc.wantState == polypay.TradeFailed {
					wantRedirect = "redirect_status=failed"
				}
				if !strings.HasPrefix(loc, "https://merchant.example/return?") || !strings.Contains(loc, wantRedirect) || !strings.Contains(loc, "payment_intent="+cr.ID) {
					t.Fatalf("redirect = %s, want return_url with %s", loc, wantRedirect)
				}
			}
			tr := e.query(c)
			if tr.State != tc.wantState || tr.OutTradeNo != c.ID || tr.TransactionNo != cr.ID {
				t.Fatalf("trade = %+v, want %s", tr, tc.wantState)
			}
			if tc.wantState == polypay.TradePaid && (tr.Amount != 2000 || tr.PaidAt == 0) {
				t.Errorf("paid trade = %+v, want amount 2000 and a time", tr)
			}
			if tr.FailureCode != tc.wantFail {
				t.Errorf("failure code = %q, want %q", tr.FailureCode, tc.wantFail)
			}
			if tc.wantFlow == "" && tc.wantState == polypay.TradePaid && tr.ThreeDS != nil {
				t.Errorf("3DS = %+v, want none", tr.ThreeDS)
			}
			if tc.wantFlow != "" && (tr.ThreeDS == nil || tr.ThreeDS.Flow != tc.wantFlow || tr.ThreeDS.Authenticated != tc.wantAuth || tr.ThreeDS.LiabilityShift != tc.wantAuth) {
				t.Errorf("3DS = %+v, want flow %s authenticated %v", tr.ThreeDS, tc.wantFlow, tc.wantAuth)
			}
			// The webhook says the same.
			wantEvent := map[polypay.TradeState]polypay.TradeState{polypay.TradePaid: polypay.TradePaid, polypay.TradeFailed: polypay.TradeFailed}[tc.wantState]
			n := e.notify.waitFor(t, string(wantEvent), func(n *polypay.Notification) bool {
				return n.Trade.OutTradeNo == c.ID && n.Trade.State == wantEvent
			})
			if n.MerchantID != e.acct.ID || n.Kind != polypay.NotifyTrade {
				t.Errorf("notification = %+v, want merchant %s", n, e.acct.ID)
			}
		})
	}
}

func TestDeclines(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct{ name, number, code string }{
		{"GenericDecline", "4000000000000002", "generic_decline"},
		{"InsufficientFunds", "4000000000009995", "insufficient_funds"},
		{"LostCard", "4000000000009987", "lost_card"},
		{"StolenCard", "4000000000009979", "stolen_card"},
		{"ExpiredCard", "4000000000000069", "expired_card"},
		{"IncorrectCVC", "4000000000000127", "incorrect_cvc"},
		{"ProcessingError", "4000000000000119", "processing_error"},
		{"IncorrectNumber", "4242424242424241", "incorrect_number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCharge(1500)
			_, err := e.card.CreateCharge(ctx, cardReq(c, tc.number, e.notify.srv.URL))
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != tc.code {
				t.Fatalf("err = %v, want EChannel %s", err, tc.code)
			}
			if strings.Contains(err.Error(), tc.number) || strings.Contains(pe.Message, tc.number[:12]) {
				t.Fatalf("error shows the card number: %v", err)
			}
			// Repeating the create replays the stored decline.
			_, err2 := e.card.CreateCharge(ctx, cardReq(c, tc.number, e.notify.srv.URL))
			if !errors.As(err2, &pe) || pe.ChannelCode != tc.code {
				t.Fatalf("repeat err = %v, want the same decline", err2)
			}
			if tc.code == "incorrect_number" {
				return // no PaymentIntent was made
			}
			tr := e.query(c)
			if tr.State != polypay.TradeFailed || tr.FailureCode != tc.code {
				t.Fatalf("trade = %+v, want failed %s", tr, tc.code)
			}
		})
	}
}

func TestProcessorFailuresAreRetryable(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ name, number string }{{"APIError500", stripesim.CardProcessorError}, {"Timeout", stripesim.CardSlow}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCharge(1000)
			start := time.Now()
			_, err := e.card.CreateCharge(ctx, cardReq(c, tc.number, e.notify.srv.URL))
			var pe *polypay.Error
			if err == nil || errors.As(err, &pe) {
				t.Fatalf("err = %v, want a plain (retryable) error", err)
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
	t.Run("SlowCompletesAndIsFoundBySearch", func(t *testing.T) {
		c := newCharge(1000)
		if _, err := e.card.CreateCharge(ctx, cardReq(c, stripesim.CardSlow, e.notify.srv.URL)); err == nil {
			t.Fatal("want a timeout")
		}
		time.Sleep(700 * time.Millisecond) // the sim finishes the payment
		c.Credential = nil                 // the answer was lost
		if tr := e.query(c); tr.State != polypay.TradePaid {
			t.Fatalf("trade = %+v, want paid (found by metadata[charge_id])", tr)
		}
		// A repeated create replays the stored result.
		cr := e.create(c, cardReq(c, stripesim.CardSlow, e.notify.srv.URL))
		if cr.Status != "succeeded" {
			t.Fatalf("replayed credential = %+v", cr)
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(1234)
	a := e.create(c, cardReq(c, "4242424242424242", e.notify.srv.URL))
	b := e.create(c, cardReq(c, "4242424242424242", e.notify.srv.URL))
	if a.ID != b.ID || a.ID == "" {
		t.Fatalf("two creates gave %s and %s, want one PaymentIntent", a.ID, b.ID)
	}
	// Another card for the same charge is refused, never a second payment.
	_, err := e.card.CreateCharge(ctx, cardReq(c, "5555555555554444", e.notify.srv.URL))
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EChannel {
		t.Fatalf("err = %v, want an EChannel idempotency error", err)
	}
}

func TestAuthorizeCaptureVoid(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(5000)
	req := cardReq(c, "4242424242424242", e.notify.srv.URL)
	req.AuthorizeOnly = true
	if cr := e.create(c, req); cr.Status != "requires_capture" {
		t.Fatalf("credential = %+v", cr)
	}
	if tr := e.query(c); tr.State != polypay.TradeAuthorized || tr.AmountAuthorized != 5000 {
		t.Fatalf("trade = %+v, want authorized 5000", tr)
	}
	e.notify.waitFor(t, "authorized", func(n *polypay.Notification) bool {
		return n.Trade.OutTradeNo == c.ID && n.Trade.State == polypay.TradeAuthorized && n.Trade.AmountAuthorized == 5000
	})
	for _, name := range []string{"Capture", "CaptureAgain"} {
		t.Run(name, func(t *testing.T) {
			tr, err := e.card.Capture(ctx, c, 3000)
			if err != nil || tr.State != polypay.TradePaid || tr.Amount != 3000 {
				t.Fatalf("capture = %+v, %v; want paid 3000", tr, err)
			}
		})
	}
	t.Run("ErrVoidCaptured", func(t *testing.T) {
		var pe *polypay.Error
		if err := e.card.Void(ctx, c); !errors.As(err, &pe) || pe.Code != polypay.EChannel {
			t.Fatalf("void = %v, want EChannel", err)
		}
	})
	t.Run("Void", func(t *testing.T) {
		c2 := newCharge(800)
		r2 := cardReq(c2, "4242424242424242", e.notify.srv.URL)
		r2.AuthorizeOnly = true
		e.create(c2, r2)
		for i := 0; i < 2; i++ {
			if err := e.card.Void(ctx, c2); err != nil {
				t.Fatalf("void %d: %v", i, err)
			}
		}
		if tr := e.query(c2); tr.State != polypay.TradeClosed {
			t.Fatalf("trade = %+v, want closed", tr)
		}
		if _, err := e.card.Capture(ctx, c2, 0); err == nil {
			t.Fatal("capturing a void hold succeeded")
		}
	})
}

func TestCloseCharge(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(900)
	e.create(c, cardReq(c, "4000000000003220", e.notify.srv.URL))
	if err := e.card.CloseCharge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if tr := e.query(c); tr.State != polypay.TradeClosed {
		t.Fatalf("trade = %+v, want closed", tr)
	}
	if err := e.card.CloseCharge(ctx, newCharge(1)); err != nil {
		t.Fatalf("closing a charge Stripe never saw: %v", err)
	}
	paid := newCharge(900)
	e.create(paid, cardReq(paid, "4242424242424242", e.notify.srv.URL))
	var pe *polypay.Error
	if err := e.card.CloseCharge(ctx, paid); !errors.As(err, &pe) || pe.Code != polypay.EChannel {
		t.Fatalf("closing a paid charge = %v, want EChannel", err)
	}
}

func TestRefunds(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(1000)
	e.create(c, cardReq(c, "4242424242424242", e.notify.srv.URL))
	refund := func(no string, amount int64) *polypay.Refund {
		return &polypay.Refund{ID: "re_" + no, ChargeID: c.ID, OrderNo: no, Amount: amount, Currency: "usd"}
	}
	r1 := refund("R1", 300)
	tests := []struct {
		name   string
		r      *polypay.Refund
		status polypay.RefundStatus
	}{
		{"Partial", r1, polypay.RefundSucceeded},
		{"PartialAgain", r1, polypay.RefundSucceeded},
		{"ErrTooMuch", refund("R2", 800), polypay.RefundFailed},
		{"Rest", refund("R3", 700), polypay.RefundSucceeded},
		{"ErrFullyRefunded", refund("R4", 1), polypay.RefundFailed},
	}
	ids := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.card.Refund(ctx, c, tc.r, "")
			if err != nil || res.Status != tc.status {
				t.Fatalf("refund = %+v, %v; want %s", res, err, tc.status)
			}
			if tc.status == polypay.RefundSucceeded {
				if prev, ok := ids[tc.r.OrderNo]; ok && prev != res.TransactionNo {
					t.Fatalf("repeat made refund %s, first was %s", res.TransactionNo, prev)
				}
				ids[tc.r.OrderNo] = res.TransactionNo
				if res.Amount != tc.r.Amount {
					t.Fatalf("amount = %d, want %d", res.Amount, tc.r.Amount)
				}
				q, err := e.card.QueryRefund(ctx, c, tc.r) // by metadata: TransactionNo not stored
				if err != nil || q.Status != polypay.RefundSucceeded || q.TransactionNo != res.TransactionNo {
					t.Fatalf("query = %+v, %v", q, err)
				}
				e.notify.waitFor(t, "refund", func(n *polypay.Notification) bool {
					return n.Kind == polypay.NotifyRefund && n.RefundNo == tc.r.OrderNo && n.RefundAmount == tc.r.Amount && n.RefundStatus == polypay.RefundSucceeded
				})
			} else if res.FailureCode == "" {
				t.Fatalf("failed refund without a code: %+v", res)
			}
		})
	}
	t.Run("FailsAtBank", func(t *testing.T) {
		c := newCharge(600)
		e.create(c, cardReq(c, "4000000000005126", e.notify.srv.URL))
		r := &polypay.Refund{OrderNo: "RF1", Amount: 600}
		res, err := e.card.Refund(ctx, c, r, "")
		if err != nil || res.Status != polypay.RefundPending {
			t.Fatalf("refund = %+v, %v; want pending", res, err)
		}
		e.notify.waitFor(t, "failed refund", func(n *polypay.Notification) bool {
			return n.Kind == polypay.NotifyRefund && n.RefundNo == "RF1" && n.RefundStatus == polypay.RefundFailed
		})
		r.TransactionNo = res.TransactionNo
		if q, err := e.card.QueryRefund(ctx, c, r); err != nil || q.Status != polypay.RefundFailed {
			t.Fatalf("query = %+v, %v; want failed", q, err)
		}
	})
}

func TestApplePay(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		pan  string
		want polypay.TradeState
		code string
	}{
		{"OK", "4242424242424242", polypay.TradePaid, ""},
		{"OKNoChallengeOnDevice", "4000000000003220", polypay.TradePaid, ""},
		{"ErrDeclined", "4000000000009995", "", "insufficient_funds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCharge(700)
			c.Channel = stripe.ChannelApplePay
			req := polypay.ChannelRequest{Charge: c, NotifyURL: e.notify.srv.URL, WalletToken: stripesim.ApplePayToken(tc.pan, 12, time.Now().Year()+2)}
			raw, err := e.apple.CreateCharge(ctx, req)
			if tc.code != "" {
				var pe *polypay.Error
				if !errors.As(err, &pe) || pe.ChannelCode != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.Credential = raw
			tr, err := e.apple.QueryCharge(ctx, c)
			if err != nil || tr.State != tc.want || tr.Extra["card_wallet"] != "apple_pay" || tr.ThreeDS != nil {
				t.Fatalf("trade = %+v, %v", tr, err)
			}
		})
	}
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := e.apple.CreateCharge(ctx, polypay.ChannelRequest{Charge: newCharge(700)})
		if polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("err = %v, want EInvalid", err)
		}
	})
}

func TestStatement(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(1000)
	e.create(c, cardReq(c, "4242424242424242", e.notify.srv.URL))
	if _, err := e.card.Refund(ctx, c, &polypay.Refund{OrderNo: "S1", Amount: 400}, ""); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format("2006-01-02")
	lines, err := e.card.Statement(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	want := []polypay.StatementLine{
		{Kind: polypay.StatementRefund, OutTradeNo: c.ID, RefundNo: "S1", Amount: 400, Fee: 0, Currency: "usd"},
		{Kind: polypay.StatementPayment, OutTradeNo: c.ID, Amount: 1000, Fee: 59, Currency: "usd"}, // 29 + 30
	}
	if len(lines) != len(want) {
		t.Fatalf("lines = %+v", lines)
	}
	for i, w := range want {
		g := lines[i]
		if g.Kind != w.Kind || g.OutTradeNo != w.OutTradeNo || g.RefundNo != w.RefundNo || g.Amount != w.Amount || g.Fee != w.Fee || g.Currency != w.Currency || g.TransactionNo == "" || g.At == 0 {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if lines, err := e.card.Statement(ctx, "2001-01-01"); err != nil || len(lines) != 0 {
		t.Fatalf("old day = %v, %v", lines, err)
	}
	if _, err := e.card.Statement(ctx, time.Now().Add(48*time.Hour).UTC().Format("2006-01-02")); polypay.ErrorCode(err) != polypay.ENotFound {
		t.Fatalf("future day err = %v, want ENotFound", err)
	}
}

func TestFee(t *testing.T) {
	for _, tc := range []struct{ amount, fee int64 }{{1000, 59}, {50, 31}, {100, 33}, {1724, 80}, {1, 30}, {17, 30}, {18, 31}} {
		if got := stripesim.Fee(tc.amount); got != tc.fee {
			t.Errorf("Fee(%d) = %d, want %d", tc.amount, got, tc.fee)
		}
	}
}

func TestWebhookRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.notify.mu.Lock()
	e.notify.fail = true
	e.notify.mu.Unlock()
	c := newCharge(1000)
	e.create(c, cardReq(c, "4242424242424242", e.notify.srv.URL))
	time.Sleep(60 * time.Millisecond)
	e.notify.mu.Lock()
	e.notify.fail = false
	e.notify.mu.Unlock()
	e.notify.waitFor(t, "retried paid", func(n *polypay.Notification) bool {
		return n.Trade.OutTradeNo == c.ID && n.Trade.State == polypay.TradePaid
	})
	var attempts int
	for _, d := range e.sim.Deliveries(e.acct.ID) {
		if d.Type == "payment_intent.succeeded" {
			attempts = max(attempts, d.Attempt)
		}
	}
	if attempts < 2 {
		t.Fatalf("attempts = %d, want a retry", attempts)
	}
}

func TestCardNeverInCredential(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(1000)
	req := cardReq(c, "4000000000003220", e.notify.srv.URL)
	raw, err := e.card.CreateCharge(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "4000000000003220") || strings.Contains(string(raw), "000000000322") {
		t.Fatalf("credential shows the card: %s", raw)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	for _, k := range []string{"object", "id", "status", "client_secret", "next_action"} {
		if _, ok := m[k]; !ok {
			t.Errorf("credential lacks %s: %s", k, raw)
		}
	}
}
