package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// Alipay's personal debit agreements (商家扣款, 周期扣款): the customer
// signs on alipay.user.agreement.page.sign (the credential is that page's
// signed URL); Alipay notifies dut_user_sign, and dut_user_unsign when the
// agreement ends (the customer in the app, or alipay.user.agreement.unsign);
// a debit is alipay.trade.pay with agreement_params instead of a payment
// code, answered at once like a scanned code.

// Products and defaults of a debit agreement (the merchant's Alipay
// contract fixes which it may use; extra may name others).
const (
	productWithholding   = "GENERAL_WITHHOLDING"   // 商家扣款
	personalWithholding  = "GENERAL_WITHHOLDING_P" // its personal product code
	defaultSignScene     = "INDUSTRY|DIGITAL_MEDIA"
	subAgreementNotExist = "USER_AGREEMENT_NOT_EXIST"
)

type agreementExtra struct {
	ProductCode         string          `json:"product_code"`
	PersonalProductCode string          `json:"personal_product_code"`
	SignScene           string          `json:"sign_scene"`
	ExternalLogonID     string          `json:"external_logon_id"`
	ReturnURL           string          `json:"return_url"`
	PeriodRule          json.RawMessage `json:"period_rule_params"`
}

var productRe = regexp.MustCompile(`^[A-Z_]{1,64}$`)

// parseAgreementExtra reads an agreement's extra with Alipay's defaults.
func parseAgreementExtra(raw json.RawMessage) (agreementExtra, error) {
	var x agreementExtra
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &x); err != nil {
			return x, polypay.ParamError("extra", "extra must be an object: %v", err)
		}
	}
	if x.ProductCode == "" {
		x.ProductCode = productWithholding
	}
	if x.PersonalProductCode == "" {
		x.PersonalProductCode = personalWithholding
	}
	if x.SignScene == "" {
		x.SignScene = defaultSignScene
	}
	for name, v := range map[string]string{"product_code": x.ProductCode, "personal_product_code": x.PersonalProductCode} {
		if !productRe.MatchString(v) {
			return x, polypay.ParamError("extra["+name+"]", "extra.%s must be an Alipay product code", name)
		}
	}
	if x.ReturnURL != "" {
		if u, err := url.Parse(x.ReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return x, polypay.ParamError("extra[return_url]", "extra.return_url must be an http(s) URL")
		}
	}
	return x, nil
}

// SignAgreement signs alipay.user.agreement.page.sign for the browser:
// the credential is the gateway URL the client opens (a JSON string). No
// call to Alipay: signing again gives an equivalent page.
func (c *Client) SignAgreement(ctx context.Context, req polypay.AgreementRequest) ([]byte, error) {
	a := req.Agreement
	if c.channel != ChannelApp {
		return nil, polypay.ParamError("channel", "Alipay agreements are signed on channel alipay, not %s", c.channel)
	}
	x, err := parseAgreementExtra(a.Extra)
	if err != nil {
		return nil, err
	}
	p := sdk.AgreementPageSign{AppAuthToken: c.token, NotifyURL: req.NotifyURL, ReturnURL: x.ReturnURL, ProductCode: x.ProductCode,
		PersonalProductCode: x.PersonalProductCode, SignScene: x.SignScene, ExternalAgreementNo: a.ContractNo,
		ExternalLogonId: x.ExternalLogonID, AccessParams: &sdk.AccessParams{Channel: "ALIPAYAPP"}}
	if len(x.PeriodRule) > 0 {
		var pr sdk.PeriodRuleParams
		if err := json.Unmarshal(x.PeriodRule, &pr); err != nil {
			return nil, polypay.ParamError("extra[period_rule_params]", "extra.period_rule_params must be Alipay's period rule object: %v", err)
		}
		p.PeriodRuleParams = &pr
	}
	u, err := c.api.AgreementPageSign(p)
	if err != nil {
		return nil, fmt.Errorf("alipay agreement page sign: %w", err)
	}
	return json.Marshal(u.String())
}

// QueryAgreement asks alipay.user.agreement.query by Alipay's agreement_no
// once known, else by the merchant's number.
func (c *Client) QueryAgreement(ctx context.Context, a *polypay.Agreement) (*polypay.AgreementInfo, error) {
	x, err := parseAgreementExtra(a.Extra)
	if err != nil {
		return nil, err
	}
	q := sdk.AgreementQuery{AppAuthToken: c.token, AgreementNo: a.ContractID}
	if a.ContractID == "" {
		q = sdk.AgreementQuery{AppAuthToken: c.token, ExternalAgreementNo: a.ContractNo, PersonalProductCode: x.PersonalProductCode, SignScene: x.SignScene}
	}
	rsp, err := c.api.AgreementQuery(ctx, q)
	if err != nil {
		return nil, sdkError("agreement query", err)
	}
	info := &polypay.AgreementInfo{ContractNo: rsp.ExternalAgreementNo, ContractID: rsp.AgreementNo}
	if rsp.Code != codeSuccess {
		if rsp.SubCode == subAgreementNotExist {
			info.State, info.ContractNo = polypay.AgreementNotFound, a.ContractNo
			return info, nil
		}
		return nil, apiError("agreement query", rsp.Error)
	}
	info.State = agreementState(rsp.Status)
	info.At, _ = parseTime(rsp.SignTime)
	return info, nil
}

// agreementState maps Alipay's agreement status. STOP (paused) is not an
// end: the agreement stays as polypay has it.
func agreementState(s string) polypay.AgreementState {
	switch s {
	case "NORMAL":
		return polypay.AgreementSigned
	case "UNSIGN":
		return polypay.AgreementTerminated
	}
	return polypay.AgreementPending
}

// TerminateAgreement calls alipay.user.agreement.unsign; an agreement
// Alipay no longer has is ended already.
func (c *Client) TerminateAgreement(ctx context.Context, a *polypay.Agreement, notifyURL string) error {
	rsp, err := c.api.AgreementUnsign(ctx, sdk.AgreementUnsign{AppAuthToken: c.token, AgreementNo: a.ContractID, NotifyURL: notifyURL})
	if err != nil {
		return sdkError("agreement unsign", err)
	}
	if rsp.Code == codeSuccess || rsp.SubCode == subAgreementNotExist {
		return nil
	}
	return apiError("agreement unsign", rsp.Error)
}

// createDebit charges a signed agreement: alipay.trade.pay with
// agreement_params, settled at once; an unknown outcome is reversed as
// for a scanned code.
func (c *Client) createDebit(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	x, err := parseAgreementExtra(req.Agreement.Extra)
	if err != nil {
		return nil, err
	}
	p := sdk.TradePay{Trade: c.order(req, x.ProductCode), AgreementParams: &sdk.AgreementParams{AgreementNo: req.Agreement.ContractID}}
	return c.tradePay(ctx, req.Charge, p, "debit")
}

// parseAgreementNotice reads a verified dut_user_sign / dut_user_unsign
// notification.
func parseAgreementNotice(values url.Values) (*polypay.Notification, error) {
	info := &polypay.AgreementInfo{ContractNo: values.Get("external_agreement_no"), ContractID: values.Get("agreement_no")}
	when := "sign_time"
	switch values.Get("notify_type") {
	case "dut_user_sign":
		info.State = polypay.AgreementSigned
	case "dut_user_unsign":
		info.State, when = polypay.AgreementTerminated, "unsign_time"
	}
	if info.ContractNo == "" || info.ContractID == "" || values.Get("app_id") == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "alipay agreement notification: app_id, agreement_no and external_agreement_no are required")
	}
	at, err := notifyTime(when, values.Get(when))
	if err != nil {
		return nil, err
	}
	info.At = at
	return &polypay.Notification{Kind: polypay.NotifyAgreement, ID: values.Get("notify_id"), MerchantID: values.Get("app_id"),
		Agreement: info}, nil
}
