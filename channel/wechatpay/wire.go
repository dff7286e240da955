package wechatpay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
)

// cst is Beijing time, the zone WeChat Pay writes RFC 3339 times in. A
// fixed zone needs no tzdata on the host.
var cst = time.FixedZone("CST", 8*3600)

// parseTime reads one of WeChat Pay's RFC 3339 times as unix seconds.
func parseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, err
	}
	return t.Unix(), nil
}

// productionHosts are the hosts the SDKs call; the rewriter sends them to
// Config.BaseURL instead.
var productionHosts = map[string]bool{"api.mch.weixin.qq.com": true, "api2.mch.weixin.qq.com": true}

// rewriter sends requests for WeChat Pay's hosts to another base URL (the
// simulator). The request signature survives because its canonical URL is
// path and query only; a base path is prepended, so a simulator mounted at
// /sim/wechatpay must strip that prefix (http.StripPrefix).
type rewriter struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if !productionHosts[req.URL.Host] {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	if p := strings.TrimRight(t.base.Path, "/"); p != "" {
		r.URL.Path = p + req.URL.Path
		if req.URL.RawPath != "" {
			r.URL.RawPath = strings.TrimRight(t.base.EscapedPath(), "/") + req.URL.RawPath
		}
	}
	return t.next.RoundTrip(r)
}

// httpClient returns the client the SDKs use: hc itself for production, or
// a copy whose transport rewrites the host to base.
func httpClient(hc *http.Client, base string) (*http.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if base == "" || strings.TrimRight(base, "/") == DefaultBaseURL {
		return hc, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL", base)
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp := *hc
	cp.Transport = &rewriter{base: u, next: next}
	return &cp, nil
}

// parsePrivateKey reads the merchant API private key (apiclient_key.pem):
// PKCS#8 as WeChat Pay issues it, or PKCS#1.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// parsePublicKey reads the WeChat Pay platform public key (SPKI PEM).
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// errResponseSignature marks a response the SDK's validator refused.
var errResponseSignature = errors.New("wechatpay: response signature")

// markedValidator is the SDK's response validator with its refusals marked,
// so that a forged or stale answer is told apart from a transport failure.
type markedValidator struct{ auth.Validator }

func (v markedValidator) Validate(ctx context.Context, resp *http.Response) error {
	if err := v.Validator.Validate(ctx, resp); err != nil {
		return fmt.Errorf("%w: %w", errResponseSignature, err)
	}
	return nil
}

// validatorOption installs a validator after WithWechatPayPublicKeyAuthCipher.
type validatorOption struct{ v auth.Validator }

func (o validatorOption) Apply(s *core.DialSettings) error {
	s.Validator = o.v
	return nil
}

// extra is charge.extra for the WeChat channels (Ping++ §3.2).
type extra struct {
	OpenID     string `json:"open_id"`
	ProductID  string `json:"product_id"`
	ScanCode   string `json:"scan_code"`
	TerminalID string `json:"terminal_id"`
	LimitPay   string `json:"limit_pay"`
	GoodsTag   string `json:"goods_tag"`
	ResultURL  string `json:"result_url"`
	// ProfitSharing holds the payment's funds for profit sharing
	// (settle_info.profit_sharing, profitsharing.go).
	ProfitSharing bool `json:"profit_sharing"`
}

// appCredential is credential.wx, read by the Ping++ app SDKs; timeStamp
// is a number there.
type appCredential struct {
	AppID        string `json:"appId"`
	PartnerID    string `json:"partnerId"`
	PrepayID     string `json:"prepayId"`
	NonceStr     string `json:"nonceStr"`
	TimeStamp    int64  `json:"timeStamp"`
	PackageValue string `json:"packageValue"`
	Sign         string `json:"sign"`
}

// jsapiCredential is credential.wx_pub and credential.wx_lite, passed to
// WeixinJSBridge / wx.requestPayment; timeStamp must be a string.
type jsapiCredential struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// marshal encodes without HTML escaping so URLs keep their & and <.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// notifyEnvelope is a notification body.
type notifyEnvelope struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	Summary      string `json:"summary"`
	Resource     *struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	} `json:"resource"`
}

// transactionPayload is the decrypted resource of TRANSACTION.* events.
type transactionPayload struct {
	Mchid         string `json:"mchid"`
	SpMchid       string `json:"sp_mchid"` // partner mode: the provider (Mchid is empty)
	Appid         string `json:"appid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	TradeType     string `json:"trade_type"`
	TradeState    string `json:"trade_state"`
	BankType      string `json:"bank_type"`
	SuccessTime   string `json:"success_time"`
	Payer         *struct {
		Openid    string `json:"openid"`
		SpOpenid  string `json:"sp_openid"`
		SubOpenid string `json:"sub_openid"`
	} `json:"payer"`
	Amount *struct {
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// refundPayload is the decrypted resource of REFUND.* events.
type refundPayload struct {
	Mchid         string `json:"mchid"`
	SpMchid       string `json:"sp_mchid"` // partner mode: the provider (Mchid is empty)
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	SuccessTime   string `json:"success_time"`
	Amount        *struct {
		Total  *int64 `json:"total"`
		Refund *int64 `json:"refund"`
	} `json:"amount"`
}

// batchPayload is the decrypted resource of MCHTRANSFER.BATCH.* events.
type batchPayload struct {
	Mchid         string `json:"mchid"`
	OutBatchNo    string `json:"out_batch_no"`
	BatchID       string `json:"batch_id"`
	BatchStatus   string `json:"batch_status"`
	TotalNum      int64  `json:"total_num"`
	TotalAmount   int64  `json:"total_amount"`
	SuccessAmount int64  `json:"success_amount"`
	SuccessNum    int64  `json:"success_num"`
	FailAmount    int64  `json:"fail_amount"`
	FailNum       int64  `json:"fail_num"`
	CloseReason   string `json:"close_reason"`
	UpdateTime    string `json:"update_time"`
}
