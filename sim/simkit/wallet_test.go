package simkit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/polypay/polypay/sim/simkit"
)

// shop is a channel with one order per code, for the wallet to pay.
type shop struct {
	mu      sync.Mutex
	orders  map[string]simkit.OrderState
	settled []bool
	fail    error // Settle's answer
}

func newWallet(sh *shop) *simkit.Wallet {
	return &simkit.Wallet{
		Text: simkit.WalletText{Title: "Wallet", CodeTitle: "Code", Color: "#000", Unknown: "unknown code",
			Paid: "already paid", Closed: "closed", PaidResult: "paid", PaidAgain: "paid before", Declined: "declined"},
		Normalize: strings.TrimSpace,
		Lookup: func(code string) (*simkit.WalletOrder, error) {
			sh.mu.Lock()
			defer sh.mu.Unlock()
			st, ok := sh.orders[code]
			if !ok {
				return nil, nil
			}
			return &simkit.WalletOrder{Code: code, OutTradeNo: "o-" + code, Amount: "1.00", State: st}, nil
		},
		Settle: func(_ context.Context, o *simkit.WalletOrder, success bool) error {
			sh.mu.Lock()
			defer sh.mu.Unlock()
			if sh.fail != nil {
				return sh.fail
			}
			sh.settled = append(sh.settled, success)
			if success {
				sh.orders[o.Code] = simkit.Paid
			}
			return nil
		},
		PaidStatus: "PAID", UnpaidStatus: "WAITING",
		Outcomes: []simkit.Outcome{{Value: "now", Label: "pays"}, {Value: "later", Label: "waits", Confirm: true}},
		NewCode: func(outcome string) string {
			return map[string]string{"now": "111122223333", "later": "999988887777"}[outcome]
		},
		CodeForm: `<form id="confirm"></form>`,
	}
}

func serve(wl *simkit.Wallet, method, target string, form url.Values) (int, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	page, _ := simkit.WalletPage(r.URL.Path)
	wl.Serve(rec, r, page)
	return rec.Code, rec.Body.String()
}

func TestWallet(t *testing.T) {
	tests := []struct {
		name       string
		state      simkit.OrderState
		fail       error
		form       url.Values
		wantStatus int
		wantText   string
		wantSettle []bool
	}{
		{"OKScan", simkit.Payable, nil, url.Values{"code": {" c1 "}}, 200, `id="amount">1.00<`, nil},
		{"OKPay", simkit.Payable, nil, url.Values{"action": {"pay"}, "code": {"c1"}, "password": {"123456"}}, 200, `id="status">PAID<`, []bool{true}},
		{"OKDecline", simkit.Payable, nil, url.Values{"action": {"decline"}, "code": {"c1"}}, 200, `id="status">WAITING<`, []bool{false}},
		{"ErrWrongPassword", simkit.Payable, nil, url.Values{"action": {"pay"}, "code": {"c1"}, "password": {"12345a"}}, 200, "wrong password", nil},
		{"ErrUnknown", simkit.Payable, nil, url.Values{"action": {"pay"}, "code": {"nope"}, "password": {"123456"}}, 404, "unknown code", nil},
		{"ErrClosed", simkit.Closed, nil, url.Values{"action": {"scan"}, "code": {"c1"}}, 409, ">closed<", nil},
		{"ErrScanPaid", simkit.Paid, nil, url.Values{"action": {"scan"}, "code": {"c1"}}, 409, "already paid", nil},
		{"OKPayPaid", simkit.Paid, nil, url.Values{"action": {"pay"}, "code": {"c1"}, "password": {"123456"}}, 200, "paid before", nil},
		{"ErrSettle", simkit.Payable, errors.New("refused"), url.Values{"action": {"pay"}, "code": {"c1"}, "password": {"123456"}}, 404, "refused", nil},
		{"ErrAction", simkit.Payable, nil, url.Values{"action": {"steal"}, "code": {"c1"}}, 400, "未知的操作", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := &shop{orders: map[string]simkit.OrderState{"c1": tt.state}, fail: tt.fail}
			status, body := serve(newWallet(sh), http.MethodPost, "/sim/x/wallet", tt.form)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantText) {
				t.Fatalf("got %d %s; want %d with %q", status, body, tt.wantStatus, tt.wantText)
			}
			if len(sh.settled) != len(tt.wantSettle) || len(sh.settled) > 0 && sh.settled[0] != tt.wantSettle[0] {
				t.Fatalf("settled %v, want %v", sh.settled, tt.wantSettle)
			}
		})
	}
}

func TestWalletCodePage(t *testing.T) {
	tests := []struct {
		name, outcome string
		wantCode      string
		wantForm      bool
	}{
		{"Default", "", "1111 2222 3333", false},
		{"Unknown", "<x>", "1111 2222 3333", false},
		{"Confirm", "later", "9999 8888 7777", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wl := newWallet(&shop{})
			status, body := serve(wl, http.MethodGet, "/wallet/code?outcome="+url.QueryEscape(tt.outcome), nil)
			if status != 200 || !strings.Contains(body, `id="payment_code_display">`+tt.wantCode+`<`) ||
				strings.Contains(body, `id="confirm"`) != tt.wantForm || !strings.Contains(body, `href="../wallet"`) {
				t.Fatalf("got %d %s; want code %s, form %v", status, body, tt.wantCode, tt.wantForm)
			}
		})
	}
	t.Run("ErrPostWithoutCodeAction", func(t *testing.T) {
		status, _ := serve(newWallet(&shop{}), http.MethodPost, "/wallet/code", url.Values{"action": {"confirm"}})
		if status != http.StatusMethodNotAllowed {
			t.Fatalf("got %d, want 405", status)
		}
	})
}
