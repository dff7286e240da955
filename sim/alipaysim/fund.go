package alipaysim

import (
	"errors"
	"fmt"
)

// The fund side of the sandbox: the payees transfers
// (alipay.fund.trans.uni.transfer, transfer.go) can pay and the merchant's
// available funds they are paid from.
//
// Payees are Alipay accounts known by their 2088… user id (identity_type
// ALIPAY_USER_ID) or their logon id, an email or a phone number
// (ALIPAY_LOGON_ID), each with its real name (实名). The sandbox seeds
// SandboxPayees; Options.Payees replaces them and AddPayee adds more.
//
// Each app has one balance account (余额账户) holding its available funds,
// Options.Funds (default DefaultFunds) until it is set or topped up: with
// SetFunds and TopUp, or POST <sim>/fund/topup (fund_admin.go). A transfer
// is paid from it when Alipay accepts it; a payout that fails afterwards
// gives the money back.

// Payee is an Alipay account transfers can pay.
type Payee struct {
	UserID  string // 2088 followed by 12 digits
	LogonID string // an email or a phone number; "" when it has none
	Name    string // the real name a transfer's payee_info.name must match
	// DailyLimit is the most the account receives in one day (Beijing
	// time), in fen; 0 is no limit. Unverified accounts are refused with
	// EXCEED_LIMIT_UNRN_DM_AMOUNT, others with EXCEED_LIMIT_DM_AMOUNT. [U]
	DailyLimit int64
	// Unverified accounts (未实名) receive at most UnverifiedDailyLimit a
	// day unless DailyLimit says otherwise.
	Unverified bool
	// Frozen accounts take a transfer (DEALING) and then fail it with
	// PAYEE_ACCOUNT_STATUS_ERROR, giving the money back: a payout that
	// fails after it was accepted. [U] (the sim's choice; Alipay refuses
	// most frozen accounts at once)
	Frozen bool
}

// UnverifiedDailyLimit is what an unverified account receives in one
// day: 1,000.00 yuan.
const UnverifiedDailyLimit = 1000_00

// DefaultFunds is an app's available funds until they are set or topped
// up: 1,000,000.00 yuan.
const DefaultFunds = 1_000_000_00

// maxFunds caps a balance so that top-ups cannot overflow.
const maxFunds = 1_000_000_000_000_00

// The sandbox payees (their names are the sandbox's, not real people's).
var (
	// SandboxPayee is paid by any transfer within its limits.
	SandboxPayee = Payee{UserID: "2088102180000011", LogonID: "payee@sandbox.com", Name: "沙箱环境"}
	// SandboxPayeePhone is paid too; its logon id is a phone number.
	SandboxPayeePhone = Payee{UserID: "2088102180000022", LogonID: "13800138000", Name: "张三"}
	// SandboxPayeeUnverified receives at most UnverifiedDailyLimit a day.
	SandboxPayeeUnverified = Payee{UserID: "2088102180000033", LogonID: "unverified@sandbox.com", Name: "李四",
		Unverified: true, DailyLimit: UnverifiedDailyLimit}
	// SandboxPayeeFrozen takes transfers and then fails them.
	SandboxPayeeFrozen = Payee{UserID: "2088102180000044", LogonID: "frozen@sandbox.com", Name: "王五", Frozen: true}
)

// SandboxPayees are the payees a sim knows unless Options.Payees says
// otherwise.
func SandboxPayees() []Payee {
	return []Payee{SandboxPayee, SandboxPayeePhone, SandboxPayeeUnverified, SandboxPayeeFrozen}
}

// ErrPayeeInvalid is returned by AddPayee for a payee without a 2088…
// user id or a name, or one whose ids are taken.
var ErrPayeeInvalid = errors.New("alipaysim: invalid payee")

// AddPayee makes p an account transfers can pay.
func (s *Sim) AddPayee(p Payee) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addPayee(p)
}

// addPayee is AddPayee with s.mu held.
func (s *Sim) addPayee(p Payee) error {
	if !isUserID(p.UserID) || p.Name == "" {
		return fmt.Errorf("%w: a payee needs a 2088 user id and a name", ErrPayeeInvalid)
	}
	if s.payees[p.UserID] != nil || (p.LogonID != "" && s.payees[p.LogonID] != nil) {
		return fmt.Errorf("%w: %s is already an account", ErrPayeeInvalid, p.UserID)
	}
	if p.Unverified && p.DailyLimit == 0 {
		p.DailyLimit = UnverifiedDailyLimit
	}
	s.payees[p.UserID] = &p
	if p.LogonID != "" {
		s.payees[p.LogonID] = &p
	}
	return nil
}

// isUserID: 2088 followed by 12 digits.
func isUserID(s string) bool { return len(s) == 16 && s[:4] == "2088" && allDigits(s) }

// findPayee looks an account up by its identity as payee_info names it.
// Called with s.mu held.
func (s *Sim) findPayee(identity, identityType string) *Payee {
	p := s.payees[identity]
	switch {
	case p == nil:
		return nil
	case identityType == identityUserID && p.UserID == identity:
		return p
	case identityType == identityLogonID && p.LogonID == identity:
		return p
	}
	return nil
}

// Funds returns an app's available funds in fen.
func (s *Sim) Funds(appID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available(appID)
}

// available is Funds with s.mu held.
func (s *Sim) available(appID string) int64 {
	if f, ok := s.funds[appID]; ok {
		return f
	}
	return s.defaultFunds
}

// SetFunds sets an app's available funds to fen (0 or more).
func (s *Sim) SetFunds(appID string, fen int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funds[appID] = min(max(fen, 0), maxFunds)
}

// ErrTopUp is returned by TopUp for an amount that is not 0.01 to
// 100,000,000.00 yuan, or a balance that would pass the sim's cap.
var ErrTopUp = errors.New("alipaysim: invalid top-up")

// TopUp adds fen to an app's available funds (充值) and returns them.
func (s *Sim) TopUp(appID string, fen int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fen < 1 || fen > maxFen {
		return 0, fmt.Errorf("%w: %d fen", ErrTopUp, fen)
	}
	f := s.available(appID) + fen
	if f > maxFunds {
		return 0, fmt.Errorf("%w: the balance would pass %s yuan", ErrTopUp, yuan(maxFunds))
	}
	s.funds[appID] = f
	s.logFunds(appID, accountLogEntry{at: s.now(), amount: fen, kind: "充值", memo: "沙箱充值"})
	return f, nil
}

// PartnerID is the app's merchant account, its 2088… partner id (the
// alipay_user_id of alipay.fund.account.query).
func (s *Sim) PartnerID(appID string) string { return sellerID(appID) }
