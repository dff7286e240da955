package unionpay_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/sim/unionpaysim"
)

// payoutTo is a transfer to card and name, created now.
func payoutTo(card, name string, amount int64) *polypay.Transfer {
	tr := newTransfer(`{"card_number":"` + card + `","user_name":"` + name + `","open_bank_code":"0102"}`)
	tr.Amount, tr.Created = amount, time.Now().Unix()
	return tr
}

// payoutsOf returns the payout notifications the fixture's endpoint took
// for payoutNo, waiting up to 5 s for at least one.
func (f *fixture) payoutsOf(t *testing.T, payoutNo string) []*polypay.Notification {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var out []*polypay.Notification
		f.mu.Lock()
		for _, n := range f.got {
			if n.Kind == polypay.NotifyPayout && n.PayoutNo == payoutNo {
				out = append(out, n)
			}
		}
		f.mu.Unlock()
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
	}
}

// TestTransfer pays the sim's test payees with and without an encryption
// certificate: the answer accepts, the first query decides (paid, or
// failed with the sim's code for a frozen card, an unknown card, a wrong
// name), the notification says the same, and the funds follow.
func TestTransfer(t *testing.T) {
	company := unionpaysim.PayeeCompany
	tests := []struct {
		name    string
		encrypt bool
		typ     string
		card    string
		holder  string
		state   polypay.PayoutState
		code    string
	}{
		{"OKEncrypted", true, "b2c", unionpaysim.PayeeCard.Card, unionpaysim.PayeeCard.Name, polypay.PayoutPaid, ""},
		{"OKPlainAccNo", false, "b2c", unionpaysim.PayeeZhang.Card, unionpaysim.PayeeZhang.Name, polypay.PayoutPaid, ""},
		{"OKCompanyAccount", true, "b2b", company.Card, company.Name, polypay.PayoutPaid, ""},
		{"ErrFrozenCard", true, "b2c", unionpaysim.PayeeFrozen.Card, unionpaysim.PayeeFrozen.Name, polypay.PayoutFailed, unionpaysim.CodeCardState},
		{"ErrUnknownCard", false, "b2c", unionpaysim.UnknownCard, "某人", polypay.PayoutFailed, unionpaysim.CodeCardInvalid},
		{"ErrNameMismatch", true, "b2c", unionpaysim.PayeeZhang.Card, "张四", polypay.PayoutFailed, unionpaysim.CodeNameMismatch},
		{"ErrCompanyNameMismatch", true, "b2b", company.Card, "另一家公司", polypay.PayoutFailed, unionpaysim.CodeNameMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.client(t, unionpay.ChannelPayout, func(cfg *unionpay.Config) {
				if tc.encrypt {
					cfg.EncryptCertPEM = f.sim.EncryptCertPEM()
				}
			})
			tr := payoutTo(tc.card, tc.holder, 2500)
			tr.Type = tc.typ
			funds := f.sim.Funds(merID)
			res, err := c.Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL})
			if err != nil || res.State != polypay.PayoutProcessing || res.TransactionNo == "" || res.Amount != 2500 {
				t.Fatalf("Transfer = %+v, %v; want processing 2500 with a queryId", res, err)
			}
			if got := f.sim.Funds(merID); got != funds-2500 {
				t.Fatalf("funds while processing = %d, want %d held", got, funds-2500)
			}
			q, err := c.QueryTransfer(ctx, tr)
			if err != nil || q.State != tc.state || q.FailureCode != tc.code || q.TransactionNo != res.TransactionNo || q.Amount != 2500 {
				t.Fatalf("QueryTransfer = %+v, %v; want %s %q as %s", q, err, tc.state, tc.code, res.TransactionNo)
			}
			if tc.state == polypay.PayoutPaid && q.PaidAt == 0 {
				t.Fatalf("paid payout without PaidAt: %+v", q)
			}
			ns := f.payoutsOf(t, tr.PayoutNo())
			if len(ns) != 1 || *ns[0].Payout != *q || ns[0].MerchantID != merID {
				t.Fatalf("notifications %+v, want one saying %+v", ns, q)
			}
			want := funds - 2500
			if tc.state == polypay.PayoutFailed {
				want = funds
			}
			if got := f.sim.Funds(merID); got != want {
				t.Fatalf("funds after = %d, want %d", got, want)
			}
		})
	}
}

// TestPayoutTxnTime: a query finds the payout from the transfer alone
// (a connector built anew, as after a restart), by the approval moment
// when the transfer waited for one; another moment finds nothing.
func TestPayoutTxnTime(t *testing.T) {
	f := newFixture(t)
	tr := payoutTo(unionpaysim.PayeeCard.Card, unionpaysim.PayeeCard.Name, 1000)
	tr.Created = time.Now().Add(-72 * time.Hour).Unix()
	tr.ApprovedAt = time.Now().Unix()
	if want := time.Unix(tr.ApprovedAt, 0).In(time.FixedZone("CST", 8*3600)).Format("20060102150405"); unionpay.PayoutTxnTime(tr) != want {
		t.Fatalf("PayoutTxnTime = %s, want the approval %s", unionpay.PayoutTxnTime(tr), want)
	}
	if _, err := f.client(t, unionpay.ChannelPayout, nil).Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL}); err != nil {
		t.Fatal(err)
	}
	fresh := f.client(t, unionpay.ChannelPayout, nil)
	if q, err := fresh.QueryTransfer(ctx, tr); err != nil || q.State != polypay.PayoutPaid {
		t.Fatalf("QueryTransfer after a restart = %+v, %v; want paid", q, err)
	}
	other := *tr
	other.ApprovedAt = 0
	if q, err := fresh.QueryTransfer(ctx, &other); err != nil || q.State != polypay.PayoutNotFound {
		t.Fatalf("QueryTransfer with another txnTime = %+v, %v; want not found", q, err)
	}
}

// TestPayoutDecideEndpoint: a payout to a Hold card stays processing when
// queried; the test endpoint decides it, the notification follows, and
// deciding again changes nothing.
func TestPayoutDecideEndpoint(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, unionpay.ChannelPayout, nil)
	tr := payoutTo(unionpaysim.PayeeHeld.Card, unionpaysim.PayeeHeld.Name, 700)
	if _, err := c.Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if q, err := c.QueryTransfer(ctx, tr); err != nil || q.State != polypay.PayoutProcessing {
			t.Fatalf("QueryTransfer of a held payout = %+v, %v; want processing", q, err)
		}
	}
	decide := func(code string) (int, unionpaysim.PayoutAnswer) {
		body, _ := json.Marshal(map[string]string{"merId": merID, "orderId": tr.PayoutNo(), "respCode": code})
		res, err := http.Post(f.srv.URL+unionpaysim.TestPrefix+"/payout/decide", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var a unionpaysim.PayoutAnswer
		json.NewDecoder(res.Body).Decode(&a)
		return res.StatusCode, a
	}
	if status, _ := decide("60"); status != http.StatusBadRequest {
		t.Fatalf("deciding with 60 (still processing to UnionPay) = HTTP %d, want 400", status)
	}
	if status, a := decide("30"); status != http.StatusOK || a.State != unionpaysim.PayoutFailed || a.RespCode != "30" {
		t.Fatalf("decide 30 = HTTP %d %+v", status, a)
	}
	if status, a := decide("00"); status != http.StatusOK || a.RespCode != "30" {
		t.Fatalf("deciding a decided payout = HTTP %d %+v, want it still 30", status, a)
	}
	q, err := c.QueryTransfer(ctx, tr)
	if err != nil || q.State != polypay.PayoutFailed || q.FailureCode != "30" || q.FailureMsg == "" {
		t.Fatalf("QueryTransfer = %+v, %v; want failed 30", q, err)
	}
	if ns := f.payoutsOf(t, tr.PayoutNo()); len(ns) != 1 || ns[0].Payout.State != polypay.PayoutFailed {
		t.Fatalf("notifications %+v, want one failed", ns)
	}
}

// TestTransferRefusals: refusals on the spot are EChannel with UnionPay's
// code and say nothing of the card or name; a repeat of the orderId finds
// the refusal (respCode 12, then a query).
func TestTransferRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, unionpay.ChannelPayout, func(cfg *unionpay.Config) { cfg.EncryptCertPEM = f.sim.EncryptCertPEM() })
	if err := f.sim.SetFunds(merID, 999); err != nil {
		t.Fatal(err)
	}
	tr := payoutTo(unionpaysim.PayeeCard.Card, unionpaysim.PayeeCard.Name, 1000)
	_, err := c.Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL})
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != unionpaysim.CodeNotEnough {
		t.Fatalf("Transfer with 999 fen of funds = %v, want EChannel %s", err, unionpaysim.CodeNotEnough)
	}
	noSecrets(t, err, string(tr.Extra))
	res, err := c.Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL})
	if err != nil || res.State != polypay.PayoutFailed || res.FailureCode != unionpaysim.CodeNotEnough {
		t.Fatalf("Transfer repeated = %+v, %v; want the refusal found failed", res, err)
	}
	if got := f.sim.Funds(merID); got != 999 {
		t.Fatalf("funds = %d, want 999 untouched", got)
	}
}

func TestPayoutConnector(t *testing.T) {
	f := newFixture(t)
	t.Run("ErrEncryptCertNotUnionPays", func(t *testing.T) {
		_, err := unionpay.New(unionpay.ChannelPayout, f.config(func(c *unionpay.Config) { c.EncryptCertPEM = otherCertPEM }))
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || !strings.Contains(err.Error(), "encrypt_cert") {
			t.Fatalf("New with a self-signed encrypt_cert = %v, want EInvalid", err)
		}
	})
	t.Run("ErrNoChargesOnPayoutChannel", func(t *testing.T) {
		c := f.client(t, unionpay.ChannelPayout, nil)
		_, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: newCharge(unionpay.ChannelApp, 100)})
		if polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Fatalf("CreateCharge on %s = %v, want ENotSupported", unionpay.ChannelPayout, err)
		}
	})
	t.Run("ErrBadTransferID", func(t *testing.T) {
		tr := payoutTo(unionpaysim.PayeeCard.Card, unionpaysim.PayeeCard.Name, 1000)
		tr.ID = "tr_short"
		c := f.client(t, unionpay.ChannelApp, nil)
		if _, err := c.QueryTransfer(ctx, tr); polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("QueryTransfer of %s = %v, want EInvalid", tr.ID, err)
		}
	})
	t.Run("OKStatementLine", func(t *testing.T) {
		c := f.client(t, unionpay.ChannelApp, nil)
		tr := payoutTo(unionpaysim.PayeeZhang.Card, unionpaysim.PayeeZhang.Name, 4321)
		if _, err := c.Transfer(ctx, polypay.PayoutRequest{Transfer: tr, NotifyURL: f.notify.URL}); err != nil {
			t.Fatal(err)
		}
		q, err := c.QueryTransfer(ctx, tr)
		if err != nil || q.State != polypay.PayoutPaid {
			t.Fatalf("QueryTransfer = %+v, %v", q, err)
		}
		lines, err := c.Statement(ctx, time.Now().In(time.FixedZone("CST", 8*3600)).Add(time.Hour).Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		var got []polypay.StatementLine
		for _, l := range lines {
			if l.Kind == polypay.StatementPayout {
				got = append(got, l)
			}
		}
		if len(got) != 1 || got[0].PayoutNo != tr.PayoutNo() || got[0].Amount != 4321 || got[0].TransactionNo != q.TransactionNo ||
			got[0].Fee != 0 || got[0].Currency != "cny" {
			t.Fatalf("payout lines %+v, want one of %s for 4321", got, tr.PayoutNo())
		}
	})
}
