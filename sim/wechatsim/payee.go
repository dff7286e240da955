package wechatsim

import (
	"errors"
	"fmt"
	"time"
)

// Payee is a WeChat user who can receive merchant transfers (商家转账) and
// cash red envelopes: an openid under one appid, and the real name WeChat
// holds for the person, which a transfer's user_name is checked against.
type Payee struct {
	OpenID string
	Name   string // the real name (实名)
	// Frozen accounts refuse money: transfers fail ACCOUNT_FROZEN.
	Frozen bool
	// Unverified users have no real name on file: transfers fail
	// REAL_NAME_CHECK_FAIL.
	Unverified bool
}

// SandboxPayees exist under every appid of every merchant, so that a
// merchant testing by hand has someone to pay. The first three receive
// anything within the daily limit; the last two show WeChat's refusals.
var SandboxPayees = []Payee{
	{OpenID: "oUpF8uSandboxPayee0000000001", Name: "张三"},
	{OpenID: "oUpF8uSandboxPayee0000000002", Name: "李四"},
	{OpenID: "oUpF8uSandboxPayee0000000003", Name: "王五"},
	{OpenID: "oUpF8uSandboxPayee0000000004", Name: "赵六", Frozen: true},
	{OpenID: "oUpF8uSandboxPayee0000000005", Name: "钱七", Unverified: true},
}

// DefaultFunds is a merchant's available balance (fen) before any payout
// or top-up: 100,000.00 yuan.
const DefaultFunds = 10_000_000

// DefaultPayeeDailyLimit is what one payee may receive in a Beijing day
// from one merchant's transfers (fen): 10,000.00 yuan.
const DefaultPayeeDailyLimit = 1_000_000

// redpackDailyCount is how many red envelopes one user may receive in a
// day (WeChat's default, SENDNUM_LIMIT beyond it).
const redpackDailyCount = 10

// AddPayee makes p a payee under appid ("" = under every appid), replacing
// one with the same openid.
func (s *Sim) AddPayee(appid string, p Payee) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.payees[appid] == nil {
		s.payees[appid] = map[string]Payee{}
	}
	s.payees[appid][p.OpenID] = p
}

// payee looks openid up under appid. Called with s.mu held.
func (s *Sim) payee(appid, openid string) (Payee, bool) {
	if p, ok := s.payees[appid][openid]; ok {
		return p, true
	}
	p, ok := s.payees[""][openid]
	return p, ok
}

// dayKey counts what one payee received from one merchant in one Beijing
// day.
type dayKey struct{ mchid, appid, openid, day string }

func day(t time.Time) string { return t.In(cst).Format("2006-01-02") }

// ErrBadTopUp is returned by TopUp for a non-positive amount.
var ErrBadTopUp = errors.New("wechatsim: a top-up is a positive number of fen")

// TopUp adds amount fen to the merchant's available balance (充值), as a
// merchant does on the merchant platform before transfers or red envelopes,
// and returns the new balance.
func (s *Sim) TopUp(mchid string, amount int64) (int64, error) {
	if amount <= 0 {
		return 0, ErrBadTopUp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bal := s.balance(mchid) + amount
	if bal < 0 {
		return 0, fmt.Errorf("%w: the balance would overflow", ErrBadTopUp)
	}
	s.funds[mchid] = bal
	return bal, nil
}

// SetFunds sets the merchant's available balance to exactly fen (tests:
// a merchant short of money).
func (s *Sim) SetFunds(mchid string, fen int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funds[mchid] = fen
}

// Funds returns the merchant's available balance in fen.
func (s *Sim) Funds(mchid string) int64 {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touchRedpacks(mchid, now) // unclaimed envelopes come back with time
	return s.balance(mchid)
}

// balance is the merchant's available balance; a merchant the sim has not
// seen yet starts with the sandbox default. Called with s.mu held.
func (s *Sim) balance(mchid string) int64 {
	b, ok := s.funds[mchid]
	if !ok {
		b = s.defaultFunds
		s.funds[mchid] = b
	}
	return b
}

// debit takes amount from the merchant's balance when it covers it.
// Called with s.mu held.
func (s *Sim) debit(mchid string, amount int64) bool {
	if s.balance(mchid) < amount {
		return false
	}
	s.funds[mchid] -= amount
	return true
}

// credit gives amount back (a failed transfer, an unclaimed envelope).
// Called with s.mu held.
func (s *Sim) credit(mchid string, amount int64) { s.funds[mchid] = s.balance(mchid) + amount }
