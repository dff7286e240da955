// Package wechatsim is a protocol-faithful simulator of WeChat Pay API v3
// (https://api.mch.weixin.qq.com): the offline sandbox that connectors and
// merchants' own SDKs (wechatpay-apiv3/wechatpay-go, go-pay/gopay) talk to
// in test mode. It verifies every request's WECHATPAY2-SHA256-RSA2048
// Authorization exactly as WeChat Pay does, signs every response with the
// platform key so that the SDKs' validators accept it, and sends encrypted,
// signed notifications on WeChat Pay's retry schedule.
//
// Paths are served exactly as WeChat Pay names them (/v3/pay/...). The sim
// can be mounted at a prefix with http.StripPrefix, or without stripping:
// the canonical URL of the request signature is taken from the first "/v3/"
// of the request URI, which is where the SDK's own canonical URL starts.
//
// Two wall-clock checks apply as in production: a request's timestamp must
// be within 5 minutes of the sim's clock, and the SDKs reject response and
// notification timestamps more than 5 minutes from their own clock. A sim
// with a test clock must therefore keep it near real time when it is called
// through the SDKs.
//
// Customers are played by Pay: a prepaid trade (native, JSAPI, app, H5) is
// paid and its TRANSACTION.SUCCESS notification delivered before Pay
// returns; a failed attempt leaves it NOTPAY, as WeChat Pay does. Payment
// codes (codepay, wx_pub_scan) follow WeChat's format, 18 digits starting
// 10 to 15: any valid code pays at once, except codes starting with "1300",
// which stay USERPAYING (HTTP 202) for Options.UserPaying (default 5 s of
// the sim's clock) and then become SUCCESS, unless Pay settles them first
// (success=false makes them PAYERROR). Refunds succeed at once and send
// REFUND.SUCCESS to the refund's notify_url after the answer. Unpaid trades
// close at their time_expire, lazily, when next looked at.
//
// The simulated customer also has a wallet, for people testing by hand and
// for browser tests: GET <prefix>/wallet scans a pasted code_url (or h5_url
// or prepay_id), shows the order, asks for the payment password (any six
// digits) and pays like Pay or declines; GET <prefix>/wallet/code shows a
// fresh payment code (13…, or 1300… for USERPAYING, which that page can
// then confirm or cancel). See wallet.go.
//
// Merchant transfers (商家转账到零钱, /v3/transfer/batches, transfer.go) pay
// the payees the sim knows (SandboxPayees under every appid, AddPayee)
// from the merchant's funds (Options.Funds, TopUp): a batch is ACCEPTED,
// its details wait PROCESSING and are decided when the merchant queries
// them (or, with Options.HoldPayouts, by SettleTransfer). Cash red
// envelopes (v2 XML /mmpaymkttransfers/sendredpack and gethbinfo,
// redpack.go, signed with Merchant.APIv2Key, the API certificate checked
// when served over TLS) go SENDING, SENT, then RECEIVED when opened
// (OpenRedEnvelope, or the merchant's query) or REFUND after 24 hours.
// The sandbox endpoints under <prefix>/sandbox/{mchid}/ (sandboxapi.go)
// top up funds and decide transfers and envelopes over HTTP.
//
// Entrusted debit (委托代扣, papay.go, v2 XML like the red envelopes but
// without the client certificate): the customer signs a contract on
// <prefix>/papay/entrustweb (or through /papay/h5entrustweb, or
// SignContract), the merchant queries and terminates it
// (/papay/querycontract, /papay/deletecontract) and debits it
// (/pay/pappayapply, paid at once as a PAP trade, /pay/paporderquery);
// the v3 pre-debit notice is /v3/papay/contracts/{contract_id}/notify.
// Contract and debit notifications are signed v2 XML. The customer
// terminates in the wallet (<prefix>/wallet/contracts) or by
// UserTerminateContract.
//
// All state (trades, refunds, delivery log, pending retries) lives in
// memory: it is per process and is lost on restart, like a sandbox that was
// reset. Notifications are sent by simkit's Notifier.
package wechatsim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/sim/simkit"
)

// Merchant is a WeChat Pay merchant as the sim knows it: the merchant API
// certificate's serial number and public key that requests are verified
// with, the app ids bound to it and its APIv3 key that notifications and
// certificates are encrypted with.
type Merchant struct {
	MchID     string
	AppIDs    []string
	SerialNo  string
	PublicKey *rsa.PublicKey
	APIv3Key  string // 32 bytes
	// AppSecret is the official account's AppSecret, which the web OAuth
	// endpoints (oauth.go) check; empty refuses every code exchange.
	AppSecret string
	// APIv2Key is the APIv2 key the v2 XML calls (red envelopes,
	// redpack.go) are signed with; empty refuses them all.
	APIv2Key string
}

// Options configures a Sim. Only Merchant is required for the sim to accept
// requests; everything else has a default.
type Options struct {
	// WalletURL, when set, is where customers' browsers reach this
	// simulator (…/sim/wechatpay): H5 payments then send the browser to the
	// sandbox wallet instead of WeChat's real checkmweb page.
	WalletURL string
	// PrivateKey is the platform key ("微信支付公钥" pair): the sim signs
	// responses and notifications with it. A fresh 2048-bit key is
	// generated when nil.
	PrivateKey *rsa.PrivateKey
	// PublicKeyID is the id of the platform public key, sent as
	// Wechatpay-Serial. Default "PUB_KEY_ID_0000000000000000000000000000".
	PublicKeyID string
	// Merchant returns a merchant by mchid. Unknown merchants get 401.
	// It is never called with the sim's lock held.
	Merchant func(mchid string) (*Merchant, bool)
	// HTTPClient posts notifications; default has a 10 s timeout.
	HTTPClient *http.Client
	// Now is the sim's clock (timestamps, expiry, success_time...).
	Now func() time.Time
	// Retry is the gap before each notification retry after a failed
	// delivery. nil means DefaultRetry; an empty non-nil slice disables
	// retries.
	Retry []time.Duration
	// UserPaying is how long a payment-code trade whose auth_code starts
	// with "1300" stays USERPAYING (the customer typing the password)
	// before it becomes SUCCESS. Default 5 s of the sim's clock.
	UserPaying time.Duration
	// Logger receives delivery and request logs; default discards.
	Logger *slog.Logger
	// FeeRate is the fee (手续费) charged on each payment, in basis points
	// of its amount (60 = 0.60%, the standard rate), rounded half up to
	// the fen; refunds return the fee in proportion, printed negative.
	// Zero charges no fee.
	FeeRate int64
	// Funds is each merchant's available balance (fen) for transfers and
	// red envelopes before any top-up; 0 means DefaultFunds.
	Funds int64
	// PayeeDailyLimit is what one payee may receive from one merchant's
	// transfers in a Beijing day (fen); 0 means DefaultPayeeDailyLimit.
	PayeeDailyLimit int64
	// HoldPayouts keeps transfers PROCESSING and red envelopes SENT when
	// the merchant queries them, until SettleTransfer, OpenRedEnvelope or
	// their sandbox endpoints (sandboxapi.go) decide; by default a query
	// decides them, as Ping++'s test mode does on retrieve.
	HoldPayouts bool
	// RedpackSending is how long a new red envelope stays SENDING before
	// it is SENT; 0: sent at once.
	RedpackSending time.Duration
	// RequireClientCert refuses v2 certificate calls (red envelopes) made
	// over plain HTTP, where the merchant's API certificate cannot be
	// checked; over TLS the certificate is always checked.
	RequireClientCert bool
}

// DefaultRetry is WeChat Pay's notification retry schedule: 15 retries over
// 24 h 4 min when the merchant never acknowledges.
var DefaultRetry = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute,
	10 * time.Minute, 20 * time.Minute, 30 * time.Minute, 30 * time.Minute,
	30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// DefaultPublicKeyID is the Wechatpay-Serial used when Options has none.
const DefaultPublicKeyID = "PUB_KEY_ID_0000000000000000000000000000"

// Sim is the simulated WeChat Pay API v3. It is an http.Handler.
type Sim struct {
	// Faults make the sim slow, flaky or down for a mchid (tests).
	Faults simfault.MerchantFaults

	walletURL  string
	key        *rsa.PrivateKey
	keyID      string
	merchant   func(string) (*Merchant, bool)
	now        func() time.Time
	userPaying time.Duration
	log        *slog.Logger

	// cert is a self-signed platform certificate over the same key, for
	// merchants still on platform-certificate verification (/v3/certificates).
	cert             []byte // PEM
	certSerial       string
	certFrom, certTo time.Time

	// bg runs the notifications and their retries; Close stops them.
	bg         simkit.Group
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // by out_trade_no
	wallet     *simkit.Wallet

	mu         sync.Mutex
	trades     map[tradeKey]*trade
	byTxID     map[string]*trade
	unbound    map[[2]string]bool // provider/sub-merchant relations ended (partner.go)
	prof       *profit            // profit sharing (profitsharing.go)
	byCode     map[string]*trade  // code_url and prepay_id, for the wallet page
	refunds    map[refundKey]*refund
	bills      map[string]*bill      // by download token
	oauthCodes map[string]*oauthCode // web OAuth codes, by code
	feeRate    int64

	// Payouts and red envelopes (transfer.go, redpack.go, payee.go).
	payees          map[string]map[string]Payee // by appid ("" = every appid), openid
	funds           map[string]int64            // available balance by mchid
	received        map[dayKey]int64            // transfers paid to a payee in a day
	redpackCount    map[dayKey]int              // envelopes sent to a user in a day
	batches         map[batchKey]*transferBatch
	byBatchID       map[string]*transferBatch
	redpacks        map[redpackKey]*redpack
	defaultFunds    int64
	payeeDailyLimit int64
	holdPayouts     bool
	redpackSending  time.Duration
	requireCert     bool
	// Entrusted debit (委托代扣, papay.go): contracts, their v2 notifier.
	papay papayState
	// simkit.Hooks gives tests TamperBill, LoseNotifications and
	// SetBillClock.
	simkit.Hooks
}

// New builds a Sim. Call Close to stop pending notification retries.
func New(o Options) *Sim {
	s := &Sim{
		key:        o.PrivateKey,
		keyID:      o.PublicKeyID,
		merchant:   o.Merchant,
		now:        o.Now,
		userPaying: o.UserPaying,
		walletURL:  strings.TrimRight(o.WalletURL, "/"),
		log:        o.Logger,
		trades:     map[tradeKey]*trade{},
		byTxID:     map[string]*trade{},
		byCode:     map[string]*trade{},
		refunds:    map[refundKey]*refund{},
		bills:      map[string]*bill{},
		feeRate:    o.FeeRate,

		payees: map[string]map[string]Payee{}, funds: map[string]int64{}, received: map[dayKey]int64{},
		redpackCount: map[dayKey]int{}, batches: map[batchKey]*transferBatch{}, byBatchID: map[string]*transferBatch{},
		redpacks: map[redpackKey]*redpack{}, defaultFunds: o.Funds, payeeDailyLimit: o.PayeeDailyLimit,
		holdPayouts: o.HoldPayouts, redpackSending: o.RedpackSending, requireCert: o.RequireClientCert,
	}
	if s.defaultFunds <= 0 {
		s.defaultFunds = DefaultFunds
	}
	if s.payeeDailyLimit <= 0 {
		s.payeeDailyLimit = DefaultPayeeDailyLimit
	}
	s.payees[""] = map[string]Payee{}
	for _, p := range SandboxPayees {
		s.payees[""][p.OpenID] = p
	}
	if s.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("wechatsim: generating the platform key: " + err.Error())
		}
		s.key = k
	}
	if s.keyID == "" {
		s.keyID = DefaultPublicKeyID
	}
	if s.merchant == nil {
		s.merchant = func(string) (*Merchant, bool) { return nil, false }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.userPaying <= 0 {
		s.userPaying = 5 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.certFrom = s.now().Add(-24 * time.Hour).Truncate(time.Second)
	s.certTo = s.certFrom.Add(5 * 365 * 24 * time.Hour)
	s.cert, s.certSerial = selfSigned(s.key, s.certFrom, s.certTo)
	s.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "wechatsim", Acked: acked,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Now: s.now, Lost: s.Hooks.Lost, Log: s.log})
	s.wallet = s.newWallet()
	// v2 notifications are acknowledged in XML, not by status alone.
	s.papay.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "wechatsim", Acked: ackedV2,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Now: s.now, Lost: s.Hooks.Lost, Log: s.log})
	return s
}

// selfSigned makes the platform certificate: WeChat Pay's serials are 40
// upper-case hex digits.
func selfSigned(key *rsa.PrivateKey, from, to time.Time) ([]byte, string) {
	sn := make([]byte, 20)
	if _, err := rand.Read(sn); err != nil {
		panic("wechatsim: crypto/rand failed: " + err.Error())
	}
	sn[0] &= 0x7f // a positive serial
	sn[0] |= 0x10 // and 40 hex digits
	serial := new(big.Int).SetBytes(sn)
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (polypay simulator)", Organization: []string{"Tenpay.com"}},
		NotBefore:    from,
		NotAfter:     to,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		panic("wechatsim: self-signing the platform certificate: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), strings.ToUpper(serial.Text(16))
}

// PublicKeyPEM returns the platform public key ("微信支付公钥") as an SPKI
// PEM block, the form merchants download from the merchant platform.
func (s *Sim) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		panic("wechatsim: marshalling an RSA public key cannot fail: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// PublicKeyID returns the platform public key id ("PUB_KEY_ID_...").
func (s *Sim) PublicKeyID() string { return s.keyID }

// Close stops notification retries and waits for in-flight deliveries. The
// API keeps answering requests, but no notification is sent afterwards.
func (s *Sim) Close() { s.bg.Close() }

// apiError is a WeChat Pay v3 error answer: an HTTP status and a JSON body
// {"code","message"}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func paramError(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "PARAM_ERROR", msg}
}

func invalidRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "INVALID_REQUEST", msg}
}

func signError(msg string) *apiError {
	return &apiError{http.StatusUnauthorized, "SIGN_ERROR", msg}
}

var (
	errOrderNotExist    = &apiError{http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在"}
	errResourceNotExist = &apiError{http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在"}
	errRefundNotExist   = &apiError{http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在"}
	errOrderPaid        = &apiError{http.StatusForbidden, "ORDERPAID", "该订单已支付"}
	errOrderClosed      = &apiError{http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭"}
	errOutTradeNoUsed   = &apiError{http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复"}
	errNotFound         = &apiError{http.StatusNotFound, "NOT_FOUND", "请求的资源不存在"}
	errSystem           = &apiError{http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误"}
)

// call is one authenticated request.
type call struct {
	mchid    string
	merchant *Merchant
	// accept is the Wechatpay-Serial the client asked responses to be
	// signed under; the platform certificate serial selects the
	// certificate, anything else the public key id.
	accept string
	path   string // canonical path, from "/v3/"
	query  map[string][]string
	body   []byte
	params []string // path parameters
}

// reply is a handler's answer. after runs once the response is written
// (notifications that WeChat Pay sends after answering), outside the lock.
type reply struct {
	status int
	body   any // nil: no body
	after  func()
}

type handler func(s *Sim, c *call, now time.Time) (reply, *apiError)

type route struct {
	method  string
	pattern []string // "*" matches one path segment
	h       handler
	// unsigned marks the bill download, which WeChat Pay does not sign.
	unsigned bool
}

var routes = []route{
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "native"}, h: prepay(tradeNative)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "jsapi"}, h: prepay(tradeJSAPI)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "app"}, h: prepay(tradeApp)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "h5"}, h: prepay(tradeH5)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "codepay"}, h: (*Sim).codepay},
	{method: http.MethodGet, pattern: []string{"v3", "pay", "transactions", "out-trade-no", "*"}, h: (*Sim).queryByOutTradeNo},
	{method: http.MethodGet, pattern: []string{"v3", "pay", "transactions", "id", "*"}, h: (*Sim).queryByID},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "out-trade-no", "*", "close"}, h: (*Sim).closeTrade},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "transactions", "out-trade-no", "*", "reverse"}, h: (*Sim).reverse},
	{method: http.MethodPost, pattern: []string{"v3", "refund", "domestic", "refunds"}, h: (*Sim).createRefund},
	{method: http.MethodGet, pattern: []string{"v3", "refund", "domestic", "refunds", "*"}, h: (*Sim).queryRefund},
	{method: http.MethodGet, pattern: []string{"v3", "bill", "tradebill"}, h: (*Sim).tradeBill},
	{method: http.MethodGet, pattern: []string{"v3", "billdownload", "file"}, h: (*Sim).billFile, unsigned: true},
	{method: http.MethodGet, pattern: []string{"v3", "certificates"}, h: (*Sim).certificates},
	{method: http.MethodPost, pattern: []string{"v3", "transfer", "batches"}, h: (*Sim).initiateBatch},
	{method: http.MethodGet, pattern: []string{"v3", "transfer", "batches", "out-batch-no", "*"}, h: (*Sim).batchByOutNo},
	{method: http.MethodGet, pattern: []string{"v3", "transfer", "batches", "out-batch-no", "*", "details", "out-detail-no", "*"}, h: (*Sim).detailByOutNo},
	{method: http.MethodGet, pattern: []string{"v3", "transfer", "batches", "batch-id", "*"}, h: (*Sim).batchByID},
	{method: http.MethodGet, pattern: []string{"v3", "transfer", "batches", "batch-id", "*", "details", "detail-id", "*"}, h: (*Sim).detailByID},
	{method: http.MethodPost, pattern: []string{"v3", "papay", "contracts", "*", "notify"}, h: (*Sim).preDebitNotify},
}

// match finds the route of a canonical path; allowed lists the methods of a
// path that exists under another method.
func match(method, path string) (r *route, params []string, allowed []string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		segs[i] = unescape(seg)
	}
	for i := range routes {
		rt := &routes[i]
		if len(rt.pattern) != len(segs) {
			continue
		}
		var ps []string
		ok := true
		for j, p := range rt.pattern {
			if p == "*" {
				if segs[j] == "" {
					ok = false
					break
				}
				ps = append(ps, segs[j])
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		return rt, ps, nil
	}
	return nil, nil, allowed
}

// maxBody bounds a request; WeChat Pay's own limit is far above any call.
const maxBody = 1 << 20

// ServeHTTP answers the API. It authenticates the request, runs the
// operation under the lock and writes a signed response.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if page, ok := walletPaths(r.URL.Path); ok {
		s.wallet.Serve(w, r, page)
		return
	}
	if mchid, op, ok := oauthPath(r.URL.Path); ok {
		s.serveOAuth(w, r, mchid, op)
		return
	}
	if mchid, op, ok := sandboxPath(r.URL.Path); ok {
		s.serveSandbox(w, r, mchid, op)
		return
	}
	if op, ok := papayPath(r.URL.Path); ok {
		s.servePapay(w, r, op)
		return
	}
	if op, ok := v2Path(r.URL.Path); ok {
		s.serveV2(w, r, op)
		return
	}
	uri := r.URL.RequestURI()
	if i := strings.Index(uri, "/v3/"); i > 0 {
		uri = uri[i:] // mounted under a prefix without StripPrefix
	}
	path, rawQuery, _ := strings.Cut(uri, "?")
	path = strings.TrimRight(path, "/")
	accept := r.Header.Get("Wechatpay-Serial")
	rt, params, allowed := match(r.Method, path)
	if rt == nil {
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			s.writeError(w, accept, &apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "请求方法不被允许"})
			return
		}
		s.writeError(w, accept, errNotFound)
		return
	}
	if p, err := parseAuthorization(r.Header.Get("Authorization")); err == nil && s.Faults.Apply(w, r, p["mchid"]) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, accept, paramError("请求体过大或读取失败"))
		return
	}
	now := s.now()
	c, aerr := s.authenticate(r.Method, uri, r.Header.Get("Authorization"), body, now)
	if aerr != nil {
		s.log.Info("wechatsim: request rejected", "path", path, "code", aerr.Code, "message", aerr.Message)
		s.writeError(w, accept, aerr)
		return
	}
	c.accept, c.path, c.params, c.body = accept, path, params, body
	c.query, _ = parseQuery(rawQuery)

	s.mu.Lock()
	rep, aerr := rt.h(s, c, now)
	s.mu.Unlock()
	if aerr != nil {
		s.writeError(w, accept, aerr)
		if rep.after != nil {
			rep.after() // a batch a failed lookup finished still notifies
		}
		return
	}
	if rt.unsigned {
		b, _ := rep.body.([]byte)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Request-ID", requestID())
		w.WriteHeader(rep.status)
		_, _ = w.Write(b)
	} else {
		s.writeSigned(w, accept, rep.status, rep.body)
	}
	if rep.after != nil {
		rep.after()
	}
}

// writeSigned answers with the platform signature headers over
// TIMESTAMP\nNONCE\nBODY\n, exactly the bytes written.
func (s *Sim) writeSigned(w http.ResponseWriter, accept string, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if body, err = marshal(v); err != nil {
			status, body = errSystem.status, mustMarshal(errSystem)
		}
	}
	ts, nonce := s.now().Unix(), randomString(32, alnum)
	sig, err := s.sign(ts, nonce, body)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Request-ID", requestID())
	h.Set("Wechatpay-Timestamp", itoa(ts))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Serial", s.serialFor(accept))
	if body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers {"code","message"} with the error's status, signed like
// every WeChat Pay answer (the SDKs only check signatures on 2xx).
func (s *Sim) writeError(w http.ResponseWriter, accept string, e *apiError) {
	s.writeSigned(w, accept, e.status, e)
}

// serialFor is the Wechatpay-Serial a response is signed under: the
// certificate serial for clients that asked for it, else the public key id.
func (s *Sim) serialFor(accept string) string {
	if accept == s.certSerial {
		return s.certSerial
	}
	return s.keyID
}

// marshal encodes without HTML escaping, so URLs go out as WeChat Pay
// writes them (weixin://wxpay/bizpayurl?pr=..., h5_url with &).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func mustMarshal(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic("wechatsim: " + err.Error())
	}
	return b
}
