package wechatpay

// WeChat Pay's v2 protocol, which the cash red envelopes still speak (the
// official v3 SDK has no such calls): XML bodies of flat fields, signed
// with the merchant's APIv2 key, sent with the merchant's API certificate
// as the TLS client certificate. WeChat does not sign these answers: the
// TLS connection to its host is what authenticates them, so the sandbox
// (plain HTTP to the simulator) trusts its simulator's answers as they are.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// v2Field is one field of a v2 request, in the order written.
type v2Field struct{ k, v string }

// v2Sign signs the non-empty fields but sign: sorted k=v joined by &, then
// &key=<APIv2 key>; MD5, or HMAC-SHA256 keyed by the API key when
// signType says so; upper-case hex.
func v2Sign(fields []v2Field, key, signType string) string {
	kv := make([]string, 0, len(fields))
	for _, f := range fields {
		if f.k != "sign" && f.v != "" {
			kv = append(kv, f.k+"="+f.v)
		}
	}
	sort.Strings(kv)
	msg := strings.Join(kv, "&") + "&key=" + key
	if signType == "HMAC-SHA256" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	d := md5.Sum([]byte(msg))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

// v2XML writes <xml><k>v</k>…</xml>, every value escaped.
func v2XML(fields []v2Field) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, f := range fields {
		b.WriteString("<" + f.k + ">")
		_ = xml.EscapeText(&b, []byte(f.v))
		b.WriteString("</" + f.k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// nonce is a v2 nonce_str: 32 letters and digits.
func nonce() string {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 32)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic("wechatpay: crypto/rand failed: " + err.Error())
		}
		b[i] = set[n.Int64()]
	}
	return string(b)
}

// v2Answer is the answer of sendredpack and gethbinfo: return_code says
// whether the call was taken, result_code and err_code what became of it.
type v2Answer struct {
	XMLName      xml.Name `xml:"xml"`
	ReturnCode   string   `xml:"return_code"`
	ReturnMsg    string   `xml:"return_msg"`
	ResultCode   string   `xml:"result_code"`
	ErrCode      string   `xml:"err_code"`
	ErrCodeDes   string   `xml:"err_code_des"`
	MchBillno    string   `xml:"mch_billno"`
	MchID        string   `xml:"mch_id"`
	TotalAmount  string   `xml:"total_amount"`
	SendListID   string   `xml:"send_listid"` // sendredpack
	DetailID     string   `xml:"detail_id"`   // gethbinfo from here
	Status       string   `xml:"status"`
	Reason       string   `xml:"reason"`
	SendTime     string   `xml:"send_time"`
	RefundTime   string   `xml:"refund_time"`
	RefundAmount string   `xml:"refund_amount"`
	HBList       []struct {
		OpenID  string `xml:"openid"`
		Amount  string `xml:"amount"`
		RcvTime string `xml:"rcv_time"`
	} `xml:"hblist>hbinfo"`
}

// maxV2Answer bounds an answer; WeChat's are a few hundred bytes.
const maxV2Answer = 64 << 10

// parseV2Answer reads an answer; an error means the outcome of the call
// is unknown (WeChat: never change the number after an answer that does
// not parse).
func parseV2Answer(body []byte) (*v2Answer, error) {
	var a v2Answer
	if err := xml.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("answer is not v2 XML: %w", err)
	}
	for _, s := range []string{a.ReturnCode, a.ResultCode} {
		if s != "" && s != "SUCCESS" && s != "FAIL" {
			return nil, fmt.Errorf("answer has return/result code %q", s)
		}
	}
	if a.ReturnCode == "" {
		return nil, errors.New("answer has no return_code")
	}
	if a.ReturnCode == "SUCCESS" && a.ResultCode == "" {
		return nil, errors.New("answer has no result_code")
	}
	return &a, nil
}

// defaultTimeout bounds a call when the caller gives no HTTP client.
const defaultTimeout = 30 * time.Second

// v2Client is the v2 side of a merchant: its APIv2 key and an HTTP client
// presenting its API certificate.
type v2Client struct {
	key  string
	base string // DefaultBaseURL; the client's rewriter maps it elsewhere
	http *http.Client
}

// post sends a signed v2 call to path and parses the answer. Every error
// leaves the outcome unknown.
func (v *v2Client) post(ctx context.Context, path string, fields []v2Field) (*v2Answer, error) {
	fields = append(fields, v2Field{"sign", v2Sign(fields, v.key, "MD5")})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+path, bytes.NewReader(v2XML(fields)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxV2Answer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return parseV2Answer(body)
}

// newV2Client builds the v2 client of cfg, or nil when cfg has no APIv2
// key and API certificate (the v2 calls are then refused).
func newV2Client(cfg Config) (*v2Client, error) {
	if cfg.APIv2Key == "" && cfg.APICertPEM == "" {
		return nil, nil
	}
	if err := checkAPIv2Key(cfg.APIv2Key); err != nil {
		return nil, err
	}
	cert, err := apiCertificate(cfg.APICertPEM, cfg.PrivateKeyPEM, cfg.MerchantSerialNo)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	// Over plain HTTP (the sandbox's simulator) there is no TLS to present
	// the certificate in; everywhere else it must be presented.
	if !strings.HasPrefix(cfg.BaseURL, "http://") {
		if hc, err = certClient(hc, cert); err != nil {
			return nil, err
		}
	}
	if hc, err = httpClient(hc, cfg.BaseURL); err != nil {
		return nil, err
	}
	return &v2Client{key: cfg.APIv2Key, base: DefaultBaseURL, http: hc}, nil
}

// checkAPIv2Key: WeChat's APIv2 keys are 32 letters and digits.
func checkAPIv2Key(k string) error {
	if len(k) != 32 || !alnum(k) {
		return errors.New("the APIv2 key must be 32 letters and digits")
	}
	return nil
}

// apiCertificate pairs the merchant API certificate with the merchant's
// private key, as the TLS client certificate; the certificate must be the
// one whose serial the v3 calls sign under.
func apiCertificate(certPEM, keyPEM, serial string) (tls.Certificate, error) {
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("the API certificate does not pair with private_key: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return tls.Certificate{}, err
	}
	if !strings.EqualFold(leaf.SerialNumber.Text(16), strings.TrimLeft(serial, "0")) {
		return tls.Certificate{}, errors.New("the API certificate's serial number is not merchant_serial_no")
	}
	cert.Leaf = leaf
	return cert, nil
}

// clientCertifier is a transport that can present a TLS client
// certificate though it is not an *http.Transport itself (a wrapper, such
// as polypay's health transport, giving its base transport one).
type clientCertifier interface {
	WithClientCertificate(tls.Certificate) http.RoundTripper
}

// certClient is hc (or a default client) whose transport presents cert.
func certClient(hc *http.Client, cert tls.Certificate) (*http.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cp := *hc
	switch t := rt.(type) {
	case *http.Transport:
		tr := t.Clone()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
		cp.Transport = tr
	case clientCertifier:
		cp.Transport = t.WithClientCertificate(cert)
	default:
		return nil, fmt.Errorf("the HTTP transport (%T) cannot present the API certificate", rt)
	}
	return &cp, nil
}

// checkV2Credentials checks the optional v2 credentials: both or none, a
// well-formed APIv2 key, an API certificate of private_key and
// merchant_serial_no. EInvalid naming the parameter.
func checkV2Credentials(c *Credentials) error {
	switch {
	case c.APIv2Key == "" && c.APICert == "":
		return nil
	case c.APIv2Key == "":
		return polypay.ParamError("params[api_v2_key]", "api_cert 与 api_v2_key 须同时填写")
	case c.APICert == "":
		return polypay.ParamError("params[api_cert]", "api_cert 与 api_v2_key 须同时填写")
	}
	if err := checkAPIv2Key(c.APIv2Key); err != nil {
		return polypay.ParamError("params[api_v2_key]", "api_v2_key 应为 32 位字母或数字")
	}
	if block, _ := pem.Decode([]byte(c.APICert)); block == nil || block.Type != "CERTIFICATE" {
		return polypay.ParamError("params[api_cert]", "api_cert 应为 PEM 格式的商户 API 证书（apiclient_cert.pem）")
	}
	if _, err := apiCertificate(c.APICert, c.PrivateKey, c.MerchantSerialNo); err != nil {
		return polypay.ParamError("params[api_cert]", "api_cert 不可用: %v", err)
	}
	return nil
}
