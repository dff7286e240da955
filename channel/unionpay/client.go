// Package unionpay is the UnionPay online gateway (银联全渠道, ACP 5.1.0)
// connector for Ping++'s channels upacp (in-app control, tn), upacp_wap and
// upacp_pc (front-gateway form posted by the browser) and applepay_upacp
// (Apple Pay through UnionPay, tn). There is no usable Go SDK here, so the
// protocol is implemented from UnionPay's documentation: signMethod 01
// (RSA-SHA256 over the hex SHA-256 of the sorted fields), answers and
// notifications verified with the signPubKeyCert they carry after checking
// its chain to the configured root and middle certificates and that it is
// UnionPay's.
//
// Order numbers: UnionPay's orderId is 8-40 letters and digits, so a
// polypay charge id "ch_<24 base62>" travels as "ch<24 base62>" (the one
// '_' removed; see OrderID and ChargeID); refunds use their own order_no
// (24 base62 characters) as orderId and carry the charge's orderId in
// reqReserved, which UnionPay echoes in the refund's notification. txnTime,
// which UnionPay needs again to query an order, is the charge's (or
// refund's) creation time in Beijing time, so every call for one charge
// sends the same one.
//
// Pre-authorization (capture=false) sends txnType 02 instead of 01 with the
// same fields and customer flow; Capture is the completion (03) and Void
// the cancel (32), both under orderIds derived from the charge's ("pc"/"pv"
// for "ch") with origQryId the hold's queryId. UnionPay would complete up
// to 115% of the held amount; polypay never takes more than was held.
// Completions and cancels reuse the charge's txnTime, not the current time
// UnionPay's demos ask for: UnionPay finds an order only by orderId and
// txnTime, and a fixed pair is what lets a query, or a capture repeated
// after a lost answer, find the completion again. If UnionPay refuses a
// stale txnTime on those (the demos warn of "txnTime无效"), this is the
// place to change, at the cost of that idempotency.
//
// Payouts (代付, Ping++'s transfer channel unionpay) are payout.go: every
// connector of the family implements polypay.Payouter, and its
// ParseNotification reads payout notifications too.
package unionpay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// Ping++ channel names served by this connector.
const (
	ChannelApp      = "upacp"          // in-app control: appTransReq.do → tn
	ChannelWap      = "upacp_wap"      // mobile web: frontTransReq.do form, channelType 08
	ChannelPC       = "upacp_pc"       // PC web: frontTransReq.do form, channelType 07
	ChannelApplePay = "applepay_upacp" // Apple Pay through UnionPay: appTransReq.do → tn
)

// Channels lists every channel of the family.
var Channels = []string{ChannelApp, ChannelWap, ChannelPC, ChannelApplePay, ChannelScan}

// PreAuthChannels take pre-authorizations (txnType 02); a scanned code's
// purchase (upacp_scan) does not.
var PreAuthChannels = []string{ChannelApp, ChannelWap, ChannelPC, ChannelApplePay}

// ChannelPayout is Ping++'s transfer channel of UnionPay (代付, payout.go).
// It charges nothing, so it is not one of the family's Channels; New takes
// it for a connector that only pays out (any of the family's connectors
// pays out too).
const ChannelPayout = "unionpay"

// Production hosts.
const (
	DefaultBaseURL = "https://gateway.95516.com"
	DefaultFileURL = "https://filedownload.95516.com/"
)

// FrontURL is UnionPay's production front gateway, where pingpp-js posts
// upacp_wap and upacp_pc credentials.
const FrontURL = DefaultBaseURL + PathFront

// Gateway paths under the base URL.
const (
	PathFront = "/gateway/api/frontTransReq.do"
	PathApp   = "/gateway/api/appTransReq.do"
	PathBack  = "/gateway/api/backTransReq.do"
	PathQuery = "/gateway/api/queryTrans.do"
)

// Protocol constants.
const (
	Version      = "5.1.0"
	currencyCNY  = "156"
	bizPurchase  = "000201" // B2C gateway payment, pre-authorization included
	bizNone      = "000000" // queries, file transfer
	channelPC    = "07"
	channelPhone = "08"
)

var cst = time.FixedZone("CST", 8*3600)

// Config holds one merchant's UnionPay credentials.
type Config struct {
	MerID string
	// PrivateKeyPEM is the merchant signing key (PKCS#1 or PKCS#8) and
	// SignCertPEM its certificate; certId is the certificate's serial in
	// decimal.
	PrivateKeyPEM string
	SignCertPEM   string
	// RootCertPEM and MiddleCertPEM are UnionPay's root and middle
	// certificates, the only trust anchors for signPubKeyCert.
	RootCertPEM   string
	MiddleCertPEM string
	// EncryptCertPEM is UnionPay's encryption certificate, which payouts
	// encrypt the card number with (encryptCertId is its serial); without
	// it the number is sent in the clear, as UnionPay's test environment
	// allows.
	EncryptCertPEM string
	// AppleMerchantID is the Apple Pay merchant id (merchant.com...),
	// required for applepay_upacp.
	AppleMerchantID string
	// BaseURL is the gateway host, default DefaultBaseURL; FileURL the file
	// transfer service, default DefaultFileURL.
	BaseURL string
	FileURL string
	// FrontURL is the gateway host the customer's browser posts the
	// upacp_wap/upacp_pc form to, default BaseURL (they differ only when
	// the server reaches the gateway by another address than browsers do,
	// as with the sandbox's loopback simulator).
	FrontURL string
	// Test makes the app credentials' mode "01" (UnionPay's test
	// environment) instead of "00".
	Test bool
	// SubMerchant, when its ID is set, makes every call a platform
	// merchant's (平台商户接入, accessType 2) for that sub-merchant.
	SubMerchant SubMerchant
	HTTPClient  *http.Client
	Now         func() time.Time
}

// Client is one merchant's connector for one channel.
type Client struct {
	channel string
	merID   string
	certID  string
	key     *rsa.PrivateKey
	vf      *verifier
	enc     *encrypter // nil: card numbers travel in the clear
	base    string
	front   string // the gateway host browsers post the front form to
	fileURL string
	mode    string
	appleID string
	sub     SubMerchant // ID "" for the merchant's own business
	hc      *http.Client
	now     func() time.Time
}

var (
	_ polypay.Channel     = (*Client)(nil)
	_ polypay.Statementer = (*Client)(nil)
	_ polypay.Authorizer  = (*Client)(nil)
	_ polypay.Payouter    = (*Client)(nil)
)

// New builds the connector. EInvalid for an unknown channel or unusable
// credentials.
func New(channel string, cfg Config) (*Client, error) {
	switch channel {
	case ChannelApp, ChannelWap, ChannelPC, ChannelApplePay, ChannelScan, ChannelPayout:
	default:
		return nil, polypay.Errorf(polypay.EInvalid, "unionpay: %q is not a UnionPay channel", channel)
	}
	if !validMerID(cfg.MerID) {
		return nil, polypay.Errorf(polypay.EInvalid, "unionpay: mer_id must be 15 letters or digits")
	}
	key, cert, err := KeyPair(cfg.PrivateKeyPEM, cfg.SignCertPEM)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "unionpay: " + err.Error(), Err: err}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	vf, err := newVerifier(cfg.RootCertPEM, cfg.MiddleCertPEM, cfg.Now)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "unionpay: " + err.Error(), Err: err}
	}
	c := &Client{channel: channel, merID: cfg.MerID, certID: cert.SerialNumber.String(), key: key, vf: vf,
		base: strings.TrimRight(cfg.BaseURL, "/"), front: strings.TrimRight(cfg.FrontURL, "/"), fileURL: cfg.FileURL, mode: "00", appleID: cfg.AppleMerchantID,
		hc: cfg.HTTPClient, now: cfg.Now, sub: cfg.SubMerchant}
	if err := c.sub.check(); err != nil {
		return nil, err
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.front == "" {
		c.front = c.base
	}
	if c.fileURL == "" {
		c.fileURL = DefaultFileURL
	}
	if cfg.Test {
		c.mode = "01"
	}
	if cfg.EncryptCertPEM != "" {
		if c.enc, err = newEncrypter(cfg.EncryptCertPEM, vf); err != nil {
			return nil, &polypay.Error{Code: polypay.EInvalid, Message: "unionpay: encrypt_cert: " + err.Error(), Err: err}
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}

func validMerID(s string) bool { return len(s) == 15 && alnum(s) }

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

// KeyPair parses the merchant key and certificate and checks that they
// belong together.
func KeyPair(keyPEM, certPEM string) (*rsa.PrivateKey, *x509.Certificate, error) {
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return nil, nil, errors.New("private_key is not PEM")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		key = k
	} else if k8, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		k, ok := k8.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, errors.New("private_key is not an RSA key")
		}
		key = k
	} else {
		return nil, nil, errors.New("private_key is not a PKCS#1 or PKCS#8 key")
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("sign_cert: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("sign_cert is not the certificate of private_key")
	}
	return key, cert, nil
}

// OrderID is the orderId a charge travels under: its id without the '_'.
func OrderID(chargeID string) (string, error) {
	body, ok := strings.CutPrefix(chargeID, "ch_")
	id := "ch" + body
	if !ok || len(id) < 8 || len(id) > 40 || !alnum(body) {
		return "", polypay.ParamError("id", "charge id %q cannot be a UnionPay orderId", chargeID)
	}
	return id, nil
}

// ChargeID reverses OrderID; "" for an orderId polypay did not make.
func ChargeID(orderID string) string {
	body, ok := strings.CutPrefix(orderID, "ch")
	if !ok || body == "" || !alnum(body) {
		return ""
	}
	return "ch_" + body
}

// TxnTime formats a unix time as UnionPay's txnTime (Beijing time).
func TxnTime(unix int64) string { return time.Unix(unix, 0).In(cst).Format("20060102150405") }

func checkMoney(currency string, amount int64) error {
	if currency != "" && currency != "cny" {
		return polypay.ParamError("currency", "UnionPay online gateway charges in cny only, not %s", currency)
	}
	if amount <= 0 || amount > 99_999_999_999 {
		return polypay.ParamError("amount", "amount must be 1 to 99999999999 fen")
	}
	return nil
}

// parseFen reads a txnAmt: digits only, fen.
func parseFen(s string) (int64, error) {
	if s == "" || len(s) > 12 || !digits(s) {
		return 0, fmt.Errorf("unionpay: txnAmt %q is not an amount in fen", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

type extra struct {
	ResultURL string `json:"result_url"`
}

// base fills the fields every request carries.
func (c *Client) fields(txnType, txnSubType, bizType string) map[string]string {
	f := map[string]string{"version": Version, "encoding": "UTF-8", "signMethod": "01", "certId": c.certID,
		"merId": c.merID, "accessType": "0", "txnType": txnType, "txnSubType": txnSubType, "bizType": bizType}
	c.sub.add(f)
	return f
}

// CreateCharge returns the credential: {tn, mode} for upacp, plus
// merchant_id for applepay_upacp, both after appTransReq.do; for upacp_wap
// and upacp_pc the signed front-gateway form fields (nothing is sent to
// UnionPay until the customer's browser posts). pingpp-js posts every key
// of that credential to UnionPay's production front gateway, which checks
// the signature over every field it receives, so channel_url (the action)
// is added only for any other gateway (the sandbox), where clients take it
// out first as pingpp-js does for upacp_b2b. Repeating it for one charge
// sends the same orderId and txnTime. EInvalid for a bad charge or extra;
// EChannel when UnionPay refuses.
func (c *Client) CreateCharge(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	if c.channel == ChannelPayout {
		return nil, polypay.ErrNotSupported(c.channel, "charges")
	}
	ch := req.Charge
	if err := checkMoney(ch.Currency, ch.Amount); err != nil {
		return nil, err
	}
	orderID, err := OrderID(ch.ID)
	if err != nil {
		return nil, err
	}
	if c.channel == ChannelScan {
		return c.createScan(ctx, req, orderID)
	}
	txnType := txnPurchase
	if req.AuthorizeOnly {
		txnType = txnPreAuth // same fields, same customer flow; the card is only held
	}
	f := c.fields(txnType, "01", bizPurchase)
	f["orderId"], f["txnTime"], f["txnAmt"] = orderID, TxnTime(ch.Created), strconv.FormatInt(ch.Amount, 10)
	f["currencyCode"], f["backUrl"], f["channelType"] = currencyCNY, req.NotifyURL, channelPhone
	if ch.TimeExpire != 0 {
		f["payTimeout"] = TxnTime(ch.TimeExpire)
	}
	switch c.channel {
	case ChannelWap, ChannelPC:
		var ex extra
		if len(ch.Extra) > 0 {
			if err := json.Unmarshal(ch.Extra, &ex); err != nil {
				return nil, polypay.ParamError("extra", "extra must be an object: %v", err)
			}
		}
		u, err := url.Parse(ex.ResultURL)
		if ex.ResultURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, polypay.ParamError("extra[result_url]", "%s requires extra.result_url, an http(s) URL", c.channel)
		}
		f["frontUrl"] = ex.ResultURL
		if c.channel == ChannelPC {
			f["channelType"] = channelPC
		}
		if err := Sign(c.key, f); err != nil {
			return nil, err
		}
		// pingpp-js posts every credential key to UnionPay's production
		// front gateway, which would refuse an unsigned extra field: only a
		// credential for another gateway (the simulator) names it.
		if front := c.front + PathFront; front != FrontURL {
			f["channel_url"] = front
		}
		return json.Marshal(f)
	case ChannelApplePay:
		if c.appleID == "" {
			return nil, polypay.ParamError("channel", "applepay_upacp needs apple_merchant_id in the upacp credentials")
		}
	}
	rsp, err := c.post(ctx, c.base+PathApp, f)
	if err != nil {
		return nil, err
	}
	if rsp["respCode"] != "00" || rsp["tn"] == "" {
		return nil, refusal("appTransReq", rsp)
	}
	cred := map[string]string{"tn": rsp["tn"], "mode": c.mode}
	if c.channel == ChannelApplePay {
		cred["merchant_id"] = c.appleID
	}
	return json.Marshal(cred)
}

// post signs and sends a request and returns the verified answer.
func (c *Client) post(ctx context.Context, endpoint string, f map[string]string) (map[string]string, error) {
	if err := Sign(c.key, f); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unionpay txnType %s: %w", f["txnType"], err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("unionpay txnType %s: %w", f["txnType"], err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unionpay txnType %s: HTTP %d: %s", f["txnType"], res.StatusCode, clip(string(bytes.TrimSpace(body))))
	}
	rsp, err := ParseResponse(string(body))
	if err != nil {
		return nil, err
	}
	if err := c.vf.verify(rsp); err != nil {
		return nil, fmt.Errorf("unionpay txnType %s answer: %w", f["txnType"], err)
	}
	return rsp, nil
}

// refusal is the error for an answer whose respCode is not a success;
// codes that leave the outcome unknown stay plain (retryable) errors.
func refusal(op string, rsp map[string]string) error {
	code, msg := rsp["respCode"], rsp["respMsg"]
	if unknownOutcome(code) {
		return fmt.Errorf("unionpay %s: outcome unknown (respCode %s %s)", op, code, msg)
	}
	if msg == "" {
		msg = "UnionPay " + op + " refused with respCode " + code
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg}
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg, ChannelMessage: msg}
}

// QueryCharge asks queryTrans.do about the charge's orderId. TradeNotFound
// when UnionPay has no such order (respCode 34: the customer never
// submitted payment).
func (c *Client) QueryCharge(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	orderID, err := OrderID(ch.ID)
	if err != nil {
		return nil, err
	}
	rsp, err := c.query(ctx, orderID, ch.Created)
	if err != nil {
		return nil, err
	}
	t := &polypay.Trade{OutTradeNo: ch.ID}
	if rsp["respCode"] == "34" {
		t.State = polypay.TradeNotFound
		return t, nil
	}
	if rsp["respCode"] != "00" {
		return nil, refusal("query", rsp)
	}
	if rsp["orderId"] != orderID || rsp["merId"] != c.merID {
		return nil, fmt.Errorf("unionpay query: answer names order %q of merchant %q", rsp["orderId"], rsp["merId"])
	}
	if rsp["txnType"] == txnPreAuth {
		return c.preAuthTrade(ctx, ch, orderID, rsp)
	}
	st, err := origState(rsp["origRespCode"])
	if err != nil {
		return nil, err
	}
	t.TradeID, t.Currency = rsp["queryId"], rsp["currencyCode"]
	switch st {
	case polypay.TradePaid:
		if t.Amount, err = parseFen(rsp["txnAmt"]); err != nil {
			return nil, err
		}
		t.TransactionNo = rsp["queryId"]
		t.PaidAt = traceTime(rsp["traceTime"], c.now())
	case polypay.TradeFailed:
		t.FailureCode, t.FailureMsg = rsp["origRespCode"], rsp["origRespMsg"]
	}
	t.State = st
	return t, nil
}

func (c *Client) query(ctx context.Context, orderID string, created int64) (map[string]string, error) {
	f := c.fields("00", "00", bizNone)
	f["orderId"], f["txnTime"] = orderID, TxnTime(created)
	return c.post(ctx, c.base+PathQuery, f)
}

// traceTime reads UnionPay's MMDDhhmmss (Beijing time) as the most recent
// such moment not after now; 0 when absent or malformed.
func traceTime(s string, now time.Time) int64 {
	if len(s) != 10 || !digits(s) {
		return 0
	}
	n := now.In(cst)
	t, err := time.ParseInLocation("20060102150405", strconv.Itoa(n.Year())+s, cst)
	if err != nil {
		return 0
	}
	if t.After(n.Add(time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t.Unix()
}

// CloseCharge: UnionPay has no way to close an unpaid order; it lapses at
// the payTimeout sent with it (the charge's time_expire). Closing
// therefore succeeds once that moment has passed (or when UnionPay never
// saw the order and it has passed), and is ENotSupported before it. A paid
// order is an EChannel error; reversing it is Cancel's job (txnType 31).
func (c *Client) CloseCharge(ctx context.Context, ch *polypay.Charge) error {
	t, err := c.QueryCharge(ctx, ch)
	if err != nil {
		return err
	}
	switch t.State {
	case polypay.TradePaid:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "00", Message: "UnionPay order " + ch.ID + " is paid; it can only be cancelled (same day) or refunded"}
	case polypay.TradeAuthorized:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "00", Message: "UnionPay pre-authorization " + ch.ID + " holds funds; void it (txnType 32)"}
	case polypay.TradeClosed:
		return nil
	}
	if deadline := payDeadline(ch); t.State == polypay.TradePending || deadline == 0 || c.now().Unix() < deadline {
		return polypay.ErrNotSupported(c.channel, "closing an unpaid order before its payTimeout")
	}
	return nil
}

// Cancel reverses a paid purchase on the day it was made (消费撤销,
// txnType 31, always the full amount; after the settlement day only Refund
// works). Its orderId is "rv" plus the charge id's body, so repeating it
// for a charge finds the first one (respCode 12) and succeeds. EChannel
// when UnionPay refuses (35: not cancellable any more).
func (c *Client) Cancel(ctx context.Context, ch *polypay.Charge, notifyURL string) error {
	if ch.TransactionNo == "" {
		t, err := c.QueryCharge(ctx, ch)
		if err != nil {
			return err
		}
		if t.State != polypay.TradePaid {
			return &polypay.Error{Code: polypay.EChannel, ChannelCode: "35", Message: "原交易不存在或状态不正确"}
		}
		ch.TransactionNo = t.TransactionNo
	}
	orderID, err := OrderID(ch.ID)
	if err != nil {
		return err
	}
	f := c.fields("31", "00", bizOf(ch))
	f["orderId"], f["origQryId"], f["txnAmt"], f["txnTime"] = "rv"+orderID[2:], ch.TransactionNo, strconv.FormatInt(ch.Amount, 10), TxnTime(c.now().Unix())
	f["backUrl"], f["channelType"], f["reqReserved"] = notifyURL, channelPC, orderID
	rsp, err := c.post(ctx, c.base+PathBack, f)
	if err != nil {
		return err
	}
	switch rsp["respCode"] {
	case "00", "12":
		return nil
	}
	return refusal("cancel", rsp)
}

// Refund sends txnType 04 under the refund's own orderId. UnionPay only
// accepts it (respCode 00) and settles it later, so the refund is then
// queried once; a repeat (respCode 12) is answered by the query too.
// Refusals are failed refunds; unknown outcomes are errors to retry.
func (c *Client) Refund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund, notifyURL string) (*polypay.RefundResult, error) {
	if err := checkMoney(r.Currency, r.Amount); err != nil {
		return nil, err
	}
	orderID, err := OrderID(ch.ID)
	if err != nil {
		return nil, err
	}
	if len(r.OrderNo) < 8 || len(r.OrderNo) > 40 || !alnum(r.OrderNo) {
		return nil, polypay.ParamError("order_no", "refund order_no %q cannot be a UnionPay orderId", r.OrderNo)
	}
	origQryID := ch.TransactionNo
	if origQryID == "" {
		t, err := c.QueryCharge(ctx, ch)
		if err != nil {
			return nil, err
		}
		if t.State != polypay.TradePaid {
			return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: "35", FailureMsg: "原交易不存在或状态不正确"}, nil
		}
		origQryID = t.TransactionNo
	}
	f := c.fields("04", "00", bizOf(ch))
	f["orderId"], f["origQryId"], f["txnAmt"], f["txnTime"] = r.OrderNo, origQryID, strconv.FormatInt(r.Amount, 10), TxnTime(r.Created)
	f["backUrl"], f["channelType"], f["reqReserved"] = notifyURL, channelPC, orderID
	rsp, err := c.post(ctx, c.base+PathBack, f)
	if err != nil {
		return nil, err
	}
	switch code := rsp["respCode"]; {
	case code == "00" || code == "12":
		return c.QueryRefund(ctx, ch, r)
	case unknownOutcome(code):
		return &polypay.RefundResult{Status: polypay.RefundPending}, nil
	case retryable(code):
		return nil, fmt.Errorf("unionpay refund: respCode %s %s, try again", code, rsp["respMsg"])
	default:
		return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: code, FailureMsg: rsp["respMsg"]}, nil
	}
}

// QueryRefund queries the refund's orderId. EChannel (34) when UnionPay
// has no such refund.
func (c *Client) QueryRefund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	rsp, err := c.query(ctx, r.OrderNo, r.Created)
	if err != nil {
		return nil, err
	}
	if rsp["respCode"] != "00" {
		return nil, refusal("refund query", rsp)
	}
	if rsp["orderId"] != r.OrderNo || rsp["txnType"] != "04" {
		return nil, fmt.Errorf("unionpay refund query: answer names order %q txnType %q", rsp["orderId"], rsp["txnType"])
	}
	st, err := origState(rsp["origRespCode"])
	if err != nil {
		return nil, err
	}
	res := &polypay.RefundResult{}
	switch st {
	case polypay.TradePaid:
		res.Status = polypay.RefundSucceeded
		if res.Amount, err = parseFen(rsp["txnAmt"]); err != nil {
			return nil, err
		}
		res.TransactionNo, res.SucceededAt = rsp["queryId"], traceTime(rsp["traceTime"], c.now())
	case polypay.TradePending:
		res.Status = polypay.RefundPending
	default:
		res.Status, res.FailureCode, res.FailureMsg = polypay.RefundFailed, rsp["origRespCode"], rsp["origRespMsg"]
	}
	return res, nil
}
