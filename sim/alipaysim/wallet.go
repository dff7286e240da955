package alipaysim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/polypay/polypay/sim/simkit"
)

// The simulated Alipay wallet: the payer's side of the scenes where the
// buyer's phone does the work.
//
//   - GET <sim>/wallet is the "scan" screen: paste a QR code's content (the
//     https://qr.alipay.com/... qr_code of alipay.trade.precreate), a
//     trade_no (alipay.trade.create, the mini program's my.tradePay), or an
//     app order string (alipay.trade.app.pay, or the {"orderInfo":...}
//     credential holding it). Scanning shows the merchant, subject and
//     amount and asks for the payment password; any six digits is the
//     right password, anything else is refused and pays nothing. Pay does
//     exactly what Sim.Pay (or PayOrderString) does: the trade becomes
//     TRADE_SUCCESS and the first signed notification attempt is delivered
//     before the result page is shown. Decline leaves the trade
//     WAIT_BUYER_PAY, as Alipay has no declined state.
//   - GET <sim>/wallet/code shows a fresh payment code ("付款码") for the
//     scenes where the merchant scans the buyer (alipay.trade.pay), with its
//     outcome chosen by prefix: 28 pays at once, 29 keeps the buyer
//     confirming for Options.UserPayingFor then pays, 30 is declined.
//
// The pages, forms and flow are simkit.Wallet's; this file says what
// Alipay's wallet reads, says and does.

// newWallet is the buyer's wallet of s.
func (s *Sim) newWallet() *simkit.Wallet {
	return &simkit.Wallet{
		Text: simkit.WalletText{
			Title: "支付宝钱包（模拟）", CodeTitle: "支付宝付款码（模拟）", Color: "#1677ff",
			Note:      "polypay 支付宝模拟器钱包：不会发生真实扣款。",
			ScanLabel: "粘贴二维码内容 / trade_no / 订单串（paste the QR code content）",
			PayButton: "确认付款 Pay", AppIDLabel: "商户 app_id", TradeNoLabel: "支付宝交易号", StatusLabel: "交易状态",
			Unknown: "无法识别的付款码，或交易不存在（unknown code）",
			Paid:    "该交易已支付（already paid）", Closed: "该交易已关闭或已过期（closed or expired）",
			PaidResult: "付款成功（paid）", PaidAgain: "该交易已支付，未重复扣款（already paid）",
			Declined: "已取消付款，交易仍待支付（declined）",
		},
		Normalize: normalizeCode, Lookup: s.lookupWallet, Settle: s.settle,
		PaidStatus: tradeSuccess, UnpaidStatus: waitBuyerPay,
		Outcomes: codeOutcomes, NewCode: NewPaymentCode,
	}
}

// normalizeCode accepts what a payer may paste: the bare code, the code as
// a JSON string (Ping++'s credential value), or an app credential object
// {"orderInfo": "..."}.
func normalizeCode(raw string) string {
	c := simkit.Unquote(raw)
	if strings.HasPrefix(c, "{") {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(c), &obj) == nil {
			for _, k := range []string{"orderInfo", "alipay", "alipay_qr", "alipay_lite"} {
				var s string
				if json.Unmarshal(obj[k], &s) == nil && s != "" {
					return normalizeCode(s)
				}
				var inner map[string]json.RawMessage
				if json.Unmarshal(obj[k], &inner) == nil && inner != nil {
					if json.Unmarshal(inner["orderInfo"], &s) == nil && s != "" {
						return strings.TrimSpace(s)
					}
				}
			}
		}
	}
	return c
}

// tradeCode tells a code that names a trade (a QR code or trade_no) from
// an app order string.
func tradeCode(code string) bool {
	return strings.HasPrefix(code, "https://qr.alipay.com/") || allDigits(code)
}

// lookupWallet finds the order a code names and its current state.
func (s *Sim) lookupWallet(code string) (*simkit.WalletOrder, error) {
	switch {
	case code == "" || len(code) > 16<<10:
		return nil, nil
	case tradeCode(code):
		now := s.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		var t *trade
		if allDigits(code) {
			t = s.byTradeNo[code]
		} else {
			t = s.byQRCode[code]
		}
		if t == nil {
			return nil, nil
		}
		touch(t, now)
		return walletOrder(code, t.appID, t.outTradeNo, t.tradeNo, t.subject, t.amount, t.status), nil
	case strings.Contains(code, "biz_content="):
		return s.lookupOrderString(code)
	}
	return nil, nil
}

// lookupOrderString reads an app order string as the app SDK would before
// showing the buyer the order: its signature must verify.
func (s *Sim) lookupOrderString(code string) (*simkit.WalletOrder, error) {
	p, err := url.ParseQuery(code)
	if err != nil {
		return nil, nil
	}
	c, aerr := s.verify(p, isAppMethod)
	if aerr != nil {
		return nil, errors.New("订单信息无效（" + aerr.SubCode + " " + aerr.SubMsg + "）")
	}
	var b orderBiz
	if aerr := decodeBiz(c, &b); aerr != nil {
		return nil, nil
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return nil, errors.New("订单信息无效（" + aerr.SubCode + " " + aerr.SubMsg + "）")
	}
	tradeNo, status := "", waitBuyerPay // an app order not yet opened
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[tradeKey{c.appID, string(b.OutTradeNo)}]; t != nil {
		touch(t, now)
		tradeNo, status = t.tradeNo, t.status
	}
	return walletOrder(code, c.appID, string(b.OutTradeNo), tradeNo, string(b.Subject), amount, status), nil
}

func walletOrder(code, appID, outTradeNo, tradeNo, subject string, amount int64, status string) *simkit.WalletOrder {
	o := &simkit.WalletOrder{Code: code, MerchantID: appID, Payee: "支付宝沙箱商户 " + sellerID(appID), AppID: appID,
		Subject: subject, Amount: yuan(amount), OutTradeNo: outTradeNo, TradeNo: tradeNo, State: simkit.Closed}
	switch status {
	case waitBuyerPay:
		o.State = simkit.Payable
	case tradeSuccess, tradeFinished:
		o.State = simkit.Paid
	}
	return o
}

// settle is the buyer confirming (success) or declining on the phone: what
// Pay and PayOrderString do.
func (s *Sim) settle(ctx context.Context, o *simkit.WalletOrder, success bool) error {
	if !tradeCode(o.Code) {
		return s.PayOrderString(ctx, o.Code, success)
	}
	return s.Pay(ctx, o.MerchantID, o.OutTradeNo, success)
}

// codeOutcomes are the payment codes the wallet offers, by the prefix
// authCode gives them.
var codeOutcomes = []simkit.Outcome{
	{Value: "pay", Label: "立即付款 (28…: pays at once)"},
	{Value: "paying", Label: "用户确认中，随后付款 (29…: user paying, then paid)"},
	{Value: "decline", Label: "拒绝 (30…: declined)"},
}

var codePrefix = map[string]string{"pay": "28", "paying": "29", "decline": "30"}

// NewPaymentCode returns a fresh 18-digit buyer payment code whose
// alipay.trade.pay outcome is outcome: "pay" (28…), "paying" (29…) or
// "decline" (30…). Anything else is "pay".
func NewPaymentCode(outcome string) string {
	prefix, ok := codePrefix[outcome]
	if !ok {
		prefix = codePrefix["pay"]
	}
	return prefix + randomString(16, "0123456789")
}
