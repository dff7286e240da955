// Package alipaysim is a protocol-faithful simulator of the Alipay OpenAPI
// gateway (gateway.do): the offline sandbox that connectors and merchants'
// own SDKs (smartwalle/alipay, go-pay/gopay, the official SDKs) talk to in
// test mode. It verifies request signatures exactly as Alipay does, signs its
// responses over the exact bytes it emits, and sends signed asynchronous
// notifications with Alipay's retry schedule.
//
// Scenes and how a simulated buyer pays in each:
//
//   - alipay.trade.precreate (QR code) and alipay.trade.create (mini
//     program, buyer_id or buyer_open_id required): server calls that open
//     a WAIT_BUYER_PAY trade; the buyer pays with [Sim.Pay].
//   - alipay.trade.app.pay: no server call. The merchant hands the signed
//     order string to the app SDK; [Sim.PayOrderString] plays the app SDK
//     and the buyer: it verifies the order string's signature, opens the
//     trade (once per out_trade_no) and pays it like Pay.
//   - alipay.trade.wap.pay and alipay.trade.page.pay: the browser arrives
//     with the signed parameters (GET query string, or a POSTed form as the
//     official SDKs' auto-submitting forms do). The sim verifies them, opens
//     the trade and renders a small simulated cashier page with a pay and a
//     decline button that post back to the same path. Pay marks the trade
//     TRADE_SUCCESS, delivers the notification, then redirects (303) to
//     return_url with Alipay's signed synchronous return parameters (method
//     alipay.trade.*.pay.return; display only, as in Alipay). Decline leaves
//     the trade unpaid and goes to quit_url when there is one.
//   - alipay.trade.pay (merchant scans the buyer, scene bar_code or
//     wave_code): the outcome is chosen by auth_code, which must be 16 to 24
//     digits starting with 25 to 30 (anything else is
//     ACQ.PAYMENT_AUTH_CODE_INVALID):
//     "28" (and 25–27) pays at once: code 10000, TRADE_SUCCESS, notification;
//     "29" answers 10003 (user paying): the trade stays WAIT_BUYER_PAY for
//     Options.UserPayingFor (default 5 s, real time) and then becomes
//     TRADE_SUCCESS with a notification, unless it was cancelled or closed
//     meanwhile; "30" is declined: 40004 ACQ.PAYMENT_AUTH_CODE_INVALID and
//     no trade is created. A repeated alipay.trade.pay for a known
//     out_trade_no answers the trade's current outcome instead of paying
//     twice.
//
// Apps are in public-key mode unless Options.CertMode puts them in
// certificate mode (公钥证书模式): their requests must then carry
// app_cert_sn and alipay_root_cert_sn, and their signed answers carry
// alipay_cert_sn; the sim acts as Alipay's CA (RootCertPEM, AlipayCertPEM,
// IssueAppCert). Notifications never carry a serial. See cert.go.
//
// alipay.data.dataservice.bill.downloadurl.query answers a link to a zipped
// trade bill (业务明细) of a past day or month, built from the trades in
// memory; bill.go lists what it simplifies.
//
// The simulated buyer also has a wallet, for people testing by hand and for
// browser tests: GET <sim>/wallet scans a pasted QR code (or trade_no, or
// app order string), shows the order, asks for the payment password (any
// six digits) and pays like Pay or declines; GET <sim>/wallet/code shows a
// fresh payment code with a chosen outcome (28, 29 or 30 above). See
// wallet.go.
//
// Transfers to Alipay accounts (alipay.fund.trans.uni.transfer,
// alipay.fund.trans.common.query, the alipay.fund.trans.order.changed
// message) pay the sandbox payees from each app's available funds; see
// fund.go and transfer.go. POST <sim>/fund/topup tops the funds up and
// POST <sim>/fund/decide decides a pending transfer (fund_admin.go).
//
// Personal debit agreements (商家扣款 GENERAL_WITHHOLDING, 周期扣款
// CYCLE_PAY_AUTH): alipay.user.agreement.page.sign is a browser page like
// the cashier, alipay.user.agreement.query and .unsign are server calls,
// and alipay.trade.pay with one of those product codes and
// agreement_params debits a signed agreement at once. [Sim.SignAgreement]
// plays the customer signing, [Sim.UserUnsign] the customer terminating
// in the app; see agreement.go.
//
// All state (trades, refunds, transfers, funds, cashier sessions, delivery log, pending
// retries) lives in memory: it is per process and is lost on restart, like
// a sandbox that was reset. Notifications are sent by simkit's Notifier.
package alipaysim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/sim/simkit"
)

// Options configures a Sim. Only Merchant is required for the sim to accept
// requests; everything else has a default.
type Options struct {
	// PrivateKey is Alipay's platform key: the sim signs responses and
	// notifications with it, merchants verify with PublicKeyPEM. A fresh
	// 2048-bit key is generated when nil.
	PrivateKey *rsa.PrivateKey
	// Merchant returns the app public key registered for an app_id, used to
	// verify request signatures. Unknown apps get isv.invalid-app-id.
	Merchant func(appID string) (*rsa.PublicKey, bool)
	// HTTPClient posts notifications; default has a 10 s timeout.
	HTTPClient *http.Client
	// Now is the sim's clock (trade times, expiry, notify_time).
	Now func() time.Time
	// Retry is the gap before each notification retry after a failed
	// delivery. nil means Alipay's 4m,10m,10m,1h,2h,6h,15h (DefaultRetry);
	// an empty non-nil slice disables retries.
	Retry []time.Duration
	// Logger receives delivery and request logs; default discards.
	Logger *slog.Logger
	// UserPayingFor is how long an alipay.trade.pay with an auth_code
	// starting with "29" stays WAIT_BUYER_PAY (Alipay's 10003, the buyer
	// confirming on the phone) before it is paid. It is real time, not the
	// Now clock. Zero means DefaultUserPayingFor.
	UserPayingFor time.Duration
	// BillURL is the sim's base URL as merchants reach it, for the links
	// of alipay.data.dataservice.bill.downloadurl.query (bill.go), e.g.
	// "https://pay.example/sim/alipay". Empty derives it from each request:
	// its scheme, Host and the directory of the path it came to.
	BillURL string
	// CertMode puts apps in certificate mode (公钥证书模式, cert.go): for
	// an app it answers ok with the app_cert_sn of the app certificate on
	// file (see CertSN and IssueAppCert). Requests of such an app must
	// carry that app_cert_sn and an alipay_root_cert_sn naming the sim's
	// root; its responses carry alipay_cert_sn. nil: every app uses
	// public-key mode.
	CertMode func(appID string) (appCertSN string, ok bool)
	// RootKey is the key of the sim's root certificate. nil generates one
	// the first time a certificate is needed; pass a stored key to keep
	// the certificates the same across restarts.
	RootKey *rsa.PrivateKey
	// FeeRate is the service fee (服务费) charged on each payment, in
	// basis points of its amount (60 = 0.60%, Alipay's standard rate),
	// rounded half up to the fen; refunds return the fee in proportion.
	// Zero charges no fee.
	FeeRate int64
	// Payees are the accounts transfers can pay (fund.go); nil means
	// SandboxPayees. An invalid or repeated one is skipped.
	Payees []Payee
	// Funds is each app's available funds, in fen, until they are set or
	// topped up; zero means DefaultFunds.
	Funds int64
	// InstantPayouts makes alipay.fund.trans.uni.transfer pay at once
	// (SUCCESS), as Alipay mostly does for Alipay accounts. By default a
	// transfer is DEALING until it is queried or decided (transfer.go).
	InstantPayouts bool
	// HoldPayouts keeps DEALING transfers DEALING when they are queried:
	// only DecidePayout (or <sim>/fund/decide) decides them.
	HoldPayouts bool
}

// DefaultUserPayingFor is the default of Options.UserPayingFor.
const DefaultUserPayingFor = 5 * time.Second

// DefaultRetry is Alipay's documented notification retry schedule: eight
// attempts over about 24 h 22 min when the merchant never answers success.
var DefaultRetry = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// Sim is the simulated gateway. It is an http.Handler for gateway.do.
type Sim struct {
	// Faults make the sim slow, flaky or down for an app_id (tests).
	Faults simfault.MerchantFaults

	key      *rsa.PrivateKey
	merchant func(string) (*rsa.PublicKey, bool)
	now      func() time.Time
	log      *slog.Logger
	paying   time.Duration
	billURL  string
	certMode func(string) (string, bool)
	rootKey  *rsa.PrivateKey
	certOnce sync.Once
	ca       *certs // made by certificates()

	// bg runs the notification retries and the "29" buyers confirming;
	// Close stops them.
	bg         simkit.Group
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // by out_trade_no
	wallet     *simkit.Wallet

	mu        sync.Mutex
	appAuth   *appAuths    // third-party authorizations (appauth.go)
	settleOn  *settleState // settle-on-trade (settle.go)
	trades    map[tradeKey]*trade
	byTradeNo map[string]*trade
	byQRCode  map[string]*trade    // precreate's qr_code, for the wallet page
	sessions  map[string]*session  // cashier pages by token
	bills     map[string]*billFile // bill downloads by token
	feeRate   int64

	// The fund side (fund.go, transfer.go).
	payees           map[string]*Payee // by user id and by logon id
	funds            map[string]int64  // available fen by app_id, once set
	defaultFunds     int64
	orders           map[fundKey]*fundOrder
	byOrderID        map[string]*fundOrder
	accountLog       map[string][]accountLogEntry // by app_id (accountlog.go)
	instantPayouts   bool
	holdPayouts      bool
	payoutDeliveries simkit.Deliveries[Delivery] // by out_biz_no
	// agr holds the personal debit agreements (agreement.go).
	agr agreementBook
	// simkit.Hooks gives tests TamperBill, LoseNotifications and
	// SetBillClock.
	simkit.Hooks
}

// New builds a Sim. Call Close to stop pending notification retries.
func New(o Options) *Sim {
	s := &Sim{
		key:       o.PrivateKey,
		merchant:  o.Merchant,
		now:       o.Now,
		log:       o.Logger,
		paying:    o.UserPayingFor,
		billURL:   o.BillURL,
		certMode:  o.CertMode,
		rootKey:   o.RootKey,
		trades:    map[tradeKey]*trade{},
		byTradeNo: map[string]*trade{},
		byQRCode:  map[string]*trade{},
		sessions:  map[string]*session{},
		bills:     map[string]*billFile{},
		feeRate:   o.FeeRate,

		payees:         map[string]*Payee{},
		funds:          map[string]int64{},
		defaultFunds:   o.Funds,
		orders:         map[fundKey]*fundOrder{},
		byOrderID:      map[string]*fundOrder{},
		accountLog:     map[string][]accountLogEntry{},
		instantPayouts: o.InstantPayouts,
		holdPayouts:    o.HoldPayouts,
	}
	if s.defaultFunds <= 0 {
		s.defaultFunds = DefaultFunds
	}
	payees := o.Payees
	if payees == nil {
		payees = SandboxPayees()
	}
	for _, p := range payees {
		_ = s.addPayee(p) // documented: an invalid or repeated payee is skipped
	}
	if s.paying <= 0 {
		s.paying = DefaultUserPayingFor
	}
	if s.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("alipaysim: generating the platform key: " + err.Error())
		}
		s.key = k
	}
	if s.merchant == nil {
		s.merchant = func(string) (*rsa.PublicKey, bool) { return nil, false }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "alipaysim", Acked: acked,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Now: s.now, Lost: s.Hooks.Lost, Log: s.log})
	s.wallet = s.newWallet()
	return s
}

// PublicKeyPEM returns Alipay's platform public key ("支付宝公钥") as an SPKI
// PEM block, the form merchants paste into their SDK configuration.
func (s *Sim) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		panic("alipaysim: marshalling an RSA public key cannot fail: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Close stops notification retries and waits for in-flight deliveries. The
// gateway keeps answering requests, but no notification is sent afterwards.
func (s *Sim) Close() { s.bg.Close() }

// apiError is an Alipay error: 40004 business failures are answered inside
// the signed <method>_response (as Alipay does, and as gopay requires to find
// the signature), protocol errors (40001/40002) as an unsigned error_response.
type apiError struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code"`
	SubMsg  string `json:"sub_msg"`
}

func (e *apiError) Error() string { return e.Code + " " + e.SubCode + ": " + e.SubMsg }

func missing(what, name string) *apiError {
	return &apiError{"40001", "Missing Required Arguments", "isv.missing-" + what, "缺少" + name}
}

func invalid(what, msg string) *apiError {
	return &apiError{"40002", "Invalid Arguments", "isv.invalid-" + what, msg}
}

func missingParam(name string) *apiError {
	return &apiError{"40002", "Invalid Arguments", "isv.missing-parameter", "缺少必选参数" + name}
}

func invalidParam(name string) *apiError {
	return &apiError{"40002", "Invalid Arguments", "isv.invalid-parameter", "参数无效: " + name}
}

func business(subCode, subMsg string) *apiError {
	return &apiError{"40004", "Business Failed", subCode, subMsg}
}

// head opens every successful response value; field order is kept because
// the signature covers the emitted bytes.
type head struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
}

var success = head{"10000", "Success"}

// call is one verified request.
type call struct {
	appID     string // the app the call acts for: the merchant's under app_auth_token
	isv       string // the service provider's app that signed it, under app_auth_token
	method    string
	signType  string
	notifyURL string
	returnURL string
	biz       json.RawMessage
	base      string // the sim's base URL as this caller reached it
	certMode  bool   // the app uses certificate mode: answers carry alipay_cert_sn
}

type handler func(s *Sim, c *call, now time.Time) (any, *apiError)

// methods are the server-to-server calls, answered with signed JSON.
var methods = map[string]handler{
	"alipay.trade.precreate":             (*Sim).precreate,
	"alipay.open.auth.token.app":         (*Sim).openAuthToken,
	"alipay.trade.royalty.relation.bind": (*Sim).relationBind,
	"alipay.trade.order.settle":          (*Sim).orderSettle,
	"alipay.trade.order.settle.query":    (*Sim).orderSettleQuery,
	"alipay.open.auth.token.app.query":   (*Sim).openAuthTokenQuery,
	"alipay.trade.pay":                   (*Sim).barcodePay,
	"alipay.trade.create":                (*Sim).create,
	"alipay.trade.query":                 (*Sim).query,
	"alipay.trade.close":                 (*Sim).closeTrade,
	"alipay.trade.cancel":                (*Sim).cancelTrade,
	"alipay.trade.refund":                (*Sim).refund,
	"alipay.trade.fastpay.refund.query":  (*Sim).refundQuery,
	methodBill:                           (*Sim).billDownloadURL,
	methodTransfer:                       (*Sim).transfer,
	methodTransferQuery:                  (*Sim).transferQuery,
	methodAccountQuery:                   (*Sim).accountQuery,
	methodAccountLog:                     (*Sim).accountLogQuery,
	methodAgreementQuery:                 (*Sim).agreementQuery,
	methodAgreementUnsign:                (*Sim).agreementUnsign,
}

func isAPIMethod(m string) bool { _, ok := methods[m]; return ok }

// Browser methods are not server calls: the buyer's browser brings them to
// gateway.do and gets the cashier page.
const (
	methodWap  = "alipay.trade.wap.pay"
	methodPage = "alipay.trade.page.pay"
	methodApp  = "alipay.trade.app.pay" // only through PayOrderString
)

func isPageMethod(m string) bool { return m == methodWap || m == methodPage }
func isAppMethod(m string) bool  { return m == methodApp }

// maxBody bounds a request; Alipay's own limit is far above any trade call.
const maxBody = 1 << 20

// ServeHTTP answers gateway.do. POST takes the form body only (gopay adds
// ?charset=utf-8 to the URL, which must not count as a second charset); GET
// takes the query string, as browsers arrive for page and wap payments.
// alipay.trade.wap.pay and alipay.trade.page.pay get the HTML cashier, and
// the cashier's own buttons post back here. <sim>/wallet and
// <sim>/wallet/code are the simulated buyer's wallet (see wallet.go);
// <sim>/downloadBillFile.resource serves trade bills (see bill.go);
// <sim>/fund... is the sandbox's fund desk (see fund_admin.go);
// alipay.user.agreement.page.sign gets the signing page and
// <sim>/wallet/agreements is the payer's list of agreements (agreement.go).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, appAuthPath) {
		s.serveAppAuth(w, r)
		return
	}
	if strings.HasSuffix(r.URL.Path, agreementsPath) {
		s.serveAgreements(w, r)
		return
	}
	if page, ok := simkit.WalletPage(r.URL.Path); ok {
		s.wallet.Serve(w, r, page)
		return
	}
	if strings.HasSuffix(r.URL.Path, billPath) {
		s.serveBill(w, r)
		return
	}
	if page, ok := fundPage(r.URL.Path); ok {
		s.serveFund(w, r, page)
		return
	}
	var params url.Values
	switch r.Method {
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			s.writeError(w, invalidParam("form body"))
			return
		}
		params = r.PostForm
		if params.Has(cashierField) {
			s.cashierAction(w, r, params)
			return
		}
		if params.Has(signField) {
			s.signAction(w, r, params)
			return
		}
	case http.MethodGet:
		params = r.URL.Query()
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if isPageMethod(params.Get("method")) {
		s.cashierPage(w, r, params)
		return
	}
	if isSignMethod(params.Get("method")) {
		s.signPage(w, r, params)
		return
	}
	if s.Faults.Apply(w, r, params.Get("app_id")) {
		return
	}
	c, aerr := s.verify(params, isAPIMethod)
	if aerr != nil {
		s.log.Info("alipaysim: request rejected", "method", params.Get("method"), "app_id", params.Get("app_id"), "sub_code", aerr.SubCode)
		s.writeError(w, aerr)
		return
	}
	c.base = s.baseURL(r)
	now := s.now()
	s.mu.Lock()
	v, aerr := methods[c.method](s, c, now)
	s.mu.Unlock()
	if aerr != nil {
		if aerr.Code != "40004" {
			s.writeError(w, aerr)
			return
		}
		v = aerr
	}
	s.writeSigned(w, c, v)
}

// verify checks the common parameters and the request signature in the
// order Alipay reports them; known says which methods this entry point
// serves.
func (s *Sim) verify(p url.Values, known func(string) bool) (*call, *apiError) {
	for _, req := range []struct{ key, what, name string }{
		{"app_id", "app-id", "AppID参数"},
		{"method", "method", "方法名参数"},
		{"sign_type", "signature-type", "签名类型参数"},
		{"sign", "signature", "签名参数"},
		{"timestamp", "timestamp", "时间戳参数"},
		{"version", "version", "版本参数"},
	} {
		if p.Get(req.key) == "" {
			return nil, missing(req.what, req.name)
		}
	}
	pub, ok := s.merchant(p.Get("app_id"))
	if !ok || pub == nil {
		return nil, invalid("app-id", "无效的AppID参数")
	}
	signType := p.Get("sign_type")
	if _, ok := hashFor(signType); !ok {
		return nil, invalid("signature-type", "无效的签名类型参数")
	}
	certMode, aerr := s.checkCertMode(p.Get("app_id"), p.Get("app_cert_sn"), p.Get("alipay_root_cert_sn"))
	if aerr != nil {
		return nil, aerr
	}
	if err := verify(pub, signType, []byte(signContent(p, "sign")), p.Get("sign")); err != nil {
		return nil, invalid("signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
	}
	if !known(p.Get("method")) {
		return nil, invalid("method", "不存在的方法名")
	}
	if f := p.Get("format"); f != "" && !strings.EqualFold(f, "JSON") {
		return nil, invalid("format", "无效的数据格式参数")
	}
	if cs := p.Get("charset"); cs != "" && !strings.EqualFold(cs, "utf-8") {
		// The sim speaks UTF-8 only; GBK merchants are out of scope.
		return nil, invalid("charset", "字符集错误")
	}
	if p.Get("version") != "1.0" {
		return nil, invalid("version", "无效的版本参数")
	}
	if _, err := time.ParseInLocation(timeLayout, p.Get("timestamp"), cst); err != nil {
		return nil, invalid("timestamp", "非法的时间戳参数")
	}
	if p.Get("encrypt_type") != "" {
		// AES content encryption is optional in Alipay and not simulated.
		return nil, invalid("encrypt", "模拟器不支持接口内容加密")
	}
	biz := p.Get("biz_content")
	if biz == "" {
		biz = "{}"
	}
	if !json.Valid([]byte(biz)) {
		return nil, invalidParam("biz_content")
	}
	c := &call{
		appID:     p.Get("app_id"),
		method:    p.Get("method"),
		signType:  signType,
		notifyURL: p.Get("notify_url"),
		returnURL: p.Get("return_url"),
		biz:       json.RawMessage(biz),
		certMode:  certMode,
	}
	if tok := p.Get("app_auth_token"); tok != "" {
		// A service provider's call for a merchant that authorized it
		// (appauth.go): it runs as the merchant.
		s.mu.Lock()
		merchant, aerr := s.tokenAuthLocked(c.appID, tok, s.now())
		s.mu.Unlock()
		if aerr != nil {
			return nil, aerr
		}
		c.isv, c.appID = c.appID, merchant
	}
	return c, nil
}

// marshal encodes a response value without HTML escaping, so that amounts,
// URLs and Chinese messages go out as plain text like Alipay's.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeSigned emits {"<method>_response":<value>,"sign":"..."} in exactly
// that order with no whitespace, signing the exact bytes of <value>:
// smartwalle/alipay verifies the raw JSON value and gopay slices the text
// between `_response":` and `,"sign":`, so both see the same bytes. In
// certificate mode it is {"<method>_response":<value>,"alipay_cert_sn":
// "...","sign":"..."}: gopay then ends the slice at `,"alipay_cert_sn":`.
func (s *Sim) writeSigned(w http.ResponseWriter, c *call, v any) {
	body, err := marshal(v)
	if err != nil {
		s.writeError(w, &apiError{"20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"})
		return
	}
	sig, err := signBytes(s.key, c.signType, body)
	if err != nil {
		s.writeError(w, &apiError{"20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"})
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"`)
	out.WriteString(strings.ReplaceAll(c.method, ".", "_"))
	out.WriteString(`_response":`)
	out.Write(body)
	if c.certMode {
		out.WriteString(`,"alipay_cert_sn":"`)
		out.WriteString(s.AlipayCertSN())
		out.WriteByte('"')
	}
	out.WriteString(`,"sign":"`)
	out.WriteString(sig)
	out.WriteString(`"}`)
	writeJSON(w, out.Bytes())
}

// writeError emits an unsigned error_response, as Alipay does when it could
// not (or would not) process the call at all.
func (s *Sim) writeError(w http.ResponseWriter, e *apiError) {
	body, _ := marshal(e) // a struct of strings always encodes
	writeJSON(w, append(append([]byte(`{"error_response":`), body...), '}'))
}

// writeJSON answers 200 whatever happened: Alipay reports errors in the body.
func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
