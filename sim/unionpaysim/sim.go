// Package unionpaysim simulates the UnionPay online gateway (银联全渠道, ACP
// 5.1.0) for polypay's test mode:
//
//	POST /gateway/api/frontTransReq.do  browser form → card-entry page
//	POST /gateway/api/appTransReq.do    → tn (in-app control, Apple Pay)
//	POST /gateway/api/backTransReq.do   refund (04), purchase cancellation (31),
//	                                    pre-authorization completion (03) and cancel (32),
//	                                    payout (代付, 12: see payout.go)
//	POST /gateway/api/queryTrans.do     txnType 00 by orderId + txnTime
//	POST /filedownload/                 file transfer (txnType 76): zipped ZM file
//	GET  /cashier?tn=…                  card-entry page for a tn (the app control)
//	GET  /applepay?tn=…, POST /applepay/pay  simulated Apple Pay sheet / token
//	/_test/payout/…                     test endpoints: payout funds top-up, deciding
//	                                    a payout (testapi.go); not UnionPay's
//
// Every request's signature is checked against the merchant's registered
// certificate (certId must be its serial): a bad one gets respCode 11
// (验证签名失败). Answers and notifications are signed with the sim's
// signing certificate, carried as signPubKeyCert and chained to the sim's
// root through its middle certificate. Back notifications are form POSTs
// to backUrl, acknowledged by HTTP 200 and otherwise sent again after 1, 2,
// 4 and 5 minutes (5 sends; scaled by Options.Retry).
//
// Sim behaviour where UnionPay's is not documented: a purchase is unknown
// to queries (respCode 34) until the customer submits payment; a repeated
// appTransReq for the same orderId, txnTime and amount answers the same
// tn; refunds and cancellations succeed at once (query origRespCode 00)
// and notify after the answer; the file of a settlement day that has no
// transaction does not exist (respCode 98), today's is served at once.
//
// Pre-authorization (txnType 02 through the same front and app requests as
// a purchase) holds the amount once the customer pays; the hold takes one
// completion (03) of at most the held amount (UnionPay allows up to 115%;
// the sim, like polypay, does not: respCode 33 交易金额超限) or one cancel
// (32) of exactly the held amount (36 otherwise), within HoldPeriod of the
// authorization. A completion after a cancel, a cancel after a completion,
// a second completion and anything after the hold expired get 35
// (原交易不存在或状态不正确). Refunds of a completed pre-authorization name
// the completion's queryId. The respCodes for these refusals are the sim's
// choice from UnionPay's documented table.
package unionpaysim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Merchant is a merchant as UnionPay registered it: its signing
// certificate's serial (certId, decimal) and public key.
type Merchant struct {
	MerID     string
	CertID    string
	PublicKey *rsa.PublicKey
}

// Options configures a Sim.
type Options struct {
	// RootKey, MiddleKey and SignKey are the sim's PKI keys; fresh ones are
	// generated when nil. The certificates are derived from them.
	RootKey, MiddleKey, SignKey *rsa.PrivateKey
	// EncryptKey is the key of the encryption certificate merchants
	// encrypt card numbers with (encryptCertId); nil uses SignKey, so the
	// certificate survives restarts with the keys a caller keeps already
	// (UnionPay's own are two keys; this is a simulator).
	EncryptKey *rsa.PrivateKey
	// Merchant returns a merchant by merId; never called with the lock held.
	Merchant   func(merID string) (*Merchant, bool)
	HTTPClient *http.Client
	Now        func() time.Time
	// Retry is the gap before each resend of an unacknowledged notification;
	// nil means DefaultRetry, an empty non-nil slice none.
	Retry  []time.Duration
	Logger *slog.Logger
	// PayoutFunds is what each merchant's payout account holds when the
	// sim first meets it, fen; 0 means DefaultPayoutFunds, negative none.
	PayoutFunds int64
	// CardDailyLimit is what a payee card receives per day at most, fen,
	// unless its Payee says otherwise; 0 means DefaultCardDailyLimit.
	CardDailyLimit int64
}

// DefaultRetry is UnionPay's schedule: 5 sends, 1, 2, 4 and 5 minutes apart.
var DefaultRetry = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute}

// Test card data accepted by the card-entry page.
const (
	TestCard    = "6216261000000000018"
	TestSMSCode = "111111"
)

var cst = time.FixedZone("CST", 8*3600)

// Sim is the simulated gateway; an http.Handler.
type Sim struct {
	signKey                                 *rsa.PrivateKey
	rootCertPEM, middleCertPEM, signCertPEM string
	encKey                                  *rsa.PrivateKey
	encCertPEM, encCertID                   string
	payoutFunds, cardLimit                  int64
	merchant                                func(string) (*Merchant, bool)
	now                                     func() time.Time
	log                                     *slog.Logger
	mux                                     *http.ServeMux

	// bg runs the back notifications and their retries; Close stops them.
	bg         simkit.Group
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // by merId/orderId

	mu        sync.Mutex
	trades    map[string]*trade // merId/orderId
	byTN      map[string]*trade
	byQueryID map[string]*trade
	seq       int64
	payees    map[string]Payee // by card number
	funds     map[string]int64 // merId → payout funds, fen
	cardDay   map[string]int64 // card/YYYYMMDD → fen paid out or held
	// removedSubs are sub-merchants no longer registered with a platform
	// merchant: {merId, subMerId}.
	removedSubs map[[2]string]bool
}

// HoldPeriod is how long a pre-authorization holds funds: UnionPay takes
// completions within 30 days and releases the hold after that.
const HoldPeriod = 30 * 24 * time.Hour

// trade is any transaction: a purchase (01), pre-authorization (02), its
// completion (03) or cancel (32), refund (04) or cancellation (31).
type trade struct {
	merID, orderID, txnTime, txnType string
	amount                           int64
	backURL, frontURL, reqReserved   string
	channelType                      string
	payTimeout                       time.Time
	tn                               string
	submitted                        bool   // the customer reached the payment step
	origRespCode, origRespMsg        string // "" while unpaid
	queryID                          string
	traceNo                          string
	at                               time.Time
	accNo                            string     // masked card number
	origQryID                        string     // refunds and cancellations
	refunded                         int64      // purchases and completions
	cancelled                        bool       // purchases (31) and pre-authorizations (32)
	completed                        bool       // pre-authorizations
	po                               *payout    // payouts (12) only
	qrc                              bool       // a scanned payment code's purchase
	biz                              string     // bizType when not 000201: the QR product's 000000
	subMer                           *[3]string // a platform's sub-merchant: subMerId, subMerName, subMerAbbr
}

// New builds a Sim; Close stops its retries.
func New(o Options) *Sim {
	gen := func(k *rsa.PrivateKey) *rsa.PrivateKey {
		if k != nil {
			return k
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	rootKey, midKey, signKey := gen(o.RootKey), gen(o.MiddleKey), gen(o.SignKey)
	root, rootPEM := issue(1, name("CFCA SIM ROOT"), true, &rootKey.PublicKey, nil, rootKey)
	mid, midPEM := issue(2, name("CFCA SIM OCA1"), true, &midKey.PublicKey, root, rootKey)
	_, signPEM := issue(69629715988, name(SignCertCN), false, &signKey.PublicKey, mid, midKey)
	encKey := o.EncryptKey
	if encKey == nil {
		encKey = signKey
	}
	_, encPEM := issue(EncryptCertSerial, name(EncryptCertCN), false, &encKey.PublicKey, mid, midKey)
	s := &Sim{signKey: signKey, rootCertPEM: string(rootPEM), middleCertPEM: string(midPEM), signCertPEM: string(signPEM),
		encKey: encKey, encCertPEM: string(encPEM), encCertID: strconv.FormatInt(EncryptCertSerial, 10),
		payoutFunds: o.PayoutFunds, cardLimit: o.CardDailyLimit,
		merchant: o.Merchant, now: o.Now, log: o.Logger,
		trades: map[string]*trade{}, byTN: map[string]*trade{}, byQueryID: map[string]*trade{},
		payees: map[string]Payee{}, funds: map[string]int64{}, cardDay: map[string]int64{}}
	switch {
	case s.payoutFunds == 0:
		s.payoutFunds = DefaultPayoutFunds
	case s.payoutFunds < 0:
		s.payoutFunds = 0
	}
	if s.cardLimit <= 0 {
		s.cardLimit = DefaultCardDailyLimit
	}
	for _, p := range SeedPayees() {
		s.payees[p.Card] = p
	}
	if s.merchant == nil {
		s.merchant = func(string) (*Merchant, bool) { return nil, false }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "unionpaysim", Acked: acked,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Now: s.now, Log: s.log})
	m := http.NewServeMux()
	m.HandleFunc("POST /gateway/api/frontTransReq.do", s.front)
	m.HandleFunc("POST /gateway/api/appTransReq.do", s.api(s.app))
	m.HandleFunc("POST /gateway/api/backTransReq.do", s.api(s.back))
	m.HandleFunc("POST /gateway/api/queryTrans.do", s.api(s.query))
	m.HandleFunc("POST /filedownload/", s.api(s.file))
	m.HandleFunc("GET /cashier", s.cashier)
	m.HandleFunc("POST /cashier/pay", s.cashierPay)
	m.HandleFunc("GET /applepay", s.applePage)
	m.HandleFunc("POST /applepay/pay", s.applePay)
	s.testRoutes(m)
	s.mux = m
	return s
}

// RootCertPEM, MiddleCertPEM and SignCertPEM are the sim's certificates;
// merchants configure the first two as root_cert and middle_cert.
func (s *Sim) RootCertPEM() string   { return s.rootCertPEM }
func (s *Sim) MiddleCertPEM() string { return s.middleCertPEM }
func (s *Sim) SignCertPEM() string   { return s.signCertPEM }

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops pending notification retries and waits for them.
func (s *Sim) Close() { s.bg.Close() }

// Response codes the sim answers with (UnionPay's wording).
var respMsg = map[string]string{
	"00": "成功[0000000]", "10": "报文格式错误", "11": "验证签名失败", "12": "重复交易", "13": "报文交易要素缺失",
	"31": "商户状态不正确", "32": "无此交易权限", "33": "交易金额超限", "34": "查无此交易", "35": "原交易不存在或状态不正确",
	"36": "与原交易信息不符", "60": "交易失败，详情请咨询您的发卡行", "98": "文件不存在",
	"05": "交易已受理，请稍后查询交易结果", "30": "交易未通过，请尝试使用其他银联卡支付或联系95516",
	"61": "输入的卡号无效，请确认后输入", "62": "交易失败，发卡银行不支持该商户，请更换其他银行卡", "63": "卡状态不正确",
	"64": "卡上的余额不足", "66": "持卡人身份信息或手机号输入不正确，验证失败",
}

type apiError struct{ code, msg string }

func fail(code string, detail string) *apiError {
	m := respMsg[code]
	if detail != "" {
		m += "：" + detail
	}
	return &apiError{code, m}
}

// readRequest parses and authenticates a request: form fields, one value
// each, version 5.1.0, signMethod 01, a known merchant whose certificate
// serial is certId, and a signature that verifies with its key.
func (s *Sim) readRequest(r *http.Request) (map[string]string, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fail("10", "")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fail("10", "")
	}
	v := map[string]string{}
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fail("10", k+" repeated")
		}
		v[k] = vs[0]
	}
	for _, k := range []string{"version", "encoding", "signMethod", "certId", "merId", "txnType", "txnSubType", "bizType", "accessType", "signature"} {
		if v[k] == "" {
			return v, fail("13", k)
		}
	}
	if v["version"] != "5.1.0" || v["signMethod"] != "01" || !strings.EqualFold(v["encoding"], "UTF-8") {
		return v, fail("10", "version/signMethod/encoding/accessType")
	}
	m, ok := s.merchant(v["merId"])
	if !ok || m == nil {
		return v, fail("31", "")
	}
	if v["certId"] != m.CertID || !verify(m.PublicKey, v) {
		return v, fail("11", "")
	}
	return v, s.checkAccess(v)
}

// api wraps a back-channel endpoint: authenticate, run, answer k=v signed.
func (s *Sim) api(h func(v map[string]string) (map[string]string, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, e := s.readRequest(r)
		var out map[string]string
		if e == nil {
			out, e = h(v)
		}
		if out == nil {
			out = map[string]string{}
		}
		for _, k := range []string{"version", "encoding", "bizType", "txnType", "txnSubType", "accessType", "merId", "subMerId", "subMerName", "subMerAbbr", "orderId", "txnTime", "reqReserved"} {
			if _, set := out[k]; !set && v[k] != "" {
				out[k] = v[k]
			}
		}
		out["signMethod"] = "01"
		if e != nil {
			out["respCode"], out["respMsg"] = e.code, e.msg
		} else if out["respCode"] == "" {
			out["respCode"], out["respMsg"] = "00", respMsg["00"]
		}
		s.sign(out)
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		io.WriteString(w, encodeAnswer(out))
	}
}

// encodeAnswer writes raw k=v pairs, as UnionPay does (no URL encoding).
func encodeAnswer(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + v[k])
	}
	return b.String()
}

func key(merID, orderID string) string { return merID + "/" + orderID }

func validOrderID(s string) bool {
	if len(s) < 8 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

func parseAmount(s string) (int64, bool) {
	if s == "" || len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func parseTxnTime(s string) (time.Time, bool) {
	t, err := time.ParseInLocation("20060102150405", s, cst)
	return t, err == nil && len(s) == 14
}

// purchase validates a purchase request (front or app) and records it, or
// returns the identical one already recorded.
func (s *Sim) purchase(v map[string]string) (*trade, *apiError) {
	for _, k := range []string{"orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "channelType"} {
		if v[k] == "" {
			return nil, fail("13", k)
		}
	}
	amount, ok := parseAmount(v["txnAmt"])
	if (v["txnType"] != "01" && v["txnType"] != "02") || v["txnSubType"] != "01" || v["bizType"] != "000201" || !ok || v["currencyCode"] != "156" || !validOrderID(v["orderId"]) {
		return nil, fail("10", "txnType/txnSubType/bizType/txnAmt/currencyCode/orderId")
	}
	if _, ok := parseTxnTime(v["txnTime"]); !ok {
		return nil, fail("10", "txnTime")
	}
	if v["channelType"] != "07" && v["channelType"] != "08" {
		return nil, fail("10", "channelType")
	}
	var timeout time.Time
	if v["payTimeout"] != "" {
		if timeout, ok = parseTxnTime(v["payTimeout"]); !ok {
			return nil, fail("10", "payTimeout")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(v["merId"], v["orderId"])
	if t := s.trades[k]; t != nil {
		if t.txnType != v["txnType"] || t.txnTime != v["txnTime"] || t.amount != amount || !t.sameSub(v) {
			return nil, fail("12", "")
		}
		return t, nil
	}
	t := &trade{merID: v["merId"], orderID: v["orderId"], txnTime: v["txnTime"], txnType: v["txnType"], amount: amount,
		backURL: v["backUrl"], frontURL: v["frontUrl"], reqReserved: v["reqReserved"], channelType: v["channelType"], payTimeout: timeout,
		subMer: subMerOf(v)}
	s.trades[k] = t
	return t, nil
}

func (s *Sim) app(v map[string]string) (map[string]string, *apiError) {
	t, e := s.purchase(v)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.tn == "" {
		t.tn = s.numberLocked(21)
		s.byTN[t.tn] = t
	}
	return map[string]string{"tn": t.tn}, nil
}

// numberLocked makes a unique n-digit number (tn, queryId).
func (s *Sim) numberLocked(n int) string {
	s.seq++
	r, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	out := s.now().In(cst).Format("060102150405") + fmt.Sprintf("%06d%03d", r.Int64(), s.seq%1000)
	return out[:n]
}

func (s *Sim) back(v map[string]string) (map[string]string, *apiError) {
	if v["txnType"] == txnPayout {
		return s.payout(v)
	}
	if v["txnType"] == "01" && v["txnSubType"] == "06" && v["bizType"] == "000000" {
		return s.qrcPurchase(v)
	}
	for _, k := range []string{"orderId", "origQryId", "txnTime", "txnAmt", "backUrl"} {
		if v[k] == "" {
			return nil, fail("13", k)
		}
	}
	amount, ok := parseAmount(v["txnAmt"])
	if !ok || !validOrderID(v["orderId"]) || v["bizType"] != "000201" && v["bizType"] != "000000" {
		return nil, fail("10", "txnAmt/orderId/bizType")
	}
	if _, ok := parseTxnTime(v["txnTime"]); !ok {
		return nil, fail("10", "txnTime")
	}
	switch v["txnType"] {
	case "04", "31", "03", "32":
	default:
		return nil, fail("32", "txnType "+v["txnType"])
	}
	now := s.now()
	s.mu.Lock()
	k := key(v["merId"], v["orderId"])
	if s.trades[k] != nil {
		s.mu.Unlock()
		return nil, fail("12", "")
	}
	orig := s.byQueryID[v["origQryId"]]
	if orig != nil && orig.qrc != (v["bizType"] == "000000") {
		s.mu.Unlock()
		return nil, fail("10", "bizType")
	}
	if e := checkOrig(orig, v, amount, now); e != nil {
		s.mu.Unlock()
		return nil, e
	}
	switch v["txnType"] {
	case "03":
		orig.completed = true
	case "32":
		orig.cancelled = true
	case "04":
		if amount > orig.amount-orig.refunded {
			s.mu.Unlock()
			return nil, fail("36", "退货金额超限")
		}
		orig.refunded += amount
	case "31":
		// Only the purchase's own settlement day, in full, never after a refund.
		if settleDay(orig.at) != settleDay(now) || orig.refunded != 0 {
			s.mu.Unlock()
			return nil, fail("35", "")
		}
		if amount != orig.amount {
			s.mu.Unlock()
			return nil, fail("36", "撤销金额须与原交易一致")
		}
		orig.cancelled = true
	}
	t := &trade{merID: v["merId"], orderID: v["orderId"], txnTime: v["txnTime"], txnType: v["txnType"], amount: amount,
		backURL: v["backUrl"], reqReserved: v["reqReserved"], origQryID: orig.queryID, submitted: true,
		origRespCode: "00", origRespMsg: respMsg["00"], at: now, accNo: orig.accNo, biz: orig.biz, subMer: orig.subMer}
	t.queryID, t.traceNo = s.numberLocked(21), s.numberLocked(6)
	s.trades[k] = t
	s.byQueryID[t.queryID] = t
	n := s.noticeLocked(t)
	s.mu.Unlock()
	// The answer goes first; the notification follows.
	s.notifier.Post(n)
	return map[string]string{"queryId": t.queryID, "origQryId": orig.queryID, "txnAmt": v["txnAmt"]}, nil
}

func (s *Sim) query(v map[string]string) (map[string]string, *apiError) {
	if v["orderId"] == "" || v["txnTime"] == "" {
		return nil, fail("13", "orderId/txnTime")
	}
	now := s.now()
	s.mu.Lock()
	t := s.trades[key(v["merId"], v["orderId"])]
	if t == nil || t.txnTime != v["txnTime"] || !t.submitted || !t.sameSub(v) {
		s.mu.Unlock()
		return nil, fail("34", "")
	}
	s.lapseLocked(t, now)
	// The first query of a processing payout decides it (Ping++'s test
	// mode settles a transfer when the merchant retrieves it); the answer
	// goes first, the notification follows.
	var n *simkit.Notice
	if t.po != nil && !t.po.decided && !s.heldLocked(t.po) {
		n = s.decideLocked(t, "", now)
	}
	defer s.notifier.Post(n)
	defer s.mu.Unlock()
	out := map[string]string{"txnType": t.txnType, "txnAmt": strconv.FormatInt(t.amount, 10), "currencyCode": "156",
		"origRespCode": t.origRespCode, "origRespMsg": t.origRespMsg, "queryId": t.queryID, "traceNo": t.traceNo,
		"accNo": t.accNo, "origQryId": t.origQryID}
	if !t.at.IsZero() {
		out["traceTime"] = t.at.In(cst).Format("0102150405")
		out["settleDate"] = settleDay(t.at).Format("0102")
		out["settleAmt"], out["settleCurrencyCode"] = out["txnAmt"], "156"
	}
	return out, nil
}

// checkOrig decides whether a back request may act on its original
// transaction (origQryId), with the lock held.
func checkOrig(orig *trade, v map[string]string, amount int64, now time.Time) *apiError {
	if orig == nil || orig.merID != v["merId"] || !orig.sameSub(v) || orig.origRespCode != "00" {
		return fail("35", "")
	}
	switch v["txnType"] {
	case "04", "31":
		want := "01"
		if v["txnType"] == "04" && orig.txnType == "03" {
			want = "03" // a completed pre-authorization is refunded through its completion
		}
		if orig.txnType != want || orig.cancelled {
			return fail("35", "")
		}
	case "03", "32":
		switch {
		case orig.txnType != "02":
			return fail("35", "原交易不是预授权")
		case orig.completed:
			return fail("35", "预授权已完成")
		case orig.cancelled:
			return fail("35", "预授权已撤销")
		case now.After(orig.at.Add(HoldPeriod)):
			return fail("35", "预授权已过期")
		case v["txnType"] == "03" && amount > orig.amount:
			return fail("33", "预授权完成金额超过预授权金额")
		case v["txnType"] == "32" && amount != orig.amount:
			return fail("36", "撤销金额须与原预授权一致")
		}
	}
	return nil
}

// settleDay is a moment's settlement date: UnionPay's day ends at 23:00
// Beijing time.
func settleDay(t time.Time) time.Time {
	d := t.In(cst).Add(time.Hour)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, cst)
}

// settle pays (or declines) a purchase the customer submitted and sends
// the back notification; the first send completes before it returns.
func (s *Sim) settle(ctx context.Context, t *trade, success bool, card string) error {
	now := s.now()
	s.mu.Lock()
	if t.origRespCode == "00" {
		s.mu.Unlock()
		return nil // paid already: a second submission changes nothing
	}
	if !t.payTimeout.IsZero() && now.After(t.payTimeout) {
		s.mu.Unlock()
		return fmt.Errorf("unionpaysim: order %s timed out at %s", t.orderID, t.payTimeout.Format(time.DateTime))
	}
	t.submitted = true
	if !success {
		t.origRespCode, t.origRespMsg = "60", respMsg["60"]
		s.mu.Unlock()
		return nil
	}
	t.origRespCode, t.origRespMsg, t.at, t.accNo = "00", respMsg["00"], now, mask(card)
	t.queryID, t.traceNo = s.numberLocked(21), s.numberLocked(6)
	s.byQueryID[t.queryID] = t
	n := s.noticeLocked(t)
	s.mu.Unlock()
	s.notifier.Send(ctx, n)
	return nil
}

func mask(card string) string {
	if len(card) < 10 {
		return ""
	}
	return card[:6] + strings.Repeat("*", len(card)-10) + card[len(card)-4:]
}

// Pay plays the customer paying (or failing to pay) a purchase the
// merchant created (app) or the browser submitted (front).
func (s *Sim) Pay(ctx context.Context, merID, orderID string, success bool) error {
	s.mu.Lock()
	t := s.trades[key(merID, orderID)]
	s.mu.Unlock()
	if t == nil || (t.txnType != "01" && t.txnType != "02") {
		return fmt.Errorf("unionpaysim: no purchase %s of merchant %s", orderID, merID)
	}
	return s.settle(ctx, t, success, TestCard)
}

// PayTN pays the purchase of a tn, as the in-app control would.
func (s *Sim) PayTN(ctx context.Context, tn string, success bool) error {
	s.mu.Lock()
	t := s.byTN[tn]
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("unionpaysim: unknown tn %s", tn)
	}
	return s.settle(ctx, t, success, TestCard)
}

// Delivery is one attempt to deliver a back notification. Acked is HTTP
// 200.
type Delivery struct {
	simkit.Delivery
	TxnType string
}

// acked is UnionPay's acknowledgement.
func acked(status int, _ []byte) bool { return status == http.StatusOK }

// Notifications returns the delivery attempts for a merchant's orderId.
func (s *Sim) Notifications(merID, orderID string) []Delivery {
	return s.deliveries.Of(key(merID, orderID))
}

// noticeLocked builds a trade's signed back notification.
func (s *Sim) noticeLocked(t *trade) *simkit.Notice {
	v := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0",
		"bizType": "000201", "txnType": t.txnType, "txnSubType": "00", "merId": t.merID, "orderId": t.orderID,
		"txnTime": t.txnTime, "txnAmt": strconv.FormatInt(t.amount, 10), "currencyCode": "156",
		"queryId": t.queryID, "traceNo": t.traceNo, "traceTime": t.at.In(cst).Format("0102150405"),
		"settleDate": settleDay(t.at).Format("0102"), "settleAmt": strconv.FormatInt(t.amount, 10),
		"settleCurrencyCode": "156", "respCode": "00", "respMsg": "Success!", "accNo": t.accNo,
		"origQryId": t.origQryID, "reqReserved": t.reqReserved}
	if t.txnType == "01" || t.txnType == "02" {
		v["txnSubType"], v["payCardType"], v["payType"] = "01", "01", "0001"
	}
	if t.biz != "" {
		v["bizType"] = t.biz
	}
	if t.qrc {
		v["txnSubType"], v["payType"] = "06", ""
	}
	t.subMerFields(v)
	return s.signedNotice(t, v)
}

// signedNotice signs a notification's fields and addresses it to the
// trade's backUrl.
func (s *Sim) signedNotice(t *trade, v map[string]string) *simkit.Notice {
	s.sign(v)
	form := url.Values{}
	for k, x := range v {
		if x != "" {
			form.Set(k, x)
		}
	}
	k, txnType := key(t.merID, t.orderID), t.txnType
	return &simkit.Notice{
		Key: k, URL: t.backURL, Body: []byte(form.Encode()),
		ContentType: "application/x-www-form-urlencoded;charset=UTF-8",
		Attrs:       []any{"txnType", txnType},
		Record:      func(d simkit.Delivery) { s.deliveries.Add(k, Delivery{Delivery: d, TxnType: txnType}) },
	}
}

// frontFields is the signed front notification (posted by the browser to
// frontUrl after payment): the back notification's fields.
func (s *Sim) frontFields(t *trade) url.Values {
	s.mu.Lock()
	n := s.noticeLocked(t)
	s.mu.Unlock()
	v, _ := url.ParseQuery(string(n.Body))
	return v
}
