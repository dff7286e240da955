package alipay_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// newTransfer is a valid alipay transfer to the sandbox payee.
func newTransfer(amount int64) *polypay.Transfer {
	return &polypay.Transfer{ID: polypay.NewID("tr_"), Channel: alipay.ChannelApp, OrderNo: "T" + polypay.NewID("")[:20],
		Type: "b2c", Amount: amount, Currency: "cny", Recipient: alipaysim.SandboxPayee.LogonID, Description: "佣金",
		Extra: []byte(`{"recipient_name":"` + alipaysim.SandboxPayee.Name + `"}`)}
}

func TestCheckTransfer(t *testing.T) {
	conn := newConn(t, "http://127.0.0.1:1/unused", merchantPKCS1, platformPub)
	tests := []struct {
		name   string
		change func(tr *polypay.Transfer)
		param  string // "" = accepted
	}{
		{"OK", func(*polypay.Transfer) {}, ""},
		{"OKB2B", func(tr *polypay.Transfer) { tr.Type = "b2b" }, ""},
		{"OKUserID", func(tr *polypay.Transfer) {
			tr.Recipient, tr.Extra = "2088102180000011", []byte(`{"recipient_name":"沙箱环境","recipient_account_type":"ALIPAY_USERID"}`)
		}, ""},
		{"OKLogonIDNamed", func(tr *polypay.Transfer) {
			tr.Extra = []byte(`{"recipient_name":"沙箱环境","recipient_account_type":"ALIPAY_LOGONID"}`)
		}, ""},
		{"OKOrderNo64", func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("a", 64) }, ""},
		{"OKName50", func(tr *polypay.Transfer) {
			tr.Extra = []byte(`{"recipient_name":"` + strings.Repeat("名", 50) + `"}`)
		}, ""},
		{"OKMinimum", func(tr *polypay.Transfer) { tr.Amount = 10 }, ""},
		{"ErrOrderNoEmpty", func(tr *polypay.Transfer) { tr.OrderNo = "" }, "order_no"},
		{"ErrOrderNo65", func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("a", 65) }, "order_no"},
		{"ErrOrderNoDash", func(tr *polypay.Transfer) { tr.OrderNo = "a-1" }, "order_no"},
		{"ErrType", func(tr *polypay.Transfer) { tr.Type = "c2c" }, "type"},
		{"ErrCurrency", func(tr *polypay.Transfer) { tr.Currency = "usd" }, "currency"},
		{"ErrAmountBelowMinimum", func(tr *polypay.Transfer) { tr.Amount = 9 }, "amount"},
		{"ErrAmountTooLarge", func(tr *polypay.Transfer) { tr.Amount = 100_000_000_01 }, "amount"},
		{"ErrRecipientMissing", func(tr *polypay.Transfer) { tr.Recipient = "" }, "recipient"},
		{"ErrRecipientControl", func(tr *polypay.Transfer) { tr.Recipient = "a\nb@x.com" }, "recipient"},
		{"ErrRecipientLong", func(tr *polypay.Transfer) { tr.Recipient = strings.Repeat("a", 101) }, "recipient"},
		{"ErrDescriptionLong", func(tr *polypay.Transfer) { tr.Description = strings.Repeat("说", 201) }, "description"},
		{"ErrExtraNotObject", func(tr *polypay.Transfer) { tr.Extra = []byte(`[1]`) }, "extra"},
		{"ErrNameMissing", func(tr *polypay.Transfer) { tr.Extra = []byte(`{}`) }, "extra[recipient_name]"},
		{"ErrNameEmpty", func(tr *polypay.Transfer) { tr.Extra = []byte(`{"recipient_name":""}`) }, "extra[recipient_name]"},
		{"ErrNameNotString", func(tr *polypay.Transfer) { tr.Extra = []byte(`{"recipient_name":12}`) }, "extra[recipient_name]"},
		{"ErrName51", func(tr *polypay.Transfer) {
			tr.Extra = []byte(`{"recipient_name":"` + strings.Repeat("名", 51) + `"}`)
		}, "extra[recipient_name]"},
		{"ErrAccountType", func(tr *polypay.Transfer) {
			tr.Extra = []byte(`{"recipient_name":"x","recipient_account_type":"ALIPAY_OPENID"}`)
		}, "extra[recipient_account_type]"},
		{"ErrUserIDShort", func(tr *polypay.Transfer) {
			tr.Recipient, tr.Extra = "208810218000001", []byte(`{"recipient_name":"x","recipient_account_type":"ALIPAY_USERID"}`)
		}, "recipient"},
		{"ErrUserIDPrefix", func(tr *polypay.Transfer) {
			tr.Recipient, tr.Extra = "2089102180000011", []byte(`{"recipient_name":"x","recipient_account_type":"ALIPAY_USERID"}`)
		}, "recipient"},
		{"ErrUserIDLogon", func(tr *polypay.Transfer) {
			tr.Extra = []byte(`{"recipient_name":"x","recipient_account_type":"ALIPAY_USERID"}`)
		}, "recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransfer(1000)
			tt.change(tr)
			err := conn.CheckTransfer(tr)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("CheckTransfer = %v, want accepted", err)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tt.param {
				t.Fatalf("CheckTransfer = %v, want EInvalid naming %s", err, tt.param)
			}
			if strings.Contains(pe.Message, alipaysim.SandboxPayee.Name) {
				t.Fatalf("the error names the payee: %q", pe.Message)
			}
		})
	}
}

// TestTransferRequest: what the connector puts on the wire.
func TestTransferRequest(t *testing.T) {
	tests := []struct {
		name     string
		amount   int64
		extra    string
		identity string
		wantType string
		wantAmt  string
	}{
		{"LogonID", 1029, `{"recipient_name":"沙箱环境"}`, alipaysim.SandboxPayee.LogonID, "ALIPAY_LOGON_ID", "10.29"},
		{"UserID", 10, `{"recipient_name":"沙箱环境","recipient_account_type":"ALIPAY_USERID"}`, alipaysim.SandboxPayee.UserID, "ALIPAY_USER_ID", "0.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tr := newTransfer(tt.amount)
			tr.Recipient, tr.Extra = tt.identity, []byte(tt.extra)
			res, err := e.conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: tr, NotifyURL: e.notifyURL})
			if err != nil || res.State != polypay.PayoutProcessing || res.TransactionNo == "" {
				t.Fatalf("Transfer = %+v, %v; want processing with an order id", res, err)
			}
			call := e.lastCall(t, "alipay.fund.trans.uni.transfer")
			if call.Get("notify_url") != e.notifyURL {
				t.Fatalf("notify_url = %q, want %q", call.Get("notify_url"), e.notifyURL)
			}
			var biz struct {
				OutBizNo    string `json:"out_biz_no"`
				TransAmount string `json:"trans_amount"`
				ProductCode string `json:"product_code"`
				BizScene    string `json:"biz_scene"`
				OrderTitle  string `json:"order_title"`
				PayeeInfo   struct {
					Identity     string `json:"identity"`
					IdentityType string `json:"identity_type"`
					Name         string `json:"name"`
				} `json:"payee_info"`
			}
			if err := json.Unmarshal([]byte(call.Get("biz_content")), &biz); err != nil {
				t.Fatal(err)
			}
			want := []string{tr.PayoutNo(), tt.wantAmt, "TRANS_ACCOUNT_NO_PWD", "DIRECT_TRANSFER", "佣金", tt.identity, tt.wantType, "沙箱环境"}
			got := []string{biz.OutBizNo, biz.TransAmount, biz.ProductCode, biz.BizScene, biz.OrderTitle, biz.PayeeInfo.Identity, biz.PayeeInfo.IdentityType, biz.PayeeInfo.Name}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("biz_content field %d = %q, want %q (%s)", i, got[i], want[i], call.Get("biz_content"))
				}
			}
		})
	}
}

// TestTransferOutcomes: the sim's answers as the connector reports them.
func TestTransferOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env, tr *polypay.Transfer)
		state   polypay.PayoutState // after Transfer, when no error
		code    string              // EChannel sub_code, when refused
		plain   bool                // a plain (unknown outcome) error
		settled polypay.PayoutState // after a query
		failure string
	}{
		{"OKDealingThenPaid", nil, polypay.PayoutProcessing, "", false, polypay.PayoutPaid, ""},
		{"ErrUnknownPayee", func(e *env, tr *polypay.Transfer) { tr.Recipient = "nobody@sandbox.com" }, "", "PAYEE_NOT_EXIST", false, polypay.PayoutNotFound, ""},
		{"ErrBalance", func(e *env, tr *polypay.Transfer) { e.sim.SetFunds(appID, 999) }, "", "PAYER_BALANCE_NOT_ENOUGH", false, polypay.PayoutNotFound, ""},
		{"FrozenFailsLater", func(e *env, tr *polypay.Transfer) {
			tr.Recipient, tr.Extra = alipaysim.SandboxPayeeFrozen.LogonID, []byte(`{"recipient_name":"王五"}`)
		}, polypay.PayoutProcessing, "", false, polypay.PayoutFailed, "PAYEE_ACCOUNT_STATUS_ERROR"},
		{"ErrSystem", func(e *env, tr *polypay.Transfer) {
			e.lose = map[string]string{"alipay.fund.trans.uni.transfer": `{"error_response":{"code":"40004","msg":"Business Failed","sub_code":"SYSTEM_ERROR","sub_msg":"系统繁忙"}}`}
		}, "", "", true, polypay.PayoutPaid, ""},
		{"ErrUnknown20000", func(e *env, tr *polypay.Transfer) {
			e.lose = map[string]string{"alipay.fund.trans.uni.transfer": `{"error_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}}`}
		}, "", "", true, polypay.PayoutPaid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tr := newTransfer(1000)
			if tt.setup != nil {
				tt.setup(e, tr)
			}
			res, err := e.conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: tr, NotifyURL: e.notifyURL})
			switch {
			case tt.code != "":
				wantCode(t, err, polypay.EChannel, tt.code)
			case tt.plain:
				var pe *polypay.Error
				if err == nil || errors.As(err, &pe) {
					t.Fatalf("Transfer = %+v, %v; want a plain error (outcome unknown)", res, err)
				}
			case err != nil || res.State != tt.state:
				t.Fatalf("Transfer = %+v, %v; want %s", res, err, tt.state)
			}
			q, err := e.conn.QueryTransfer(context.Background(), tr)
			if err != nil || q.State != tt.settled || q.FailureCode != tt.failure {
				t.Fatalf("QueryTransfer = %+v, %v; want %s %q", q, err, tt.settled, tt.failure)
			}
			if q.State == polypay.PayoutPaid && (q.Amount != tr.Amount || q.PaidAt == 0 || q.TransactionNo == "") {
				t.Fatalf("QueryTransfer = %+v, want the amount, time and order id", q)
			}
		})
	}
}

// TestTransferPaidAtOnce: a sim answering SUCCESS makes Transfer paid.
func TestTransferPaidAtOnce(t *testing.T) {
	e := newEnv(t, func(o *alipaysim.Options) { o.InstantPayouts = true })
	tr := newTransfer(1000)
	res, err := e.conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: tr, NotifyURL: e.notifyURL})
	if err != nil || res.State != polypay.PayoutPaid || res.PaidAt == 0 || res.TransactionNo == "" {
		t.Fatalf("Transfer = %+v, %v; want paid with a time and an order id", res, err)
	}
	waitFor(t, "the payout notification", func() bool {
		for _, n := range e.notifications() {
			if n.err == nil && n.n.Kind == polypay.NotifyPayout && n.n.PayoutNo == tr.PayoutNo() {
				return n.n.Payout.State == polypay.PayoutPaid && n.n.Payout.Amount == 1000 && n.n.Payout.TransactionNo == res.TransactionNo
			}
		}
		return false
	})
}
