package alipaysim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Personal debit agreements (个人代扣协议): the customer signs once on
// Alipay's page (alipay.user.agreement.page.sign, agreement_page.go), then
// the merchant debits the agreement with alipay.trade.pay (product_code
// GENERAL_WITHHOLDING for 商家扣款, CYCLE_PAY_AUTH for 周期扣款, and
// agreement_params.agreement_no; agreement_pay.go) without the customer
// confirming each payment.
//
//   - Signing sends the signed dut_user_sign notification (status NORMAL)
//     to the notify_url of the page request, then sends the browser to its
//     return_url with the agreement fields, signed like a payment's return.
//   - alipay.user.agreement.query finds an agreement by agreement_no, or by
//     external_agreement_no (narrowed by personal_product_code, sign_scene
//     and alipay_user_id when they are given); an unknown one, or another
//     app's, is 40004 USER_AGREEMENT_NOT_EXIST.
//   - alipay.user.agreement.unsign ends it (status UNSIGN) and sends
//     dut_user_unsign to the notify_url of the unsign request, if any;
//     unsigning an ended agreement answers 10000 and notifies nothing.
//   - The customer may end it in the app (Sim.UserUnsign, or the wallet page
//     <sim>/wallet/agreements): dut_user_unsign goes to the notify_url given
//     at signing.
//
// Notifications are signed like trade notifications (every non-empty field
// but sign and sign_type, RSA2) and retried on the same schedule. [S]
//
// Simplified: only GENERAL_WITHHOLDING_P and CYCLE_PAY_AUTH_P are offered;
// the customer is a fresh 2088 user for each agreement; status STOP
// (paused) is never reached; a cycle agreement's debits are checked
// against single_amount, total_amount and total_payments but not against
// the dates of its period (ACQ.CYCLE_PAY_DATE_NOT_MATCH is never
// answered); next_deduct_time moves one period per successful debit. [U]

// Agreement methods and the product codes they take.
const (
	methodAgreementSign   = "alipay.user.agreement.page.sign"
	methodAgreementQuery  = "alipay.user.agreement.query"
	methodAgreementUnsign = "alipay.user.agreement.unsign"

	productWithholding = "GENERAL_WITHHOLDING" // 商家扣款
	productCycle       = "CYCLE_PAY_AUTH"      // 周期扣款

	notifySign   = "dut_user_sign"
	notifyUnsign = "dut_user_unsign"
)

// Agreement statuses.
const (
	agreementNormal = "NORMAL"
	agreementUnsign = "UNSIGN"
)

// personalProducts maps each personal_product_code the sim offers to the
// product_code its debits use.
var personalProducts = map[string]string{
	"GENERAL_WITHHOLDING_P": productWithholding,
	"CYCLE_PAY_AUTH_P":      productCycle,
}

func isSignMethod(m string) bool   { return m == methodAgreementSign }
func isDebitProduct(p string) bool { return p == productWithholding || p == productCycle }

// productName is what the customer sees the product called.
func productName(code string) string {
	if code == productCycle {
		return "周期扣款"
	}
	return "商家扣款"
}

// foreverTime is Alipay's invalid_time of an agreement signed without
// sign_validity_period.
var foreverTime = time.Date(2115, 2, 1, 0, 0, 0, 0, cst)

type agreement struct {
	appID, no, externalNo  string
	isv                    string // the service provider's app that signed it for appID, if any
	personalCode, product  string
	scene, externalLogonID string
	userID, logonID        string
	status                 string
	signed, invalid        time.Time // valid_time is signed
	unsigned               time.Time
	notifyURL              string      // of the signing request: where the customer's unsign goes
	rule                   *periodRule // CYCLE_PAY_AUTH only
	deducted               int64       // fen debited so far
	debits                 int
	lastDebit              time.Time
	nextDeduct             time.Time // cycle agreements: the date of the next period
}

// periodRule is a cycle agreement's period_rule_params.
type periodRule struct {
	periodType string // DAY or MONTH
	period     int
	execute    time.Time // first debit date, Beijing midnight
	single     int64     // fen
	total      int64     // fen; 0: no limit
	payments   int       // 0: no limit
}

type agreementKey struct{ appID, externalNo string }

// agreementBook is the sim's agreement state, guarded by Sim.mu; the zero
// value is ready once init has run.
type agreementBook struct {
	byNo       map[string]*agreement
	byExternal map[agreementKey]*agreement // the latest per app and external_agreement_no
	sessions   map[string]*signSession     // signing pages by token
	lowBalance map[string]bool             // SetAgreementBalance(no, false)
	deliveries simkit.Deliveries[Delivery] // by agreement_no
}

func (b *agreementBook) init() {
	if b.byNo == nil {
		b.byNo = map[string]*agreement{}
		b.byExternal = map[agreementKey]*agreement{}
		b.sessions = map[string]*signSession{}
		b.lowBalance = map[string]bool{}
	}
}

// ErrAgreementNotFound is returned by UserUnsign for an agreement the app
// does not have.
var ErrAgreementNotFound = errors.New("alipaysim: agreement not found")

// SetAgreementBalance makes the customer of an agreement short of money
// (enough=false): debits on it fail with ACQ.BUYER_BALANCE_NOT_ENOUGH and
// pay nothing, until it is set back to true. It may be set before the
// agreement exists.
func (s *Sim) SetAgreementBalance(agreementNo string, enough bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agr.init()
	if enough {
		delete(s.agr.lowBalance, agreementNo)
	} else {
		s.agr.lowBalance[agreementNo] = true
	}
}

// AgreementNotifications returns every delivery attempt of an agreement's
// dut_user_sign and dut_user_unsign notifications, oldest first.
func (s *Sim) AgreementNotifications(agreementNo string) []Delivery {
	return s.agr.deliveries.Of(agreementNo)
}

// UserUnsign is the customer ending the agreement in the Alipay app (我的 →
// 设置 → 支付设置 → 免密支付/自动扣款): the agreement becomes UNSIGN and the
// first attempt of dut_user_unsign to the notify_url given at signing is
// made before it returns. An agreement already ended is left alone and
// nothing is sent. ErrAgreementNotFound when appID has no such agreement.
func (s *Sim) UserUnsign(ctx context.Context, appID, agreementNo string) error {
	now := s.now()
	s.mu.Lock()
	s.agr.init()
	a := s.agr.byNo[agreementNo]
	if a == nil || (a.appID != appID && a.isv != appID) { // the merchant's, or its provider's for it
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrAgreementNotFound, agreementNo)
	}
	n := s.endAgreement(a, a.notifyURL, now)
	s.mu.Unlock()
	s.notifier.Send(ctx, n)
	return nil
}

// endAgreement unsigns a and returns the dut_user_unsign notification for
// notifyURL; nil when a was already ended. Called with s.mu held.
func (s *Sim) endAgreement(a *agreement, notifyURL string, now time.Time) *simkit.Notice {
	if a.status == agreementUnsign {
		return nil
	}
	a.status, a.unsigned = agreementUnsign, now
	return s.agreementNotice(a, notifyUnsign, notifyURL, now)
}

// agreementRef is how a merchant names an agreement in query and unsign.
type agreementRef struct {
	AgreementNo         text `json:"agreement_no"`
	ExternalAgreementNo text `json:"external_agreement_no"`
	PersonalProductCode text `json:"personal_product_code"`
	SignScene           text `json:"sign_scene"`
	AlipayUserID        text `json:"alipay_user_id"`
}

var errNoAgreement = business("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")

// findAgreement looks an app's agreement up. agreement_no wins and the other
// fields are then ignored, as Alipay documents; otherwise
// external_agreement_no names it and the others must match when given.
// Called with s.mu held.
func (s *Sim) findAgreement(appID string, ref agreementRef) (*agreement, *apiError) {
	s.agr.init()
	var a *agreement
	switch {
	case ref.AgreementNo != "":
		a = s.agr.byNo[string(ref.AgreementNo)]
	case ref.ExternalAgreementNo != "":
		a = s.agr.byExternal[agreementKey{appID, string(ref.ExternalAgreementNo)}]
		if a != nil && !refMatches(a, ref) {
			a = nil
		}
	default:
		return nil, missingParam("agreement_no")
	}
	if a == nil || a.appID != appID {
		return nil, errNoAgreement // another app's agreement does not exist for this one
	}
	return a, nil
}

func refMatches(a *agreement, ref agreementRef) bool {
	return (ref.PersonalProductCode == "" || string(ref.PersonalProductCode) == a.personalCode) &&
		(ref.SignScene == "" || string(ref.SignScene) == a.scene) &&
		(ref.AlipayUserID == "" || string(ref.AlipayUserID) == a.userID)
}

// agreementQueryRsp is alipay.user.agreement.query's answer. principal_id
// and pricipal_type (sic) are Alipay's names for the customer; the sim
// also answers alipay_user_id.
type agreementQueryRsp struct {
	head
	PrincipalID         string `json:"principal_id"`
	PricipalType        string `json:"pricipal_type"`
	ValidTime           string `json:"valid_time"`
	AlipayLogonID       string `json:"alipay_logon_id"`
	InvalidTime         string `json:"invalid_time"`
	SignScene           string `json:"sign_scene"`
	AgreementNo         string `json:"agreement_no"`
	ThirdPartyType      string `json:"third_party_type"`
	Status              string `json:"status"`
	SignTime            string `json:"sign_time"`
	PersonalProductCode string `json:"personal_product_code"`
	ExternalAgreementNo string `json:"external_agreement_no,omitempty"`
	ExternalLogonID     string `json:"external_logon_id,omitempty"`
	AlipayUserID        string `json:"alipay_user_id"`
	SingleQuota         string `json:"single_quota,omitempty"`
	LastDeductTime      string `json:"last_deduct_time,omitempty"`
	NextDeductTime      string `json:"next_deduct_time,omitempty"`
}

func (s *Sim) agreementQuery(c *call, _ time.Time) (any, *apiError) {
	var ref agreementRef
	if e := decodeBiz(c, &ref); e != nil {
		return nil, e
	}
	a, aerr := s.findAgreement(c.appID, ref)
	if aerr != nil {
		return nil, aerr
	}
	r := agreementQueryRsp{
		head: success, PrincipalID: a.userID, PricipalType: "CARD",
		ValidTime: formatTime(a.signed), AlipayLogonID: a.logonID, InvalidTime: formatTime(a.invalid),
		SignScene: a.scene, AgreementNo: a.no, ThirdPartyType: "PARTNER", Status: a.status,
		SignTime: formatTime(a.signed), PersonalProductCode: a.personalCode,
		ExternalAgreementNo: a.externalNo, ExternalLogonID: a.externalLogonID, AlipayUserID: a.userID,
	}
	if !a.lastDebit.IsZero() {
		r.LastDeductTime = formatTime(a.lastDebit)
	}
	if a.rule != nil {
		r.SingleQuota = yuan(a.rule.single)
		r.NextDeductTime = a.nextDeduct.Format(dateLayout)
	}
	return r, nil
}

// agreementUnsign is alipay.user.agreement.unsign. Alipay answers first and
// notifies afterwards, to the unsign request's own notify_url.
func (s *Sim) agreementUnsign(c *call, now time.Time) (any, *apiError) {
	var ref agreementRef
	if e := decodeBiz(c, &ref); e != nil {
		return nil, e
	}
	a, aerr := s.findAgreement(c.appID, ref)
	if aerr != nil {
		return nil, aerr
	}
	s.notifier.Post(s.endAgreement(a, c.notifyURL, now))
	return success, nil
}

// agreementFields are the agreement's fields as notifications and the sync
// return carry them; empty ones are left out.
func agreementFields(a *agreement, v url.Values) {
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("agreement_no", a.no)
	set("external_agreement_no", a.externalNo)
	set("personal_product_code", a.personalCode)
	set("sign_scene", a.scene)
	set("status", a.status)
	set("alipay_user_id", a.userID)
	set("alipay_logon_id", a.logonID)
	set("external_logon_id", a.externalLogonID)
	set("sign_time", formatTime(a.signed))
	set("valid_time", formatTime(a.signed))
	set("invalid_time", formatTime(a.invalid))
	if !a.unsigned.IsZero() {
		set("unsign_time", formatTime(a.unsigned))
	}
}

// agreementNotice builds the signed notification of a's current state;
// nil without notifyURL. Retries send the same body. Called with s.mu held.
func (s *Sim) agreementNotice(a *agreement, notifyType, notifyURL string, now time.Time) *simkit.Notice {
	if notifyURL == "" {
		s.log.Info("alipaysim: no notify_url, agreement notification skipped", "agreement_no", a.no, "notify_type", notifyType)
		return nil
	}
	v := url.Values{
		"notify_time": {formatTime(now)},
		"notify_type": {notifyType},
		"notify_id":   {randomString(32, "0123456789abcdef")},
		"app_id":      {a.notifyAppID()},
		"charset":     {"utf-8"},
		"version":     {"1.0"},
		"sign_type":   {"RSA2"},
	}
	agreementFields(a, v)
	sig, err := signBytes(s.key, "RSA2", []byte(signContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("alipaysim: signing an agreement notification", "err", err)
		return nil
	}
	v.Set("sign", sig)
	rec := Delivery{NotifyID: v.Get("notify_id"), NotifyType: notifyType}
	key := a.no
	return &simkit.Notice{
		Key: key, URL: notifyURL, Body: []byte(v.Encode()),
		ContentType: "application/x-www-form-urlencoded; charset=utf-8",
		Attrs:       []any{"notify_id", rec.NotifyID, "notify_type", notifyType},
		Record: func(d simkit.Delivery) {
			r := rec
			r.Delivery = d
			s.agr.deliveries.Add(key, r)
		},
	}
}

// newAgreementNo makes a unique 20-digit agreement number shaped like
// Alipay's: the year, then digits. Called with s.mu held.
func (s *Sim) newAgreementNo(now time.Time) string {
	for {
		no := now.In(cst).Format("2006") + randomString(16, "0123456789")
		if s.agr.byNo[no] == nil {
			return no
		}
	}
}

// dateLayout is execute_time's and next_deduct_time's.
const dateLayout = "2006-01-02"

// advance is the date one period after d.
func (r *periodRule) advance(d time.Time) time.Time {
	if r.periodType == "MONTH" {
		return d.AddDate(0, r.period, 0)
	}
	return d.AddDate(0, 0, r.period)
}

// atoi reads a positive count; 0 when it is not one.
func atoi(t text) int {
	n, err := strconv.Atoi(string(t))
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// notifyAppID is the app_id an agreement's messages name: the service
// provider's when one signed it for the merchant (auth_app_id).
func (a *agreement) notifyAppID() string {
	if a.isv != "" {
		return a.isv
	}
	return a.appID
}
