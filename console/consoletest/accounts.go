package consoletest

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay/core"
)

// AccountSeed is what SeedAccounts made: users of the account system with
// balances, and what moved them.
type AccountSeed struct {
	// Test mode: Alice got a bonus of ¥100.00, recharged ¥10.00 (fee
	// ¥0.10, bonus ¥1.00) and sent Bob ¥25.00 (fee ¥0.50): ¥85.90 left.
	// Bob has the ¥24.50 he received; Dave is disabled, with nothing.
	Alice, Bob, Dave                          string
	Bonus, Recharge, RechargeCharge, Transfer string
	// Live mode: Carol, with a bonus of ¥50.00.
	Carol, CarolBonus string
	// Test mode: a "满100减5" template (¥5.00 off orders of ¥100.00, at most
	// 100) with one coupon issued to Alice.
	Template, Coupon string
}

// Balances SeedAccounts leaves, formatted as the console shows them.
const (
	AliceBalance = "¥85.90"
	BobBalance   = "¥24.50"
	CarolBalance = "¥50.00"
)

// SeedAccounts gives the test app's account pages something to show.
func (e *Env) SeedAccounts() AccountSeed {
	e.T.Helper()
	s := AccountSeed{Alice: "alice", Bob: "bob", Dave: "dave.d@example-1", Carol: "carol"}
	e.AccountUser(false, s.Alice, "Alice 测试")
	e.AccountUser(false, s.Bob, "Bob")
	e.AccountUser(false, s.Dave, "Dave")
	s.Bonus = e.Bonus(false, s.Alice, 10000)
	s.Recharge, s.RechargeCharge = e.Recharge(s.Alice, 1000, 10, 100)
	s.Transfer = e.BalanceTransfer(s.Alice, s.Bob, 2500, 50)
	disabled := true
	if _, err := e.Node.Svc.UpdateUser(context.Background(), e.Caller(false), s.Dave, core.UserParams{Disabled: &disabled}, nil); err != nil {
		e.T.Fatalf("disable %s: %v", s.Dave, err)
	}
	e.AccountUser(true, s.Carol, "Carol")
	s.CarolBonus = e.Bonus(true, s.Carol, 5000)
	s.Template, s.Coupon = e.Coupon(s.Alice)
	return s
}

// Coupon makes a test-mode coupon template through core and issues one
// coupon of it to user; it returns both ids.
func (e *Env) Coupon(user string) (string, string) {
	e.T.Helper()
	ctx := context.Background()
	t, err := e.Node.Svc.CreateCouponTemplate(ctx, e.Caller(false), core.CouponTemplateParams{Name: "满100减5", Type: 1,
		AmountOff: 500, AmountAvailable: 10000, MaxCirculation: 100, Refundable: true, Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		e.T.Fatalf("coupon template: %v", err)
	}
	tmpl := idOf(e, t)
	c, err := e.Node.Svc.IssueCoupon(ctx, e.Caller(false), core.CouponParams{User: user, Template: tmpl}, nil)
	if err != nil {
		e.T.Fatalf("coupon for %s: %v", user, err)
	}
	return tmpl, idOf(e, c)
}

// AccountUser adds a user of the account system through core.
func (e *Env) AccountUser(live bool, id, name string) {
	e.T.Helper()
	email := id + "@users.example"
	if _, err := e.Node.Svc.CreateUser(context.Background(), e.Caller(live), core.UserParams{ID: id, Name: &name, Email: &email}, nil); err != nil {
		e.T.Fatalf("user %s: %v", id, err)
	}
}

// Bonus gives a user stored value through core and returns the bonus id.
func (e *Env) Bonus(live bool, user string, amount int64) string {
	e.T.Helper()
	out, err := e.Node.Svc.CreateBonus(context.Background(), e.Caller(live), core.BonusParams{User: user, Amount: amount,
		OrderNo: OrderNo("BB"), Description: "console test bonus", Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		e.T.Fatalf("bonus for %s: %v", user, err)
	}
	return idOf(e, out)
}

// BalanceTransfer moves test-mode value between users through core.
func (e *Env) BalanceTransfer(user, recipient string, amount, fee int64) string {
	e.T.Helper()
	out, err := e.Node.Svc.CreateBalanceTransfer(context.Background(), e.Caller(false), core.BalanceTransferParams{User: user,
		Recipient: recipient, Amount: amount, UserFee: fee, OrderNo: OrderNo("BT"), Description: "console test transfer",
		Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		e.T.Fatalf("balance transfer: %v", err)
	}
	return idOf(e, out)
}

// Recharge recharges a test-mode user through the API with an alipay_qr
// charge and pays it in the sandbox; it returns the recharge's and the
// charge's ids.
func (e *Env) Recharge(user string, amount, fee, bonus int64) (string, string) {
	e.T.Helper()
	st, r := e.API("POST", "/v1/apps/"+e.App.AppID+"/recharges", map[string]any{"user": user, "user_fee": fee,
		"balance_bonus": map[string]any{"amount": bonus}, "description": "console test recharge",
		"charge": map[string]any{"order_no": OrderNo("RC"), "channel": "alipay_qr", "amount": amount, "client_ip": "127.0.0.1",
			"subject": "充值", "body": "余额充值"}})
	if st != 200 {
		e.T.Fatalf("recharge: %d %v", st, r)
	}
	ch, _ := r["charge"].(map[string]any)
	chID, _ := ch["id"].(string)
	if chID == "" {
		e.T.Fatalf("recharge without a charge: %v", r)
	}
	e.Pay(chID)
	return r["id"].(string), chID
}
