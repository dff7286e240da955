package wechatsim

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/polypay/polypay/sim/simkit"
)

// The simulated WeChat wallet: the customer's side of the scenes where the
// phone does the work.
//
//   - GET <sim>/wallet is the "扫一扫" screen: paste a Native code_url
//     (weixin://wxpay/bizpayurl?pr=...), an H5 h5_url, or anything holding
//     a prepay_id (a JSAPI/app credential). Scanning shows the merchant,
//     description and amount and asks for the payment password; any six
//     digits is the right password, anything else is refused and pays
//     nothing. Pay does exactly what Sim.Pay does: the trade becomes
//     SUCCESS and the first TRANSACTION.SUCCESS notification attempt is
//     delivered before the result page is shown. Decline leaves the trade
//     NOTPAY, as WeChat Pay does, so the customer can scan again.
//   - GET <sim>/wallet/code shows a fresh payment code ("付款码") for the
//     merchant-scans-customer scene (codepay, wx_pub_scan): 18 digits
//     starting 13 that pay at once, or starting 1300 that stay USERPAYING
//     (the customer typing the password) for Options.UserPaying. While such
//     a trade waits, the same page confirms it (pays) or cancels it
//     (PAYERROR), as the customer would on the phone.
//
// The pages, forms and flow are simkit.Wallet's; this file says what
// WeChat's wallet reads, says and does, and adds the confirm/cancel form
// of USERPAYING codes.

// walletPaths tells whether a request path is the wallet or its payment
// code page, wherever the sim is mounted. API paths (which may end in an
// out_trade_no "wallet") are never wallet pages.
func walletPaths(p string) (page string, ok bool) {
	if strings.Contains(p, "/v3/") {
		return "", false
	}
	return simkit.WalletPage(p)
}

// newWallet is the customer's wallet of s.
func (s *Sim) newWallet() *simkit.Wallet {
	return &simkit.Wallet{
		Text: simkit.WalletText{
			Title: "微信支付（模拟）", CodeTitle: "微信付款码（模拟）", Color: "#07c160",
			Note:      "polypay 微信支付模拟器钱包：不会发生真实扣款。",
			ScanLabel: "粘贴二维码内容 / h5_url / prepay_id（paste the QR code content）",
			PayButton: "确认支付 Pay", AppIDLabel: "appid", StatusLabel: "trade_state",
			Unknown: "无法识别的二维码，或订单不存在（unknown code）",
			Paid:    "该订单已支付（already paid）", Closed: "该订单已关闭或已过期（closed or expired）",
			PaidResult: "支付成功（paid）", PaidAgain: "该订单已支付，未重复扣款（already paid）",
			Declined: "已取消支付，订单仍待支付（declined）",
		},
		Normalize: normalizeCode, Lookup: s.lookupWallet, Settle: s.settle,
		// A declined attempt: WeChat Pay keeps the trade NOTPAY.
		PaidStatus: stateSuccess, UnpaidStatus: stateNotPay,
		Outcomes: codeOutcomes, NewCode: NewPaymentCode,
		CodeAction: s.codeAction, CodeForm: confirmForm,
	}
}

var prepayIDRe = regexp.MustCompile(`wx[0-9]{14}[0-9a-f]{20}`)

// normalizeCode reduces what a customer may paste to the key the sim knows
// the trade by: a code_url as is (also inside a JSON string), otherwise the
// prepay_id found in an h5_url or a credential.
func normalizeCode(raw string) string {
	c := simkit.Unquote(raw)
	if strings.HasPrefix(c, "weixin://") {
		return c
	}
	if id := prepayIDRe.FindString(c); id != "" {
		return id
	}
	return c
}

func (s *Sim) lookupWallet(code string) (*simkit.WalletOrder, error) {
	if code == "" {
		return nil, nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byCode[code]
	if t == nil {
		return nil, nil
	}
	s.touch(t, now)
	o := &simkit.WalletOrder{Code: code, MerchantID: t.mchid, Payee: "微信支付沙箱商户 " + t.mchid, AppID: t.appid,
		Subject: t.description, Amount: yuan(t.amount), OutTradeNo: t.outTradeNo, State: simkit.Closed}
	switch t.state {
	case stateNotPay:
		o.State = simkit.Payable
	case stateSuccess, stateRefund:
		o.State = simkit.Paid
	}
	return o, nil
}

// settle is the customer paying or declining on the phone: what Pay does.
func (s *Sim) settle(ctx context.Context, o *simkit.WalletOrder, success bool) error {
	return s.Pay(ctx, o.MerchantID, o.OutTradeNo, success)
}

// codeOutcomes are the payment codes WeChat's codes support in the sim.
var codeOutcomes = []simkit.Outcome{
	{Value: "pay", Label: "立即支付 (13…: pays at once)"},
	{Value: "paying", Label: "需输入密码 (1300…: USERPAYING, then paid, or confirm/cancel here)", Confirm: true},
}

// NewPaymentCode returns a fresh 18-digit customer payment code for
// codepay: outcome "paying" gives a 1300… code that stays USERPAYING,
// anything else a 13… code that pays at once.
func NewPaymentCode(outcome string) string {
	if outcome == "paying" {
		return "1300" + randomString(14, digits)
	}
	// 13 followed by anything but 00, which would be a USERPAYING code.
	return "13" + randomString(1, "123456789") + randomString(15, digits)
}

// confirmForm is shown with a 1300… code: the customer settles the trade
// it waits in on the phone.
const confirmForm = `<form method="post" action="{{.CodeURL}}">
<p>商户扫码后（USERPAYING），在此输入密码确认，或取消（PAYERROR）：</p>
<input type="hidden" name="code" value="{{.PaymentCode}}">
<p><label for="password">支付密码（任意 6 位数字）</label><br>
<input type="password" id="password" name="password" inputmode="numeric" autocomplete="off"></p>
<button type="submit" id="confirm" name="action" value="confirm" class="primary">确认支付 Confirm</button>
<button type="submit" id="cancel" name="action" value="cancel">取消支付 Cancel</button>
</form>
`

// codeAction is the customer settling, on the phone, a payment-code trade
// that waits in USERPAYING: confirm (with the password) pays it, cancel
// fails it (PAYERROR). Both go through Pay.
func (s *Sim) codeAction(w http.ResponseWriter, r *http.Request, action, code, password string) {
	render := func(status int, v simkit.WalletView) { s.wallet.Render(w, status, "code", v) }
	if action != "confirm" && action != "cancel" {
		render(http.StatusBadRequest, simkit.WalletView{Stage: "error", Error: "未知的操作"})
		return
	}
	now := s.now()
	s.mu.Lock()
	var t *trade
	for _, c := range s.trades {
		if c.tradeType != tradeCodepay || code == "" || c.authCode != code {
			continue
		}
		s.touch(c, now)
		// The waiting trade wins; otherwise the latest one tells the story.
		if t == nil || (c.state == stateUserPaying && t.state != stateUserPaying) ||
			(c.state == t.state && c.created.After(t.created)) {
			t = c
		}
	}
	var mchid, outTradeNo, amount, state string
	if t != nil {
		mchid, outTradeNo, amount, state = t.mchid, t.outTradeNo, yuan(t.amount), t.state
	}
	s.mu.Unlock()
	switch {
	case t == nil:
		render(http.StatusNotFound, simkit.WalletView{Stage: "error", Error: "商户尚未扫描此付款码（no payment waits for this code）"})
		return
	case state == stateSuccess || state == stateRefund:
		render(http.StatusOK, simkit.WalletView{Stage: "result", Paid: true, Result: "该订单已支付（already paid）",
			Amount: amount, OutTradeNo: outTradeNo, Status: state})
		return
	case state != stateUserPaying:
		render(http.StatusConflict, simkit.WalletView{Stage: "error", Error: "该订单已结束：" + stateDesc[state] + "（" + state + "）"})
		return
	case action == "confirm" && !simkit.RightPassword(password):
		v := s.wallet.CodeView("paying", code)
		v.Grouped = code // shown as posted
		v.Error = "支付密码错误，请重试（wrong password）"
		render(http.StatusOK, v)
		return
	}
	success := action == "confirm"
	if err := s.Pay(context.WithoutCancel(r.Context()), mchid, outTradeNo, success); err != nil {
		render(http.StatusConflict, simkit.WalletView{Stage: "error", Error: err.Error()})
		return
	}
	if success {
		render(http.StatusOK, simkit.WalletView{Stage: "result", Paid: true, Result: "支付成功（paid）",
			Amount: amount, OutTradeNo: outTradeNo, Status: stateSuccess})
		return
	}
	render(http.StatusOK, simkit.WalletView{Stage: "result", Result: "已取消支付（cancelled: PAYERROR）",
		Amount: amount, OutTradeNo: outTradeNo, Status: statePayError})
}
