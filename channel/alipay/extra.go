package alipay

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// extra is a charge's Ping++ extra object, read field by field. Every
// problem is a polypay.ParamError naming "extra[<field>]", as Ping++ does.
type extra map[string]json.RawMessage

func parseExtra(raw json.RawMessage) (extra, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return extra{}, nil
	}
	var e extra
	if err := json.Unmarshal(raw, &e); err != nil || e == nil {
		return nil, polypay.ParamError("extra", "extra must be a JSON object")
	}
	return e, nil
}

func param(name string) string { return "extra[" + name + "]" }

func (e extra) has(name string) bool {
	v, ok := e[name]
	return ok && string(v) != "null"
}

// str reads a string field; required means present and non-empty.
func (e extra) str(name string, required bool) (string, error) {
	if !e.has(name) {
		if required {
			return "", polypay.ParamError(param(name), "缺少参数 %s", param(name))
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(e[name], &s); err != nil {
		return "", polypay.ParamError(param(name), "%s 必须是字符串", param(name))
	}
	if s == "" && required {
		return "", polypay.ParamError(param(name), "缺少参数 %s", param(name))
	}
	return s, nil
}

// url reads an absolute http(s) URL.
func (e extra) url(name string, required bool) (string, error) {
	s, err := e.str(name, required)
	if err != nil || s == "" {
		return s, err
	}
	if !webURL(s) {
		return "", polypay.ParamError(param(name), "%s 必须是 http 或 https 的绝对地址", param(name))
	}
	return s, nil
}

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// boolean reads a flag. Ping++'s SDKs send JSON booleans; the strings
// "true" and "false" (form-encoding SDKs) are taken as well.
func (e extra) boolean(name string) (bool, error) {
	if !e.has(name) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(e[name], &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(e[name], &s); err == nil {
		if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
			return b, nil
		}
	}
	return false, polypay.ParamError(param(name), "%s 必须是 true 或 false", param(name))
}

// digitsField reads a field given as a string or a JSON number of decimal
// digits (qrcode_width, goods prices in fen).
func digitsField(name string, raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", polypay.ParamError(name, "%s 必须是数字", name)
		}
		s = n.String()
	}
	if s == "" || len(s) > 12 || !digits(s) {
		return "", polypay.ParamError(name, "%s 必须是非负整数", name)
	}
	return s, nil
}

// appExtra is alipay's optional extra. extern_token and rn_check belong to
// the legacy mobile.securitypay.pay service; alipay.trade.app.pay has no
// counterpart, so they are checked and not forwarded.
func appExtra(e extra) error {
	if _, err := e.str("extern_token", false); err != nil {
		return err
	}
	rn, err := e.str("rn_check", false)
	if err != nil {
		return err
	}
	if rn != "" && rn != "T" && rn != "F" {
		return polypay.ParamError(param("rn_check"), "extra[rn_check] 只能是 T 或 F")
	}
	return nil
}

// wapParams is alipay_wap's extra: success_url (required) becomes
// return_url, cancel_url becomes quit_url unless app_pay is set (the buyer
// then goes to the Alipay app and never comes back through quit_url).
// new_version only mattered to Ping++'s legacy merchants and is checked,
// not used.
type wapParams struct {
	successURL, cancelURL string
}

func wapExtra(e extra) (wapParams, error) {
	var p wapParams
	var err error
	if p.successURL, err = e.url("success_url", true); err != nil {
		return p, err
	}
	if p.cancelURL, err = e.url("cancel_url", false); err != nil {
		return p, err
	}
	appPay, err := e.boolean("app_pay")
	if err != nil {
		return p, err
	}
	if _, err := e.boolean("new_version"); err != nil {
		return p, err
	}
	if appPay {
		p.cancelURL = ""
	}
	return p, nil
}

// pcParams is alipay_pc_direct's extra: success_url (required) becomes
// return_url; qr_pay_mode (0–4) and qrcode_width are passed on.
// enable_anti_phishing_key and exter_invoke_ip belong to the legacy
// create_direct_pay_by_user service and are checked, not used.
type pcParams struct {
	successURL, qrPayMode, qrcodeWidth string
}

func pcExtra(e extra) (pcParams, error) {
	var p pcParams
	var err error
	if p.successURL, err = e.url("success_url", true); err != nil {
		return p, err
	}
	if e.has("qr_pay_mode") {
		if p.qrPayMode, err = digitsField(param("qr_pay_mode"), e["qr_pay_mode"]); err != nil {
			return p, err
		}
		if len(p.qrPayMode) != 1 || p.qrPayMode[0] > '4' {
			return p, polypay.ParamError(param("qr_pay_mode"), "extra[qr_pay_mode] 只能是 0 到 4")
		}
	}
	if e.has("qrcode_width") {
		if p.qrcodeWidth, err = digitsField(param("qrcode_width"), e["qrcode_width"]); err != nil {
			return p, err
		}
	}
	if _, err := e.boolean("enable_anti_phishing_key"); err != nil {
		return p, err
	}
	if _, err := e.str("exter_invoke_ip", false); err != nil {
		return p, err
	}
	return p, nil
}

// scanParams is alipay_scan's extra: the buyer's payment code and the
// merchant's terminal are required.
type scanParams struct {
	authCode, terminalID, operatorID, storeID, provider string
	goods                                               []*sdk.GoodsDetailItem
}

func scanExtra(e extra) (scanParams, error) {
	var p scanParams
	var err error
	if p.authCode, err = e.str("scan_code", true); err != nil {
		return p, err
	}
	if len(p.authCode) > 32 {
		return p, polypay.ParamError(param("scan_code"), "extra[scan_code] 过长")
	}
	if p.terminalID, err = e.str("terminal_id", true); err != nil {
		return p, err
	}
	if len(p.terminalID) > 32 {
		return p, polypay.ParamError(param("terminal_id"), "extra[terminal_id] 最长 32 个字符")
	}
	if p.operatorID, err = e.str("operator_id", false); err != nil {
		return p, err
	}
	if p.storeID, err = e.str("store_id", false); err != nil {
		return p, err
	}
	if p.provider, err = e.str("sys_service_provider_id", false); err != nil {
		return p, err
	}
	if e.has("goods_list") {
		if p.goods, err = goodsList(e["goods_list"]); err != nil {
			return p, err
		}
	}
	return p, nil
}

// goodsList maps Ping++'s goods_list (price in fen) to Alipay's
// goods_detail (price in yuan).
func goodsList(raw json.RawMessage) ([]*sdk.GoodsDetailItem, error) {
	name := param("goods_list")
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, polypay.ParamError(name, "extra[goods_list] 必须是对象数组")
	}
	out := make([]*sdk.GoodsDetailItem, 0, len(items))
	for _, it := range items {
		e := extra(it)
		var g sdk.GoodsDetailItem
		var err error
		if g.GoodsId, err = e.str("goods_id", true); err != nil {
			return nil, polypay.ParamError(name, "extra[goods_list] 的每一项都要有 goods_id")
		}
		if g.GoodsName, err = e.str("goods_name", true); err != nil {
			return nil, polypay.ParamError(name, "extra[goods_list] 的每一项都要有 goods_name")
		}
		qty, err := digitsField(name, it["quantity"])
		if err != nil {
			return nil, polypay.ParamError(name, "extra[goods_list] 的 quantity 必须是正整数")
		}
		if g.Quantity, err = strconv.Atoi(qty); err != nil || g.Quantity < 1 {
			return nil, polypay.ParamError(name, "extra[goods_list] 的 quantity 必须是正整数")
		}
		price, err := digitsField(name, it["price"])
		if err != nil {
			return nil, polypay.ParamError(name, "extra[goods_list] 的 price 是以分为单位的整数")
		}
		fen, _ := strconv.ParseInt(price, 10, 64) // ≤ 12 checked digits
		g.Price = formatYuan(fen)
		for _, f := range []struct {
			key string
			dst *string
		}{{"goods_category", &g.GoodsCategory}, {"body", &g.Body}, {"show_url", &g.ShowUrl}} {
			if *f.dst, err = e.str(f.key, false); err != nil {
				return nil, polypay.ParamError(name, "extra[goods_list] 的 %s 必须是字符串", f.key)
			}
		}
		out = append(out, &g)
	}
	return out, nil
}

// liteBuyer is alipay_lite's extra: the payer's Alipay user id.
func liteBuyer(e extra) (string, error) {
	id, err := e.str("buyer_id", true)
	if err != nil {
		return "", err
	}
	if len(id) > 64 {
		return "", polypay.ParamError(param("buyer_id"), "extra[buyer_id] 过长")
	}
	return id, nil
}
