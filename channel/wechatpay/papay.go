package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// WeChat Pay's entrusted debit (委托代扣, "papay", API v2): the customer
// signs a contract for the merchant's plan on WeChat's page (entrustweb in
// WeChat's browser for wx_pub; h5entrustweb's redirect_url for wx_wap;
// opened from the merchant's APP with preentrustweb's id for wx); WeChat notifies the contract (change_type ADD, and DELETE when it
// ends) as signed v2 XML; a debit is pay/pappayapply with the contract_id,
// its result a v2 PAP pay notification and pay/paporderquery; the
// pre-debit notice is the v3 /v3/papay/contracts/{id}/notify. Every v2
// call is signed with the APIv2 key, which the credentials must hold.

const papayVersion = "1.0"

type papayExtra struct {
	PlanID         string `json:"plan_id"`
	RequestSerial  string `json:"request_serial"`
	DisplayAccount string `json:"display_account"`
	ClientIP       string `json:"client_ip"`
}

var (
	planIDRe = regexp.MustCompile(`^[0-9]{1,28}$`)
	serialRe = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)
)

// parsePapayExtra reads an agreement's extra: plan_id (the plan set up on
// WeChat's merchant platform) is required; request_serial defaults to a
// number drawn from the agreement's creation; display_account to its
// contract_no.
func parsePapayExtra(a *polypay.Agreement) (papayExtra, error) {
	var x papayExtra
	if len(a.Extra) > 0 {
		if err := json.Unmarshal(a.Extra, &x); err != nil {
			return x, polypay.ParamError("extra", "extra must be an object of strings: %v", err)
		}
	}
	if !planIDRe.MatchString(x.PlanID) {
		return x, polypay.ParamError("extra[plan_id]", "WeChat agreements need extra.plan_id, the plan's id (digits) on the merchant platform")
	}
	if x.RequestSerial == "" {
		x.RequestSerial = strconv.FormatInt(a.Created*1000+int64(len(a.ID)%1000), 10)
	}
	if !serialRe.MatchString(x.RequestSerial) {
		return x, polypay.ParamError("extra[request_serial]", "extra.request_serial must be digits without a leading 0")
	}
	if x.DisplayAccount == "" {
		x.DisplayAccount = a.ContractNo
	}
	if x.ClientIP == "" {
		x.ClientIP = "127.0.0.1"
	}
	return x, nil
}

func (c *Client) papayReady() error {
	if c.v2 == nil {
		return polypay.Errorf(polypay.EInvalid, "wx agreements need api_v2_key in the wx credentials: %v", c.v2Err)
	}
	return nil
}

// SignAgreement returns what the customer signs with: for wx_pub
// entrustweb's signed URL (a JSON string; no call: WeChat checks the
// timestamp, so the page must be opened within minutes), for wx_wap the
// redirect_url h5entrustweb answers, and for wx (APP) the OpenSDK request
// carrying preentrustweb's pre_entrustweb_id (AppSignCredential).
func (c *Client) SignAgreement(ctx context.Context, req polypay.AgreementRequest) ([]byte, error) {
	if err := c.notForPartner("agreement"); err != nil {
		return nil, err
	}
	if err := c.papayReady(); err != nil {
		return nil, err
	}
	switch c.channel {
	case ChannelApp, ChannelPub, ChannelWap:
	default:
		return nil, polypay.ParamError("channel", "WeChat agreements are signed on wx, wx_pub or wx_wap, not %s", c.channel)
	}
	a := req.Agreement
	x, err := parsePapayExtra(a)
	if err != nil {
		return nil, err
	}
	fields := []v2Field{{"appid", c.appID}, {"mch_id", c.mchID}, {"plan_id", x.PlanID}, {"contract_code", a.ContractNo},
		{"request_serial", x.RequestSerial}, {"contract_display_account", x.DisplayAccount}, {"notify_url", req.NotifyURL},
		{"version", papayVersion}, {"timestamp", strconv.FormatInt(time.Now().Unix(), 10)}}
	if c.channel == ChannelWap {
		fields = append(fields, v2Field{"clientip", x.ClientIP})
	}
	fields = append(fields, v2Field{"sign", v2Sign(fields, c.v2.key, "MD5")})
	q := url.Values{}
	for _, f := range fields {
		q.Set(f.k, f.v)
	}
	switch c.channel {
	case ChannelApp:
		return c.preEntrust(ctx, fields[:len(fields)-1])
	case ChannelPub:
		return json.Marshal(c.pageBase + "/papay/entrustweb?" + q.Encode())
	}
	m, err := c.v2Get(ctx, "/papay/h5entrustweb?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if m["return_code"] != "SUCCESS" || m["result_code"] != "SUCCESS" || m["redirect_url"] == "" {
		return nil, papayRefusal("h5entrustweb", m)
	}
	return json.Marshal(m["redirect_url"])
}

// AppSignCredential is wx's signing credential: what the merchant's APP
// passes to WeChat's OpenSDK (WXOpenBusinessWebview, businessType 12, with
// queryInfo) to open the signing page.
type AppSignCredential struct {
	BusinessType int               `json:"businessType"`
	QueryInfo    map[string]string `json:"queryInfo"`
}

// preEntrust is APP signing's pre-sign (papay/preentrustweb): fields are
// entrustweb's, unsigned; WeChat answers the pre_entrustweb_id.
func (c *Client) preEntrust(ctx context.Context, fields []v2Field) ([]byte, error) {
	m, err := c.v2Post(ctx, "/papay/preentrustweb", append(fields, v2Field{"return_app", "Y"}))
	if err != nil {
		return nil, err
	}
	if m["return_code"] != "SUCCESS" || m["result_code"] != "SUCCESS" || m["pre_entrustweb_id"] == "" {
		return nil, papayRefusal("preentrustweb", m)
	}
	return json.Marshal(AppSignCredential{BusinessType: 12, QueryInfo: map[string]string{"pre_entrustweb_id": m["pre_entrustweb_id"]}})
}

// QueryAgreement asks papay/querycontract by contract_id once known, else
// by plan and contract_code.
func (c *Client) QueryAgreement(ctx context.Context, a *polypay.Agreement) (*polypay.AgreementInfo, error) {
	if err := c.papayReady(); err != nil {
		return nil, err
	}
	x, err := parsePapayExtra(a)
	if err != nil {
		return nil, err
	}
	fields := []v2Field{{"appid", c.appID}, {"mch_id", c.mchID}}
	if a.ContractID != "" {
		fields = append(fields, v2Field{"contract_id", a.ContractID})
	} else {
		fields = append(fields, v2Field{"plan_id", x.PlanID}, v2Field{"contract_code", a.ContractNo})
	}
	m, err := c.v2Post(ctx, "/papay/querycontract", append(fields, v2Field{"version", papayVersion}))
	if err != nil {
		return nil, err
	}
	info := &polypay.AgreementInfo{ContractNo: a.ContractNo, ContractID: m["contract_id"]}
	switch {
	case m["result_code"] == "FAIL" && m["err_code"] == "CONTRACT_NOT_EXIST":
		info.State = polypay.AgreementNotFound
	case m["result_code"] != "SUCCESS":
		return nil, papayRefusal("querycontract", m)
	case m["contract_state"] == "0":
		info.State, info.At = polypay.AgreementSigned, v2Time(m["contract_signed_time"])
	default:
		info.State, info.At = polypay.AgreementTerminated, v2Time(m["contract_terminated_time"])
	}
	return info, nil
}

// TerminateAgreement calls papay/deletecontract; WeChat answers an ended
// contract's deletion with success too.
func (c *Client) TerminateAgreement(ctx context.Context, a *polypay.Agreement, _ string) error {
	if err := c.papayReady(); err != nil {
		return err
	}
	m, err := c.v2Post(ctx, "/papay/deletecontract", []v2Field{{"appid", c.appID}, {"mch_id", c.mchID}, {"contract_id", a.ContractID},
		{"contract_termination_remark", "merchant canceled the agreement"}, {"version", papayVersion}})
	if err != nil {
		return err
	}
	if m["result_code"] != "SUCCESS" {
		return papayRefusal("deletecontract", m)
	}
	return nil
}

// NotifyDebit sends the v3 pre-debit notice of amount.
func (c *Client) NotifyDebit(ctx context.Context, a *polypay.Agreement, amount int64) error {
	body := map[string]any{"mchid": c.mchID, "appid": c.appID, "estimated_amount": map[string]any{"amount": amount, "currency": "CNY"}}
	_, err := c.api.Post(ctx, DefaultBaseURL+"/v3/papay/contracts/"+url.PathEscape(a.ContractID)+"/notify", body)
	if err != nil {
		return sdkError("pre-debit notice", err)
	}
	return nil
}

// createDebit sends pay/pappayapply for a signed contract: accepted (the
// result comes by notification and paporderquery), or refused.
func (c *Client) createDebit(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	if err := c.papayReady(); err != nil {
		return nil, err
	}
	ch := req.Charge
	m, err := c.v2Post(ctx, "/pay/pappayapply", []v2Field{{"appid", c.appID}, {"mch_id", c.mchID}, {"nonce_str", nonce()},
		{"body", ch.Subject}, {"out_trade_no", ch.ID}, {"total_fee", strconv.FormatInt(ch.Amount, 10)}, {"fee_type", "CNY"},
		{"spbill_create_ip", ch.ClientIP}, {"notify_url", req.NotifyURL}, {"trade_type", "PAP"},
		{"contract_id", req.Agreement.ContractID}})
	if err != nil {
		return nil, err
	}
	if m["result_code"] != "SUCCESS" {
		return nil, papayRefusal("pappayapply", m)
	}
	return []byte("{}"), nil
}

// isDebit reports whether a charge debits an agreement (extra.agreement).
func isDebit(ch *polypay.Charge) bool {
	var x struct {
		Agreement string `json:"agreement"`
	}
	return json.Unmarshal(ch.Extra, &x) == nil && x.Agreement != ""
}

// queryDebit asks pay/paporderquery about a debit.
func (c *Client) queryDebit(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	if err := c.papayReady(); err != nil {
		return nil, err
	}
	m, err := c.v2Post(ctx, "/pay/paporderquery", []v2Field{{"appid", c.appID}, {"mch_id", c.mchID}, {"out_trade_no", ch.ID},
		{"nonce_str", nonce()}})
	if err != nil {
		return nil, err
	}
	if m["result_code"] == "FAIL" && m["err_code"] == "ORDERNOTEXIST" {
		return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
	}
	if m["result_code"] != "SUCCESS" {
		return nil, papayRefusal("paporderquery", m)
	}
	return papTrade(m)
}

// papTrade reads a PAP trade from a query answer or a pay notification.
func papTrade(m map[string]string) (*polypay.Trade, error) {
	t := &polypay.Trade{OutTradeNo: m["out_trade_no"], TransactionNo: m["transaction_id"], TradeID: m["transaction_id"], Currency: "CNY"}
	amount, err := strconv.ParseInt(m["total_fee"], 10, 64)
	if err != nil || amount <= 0 {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay PAP trade: total_fee %q", m["total_fee"])
	}
	t.Amount = amount
	switch m["trade_state"] {
	case "SUCCESS", "REFUND", "":
		t.State = polypay.TradePaid
		if ts, err := time.ParseInLocation("20060102150405", m["time_end"], cst); err == nil {
			t.PaidAt = ts.Unix()
		}
	case "NOTPAY", "USERPAYING", "ACCEPT":
		t.State = polypay.TradePending
	case "PAYERROR", "PAY_FAIL":
		t.State, t.FailureCode, t.FailureMsg = polypay.TradeFailed, m["trade_state"], m["trade_state_desc"]
	default:
		t.State = polypay.TradeClosed
	}
	return t, nil
}

func v2Time(s string) int64 {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// papayRefusal is WeChat's refusal of a papay call (EChannel keeping
// err_code), or an unknown outcome when the call was not even taken.
func papayRefusal(op string, m map[string]string) error {
	if m["return_code"] != "SUCCESS" {
		return fmt.Errorf("wechatpay %s: return_code %s: %s", op, m["return_code"], m["return_msg"])
	}
	code, msg := m["err_code"], m["err_code_des"]
	if code == "SYSTEMERROR" {
		return fmt.Errorf("wechatpay %s: %s %s (outcome unknown)", op, code, msg)
	}
	if msg == "" {
		msg = "wechatpay " + op + " refused: " + code
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg, ChannelMessage: msg}
}

// v2Post sends a signed papay call and returns the answer's fields,
// checking the answer's signature when WeChat took the call.
func (c *Client) v2Post(ctx context.Context, path string, fields []v2Field) (map[string]string, error) {
	fields = append(fields, v2Field{"sign", v2Sign(fields, c.v2.key, "MD5")})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.v2.base+path, bytes.NewReader(v2XML(fields)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	return c.v2Do(req)
}

func (c *Client) v2Get(ctx context.Context, pathAndQuery string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.v2.base+pathAndQuery, nil)
	if err != nil {
		return nil, err
	}
	return c.v2Do(req)
}

func (c *Client) v2Do(req *http.Request) (map[string]string, error) {
	resp, err := c.v2.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxV2Answer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("wechatpay %s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	m, err := parseV2Map(body)
	if err != nil {
		return nil, fmt.Errorf("wechatpay %s: %w", req.URL.Path, err)
	}
	if m["return_code"] == "SUCCESS" && m["sign"] != "" && !c.v2Verified(m) {
		return nil, fmt.Errorf("wechatpay %s: answer signature: %w", req.URL.Path, polypay.ErrBadSignature)
	}
	return m, nil
}

// parseV2Map reads <xml><k>v</k>...</xml> into its fields.
func parseV2Map(body []byte) (map[string]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	m := map[string]string{}
	depth, key := 0, ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not v2 XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && t.Name.Local != "xml" {
				return nil, errors.New("not v2 XML: the root is not <xml>")
			}
			if depth == 2 {
				key = t.Name.Local
				if _, dup := m[key]; dup {
					return nil, fmt.Errorf("not v2 XML: field %q twice", key)
				}
				m[key] = ""
			}
		case xml.CharData:
			if depth == 2 {
				m[key] += string(t)
			}
		case xml.EndElement:
			depth--
		}
	}
	if len(m) == 0 {
		return nil, errors.New("not v2 XML: no fields")
	}
	return m, nil
}

// v2Verified checks a v2 message's sign with the APIv2 key (MD5, or
// HMAC-SHA256 when its sign_type says so).
func (c *Client) v2Verified(m map[string]string) bool {
	fields := make([]v2Field, 0, len(m))
	for k, v := range m {
		fields = append(fields, v2Field{k, v})
	}
	st := m["sign_type"]
	if st == "" {
		st = "MD5"
	}
	return strings.EqualFold(v2Sign(fields, c.v2.key, st), m["sign"])
}

// parseV2Notification reads a verified papay notification: a contract's
// change (ADD, DELETE) or a PAP debit's result.
func (c *Client) parseV2Notification(body []byte) (*polypay.Notification, error) {
	if err := c.papayReady(); err != nil {
		return nil, err
	}
	m, err := parseV2Map(body)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay notification: " + err.Error(), Err: err}
	}
	if m["sign"] == "" || !c.v2Verified(m) {
		return nil, fmt.Errorf("wechatpay v2 notification: %w", polypay.ErrBadSignature)
	}
	if m["return_code"] != "SUCCESS" || m["mch_id"] == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay v2 notification: return_code %q, mch_id %q", m["return_code"], m["mch_id"])
	}
	if ct := m["change_type"]; ct != "" {
		info := &polypay.AgreementInfo{ContractNo: m["contract_code"], ContractID: m["contract_id"], At: v2Time(m["operate_time"])}
		switch ct {
		case "ADD":
			info.State = polypay.AgreementSigned
		case "DELETE":
			info.State = polypay.AgreementTerminated
		default:
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay contract notification: change_type %q", ct)
		}
		if info.ContractNo == "" || info.ContractID == "" {
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay contract notification: contract_code and contract_id are required")
		}
		return &polypay.Notification{Kind: polypay.NotifyAgreement, MerchantID: m["mch_id"], Agreement: info}, nil
	}
	if m["trade_type"] != "PAP" || m["out_trade_no"] == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay v2 notification: neither a contract nor a PAP payment")
	}
	t, err := papTrade(m)
	if err != nil {
		return nil, err
	}
	if m["result_code"] != "SUCCESS" {
		t.State, t.FailureCode, t.FailureMsg = polypay.TradeFailed, m["err_code"], m["err_code_des"]
	}
	return &polypay.Notification{Kind: polypay.NotifyTrade, ID: m["transaction_id"], MerchantID: m["mch_id"], Trade: *t}, nil
}

var (
	_ polypay.Agreer        = (*Client)(nil)
	_ polypay.DebitNotifier = (*Client)(nil)
)
