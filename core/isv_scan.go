package core

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/paycode"
)

// IsvScanChannel is Ping++'s offline ISV scan channel: the merchant scans
// the customer's payment code without knowing whose it is. polypay tells
// the wallet by the code's first digits, as the wallets define them
// (Alipay 25-30, 16-24 digits; WeChat 10-15, 18 digits; UnionPay 62, 19
// digits; polypay's own 9, 19 digits), and makes the charge on that
// wallet's scan channel: the answer's channel is alipay_scan, wx_pub_scan,
// upacp_scan or balance.
const IsvScanChannel = "isv_scan"

// routeScan rewrites an isv_scan charge for the channel its code names.
func routeScan(p ChargeParams) (ChargeParams, error) {
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(p.Extra, &extra); err != nil || extra == nil {
		extra = map[string]json.RawMessage{}
	}
	var code, terminal string
	if raw, ok := extra["scan_code"]; !ok || json.Unmarshal(raw, &code) != nil || code == "" {
		return p, polypay.ParamError("extra[scan_code]", "isv_scan 须在 extra[scan_code] 中填写扫到的付款码")
	}
	if raw, ok := extra["terminal_id"]; !ok || json.Unmarshal(raw, &terminal) != nil || terminal == "" {
		return p, polypay.ParamError("extra[terminal_id]", "isv_scan 须在 extra[terminal_id] 中填写终端号")
	}
	switch p.Channel = scanWallet(code); p.Channel {
	case "":
		return p, polypay.ParamError("extra[scan_code]", "无法识别的付款码：不是支付宝、微信、银联或 polypay 的付款码")
	case BalanceChannel:
		// The balance channel takes only the code and the terminal.
		p.Extra, _ = json.Marshal(map[string]string{"scan_code": code, "terminal_id": terminal})
	}
	return p, nil
}

// scanWallet is the scan channel a payment code belongs to, "" if none.
func scanWallet(code string) string {
	if paycode.Is(code) {
		return BalanceChannel
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return ""
		}
	}
	if len(code) < 2 {
		return ""
	}
	prefix := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case prefix >= 25 && prefix <= 30 && len(code) >= 16 && len(code) <= 24:
		return "alipay_scan"
	case prefix >= 10 && prefix <= 15 && len(code) == 18:
		return "wx_pub_scan"
	case prefix == 62 && len(code) == 19:
		return "upacp_scan"
	}
	return ""
}
