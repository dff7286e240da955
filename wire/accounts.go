package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// User is Ping++'s user object of the account system (pingpp-compat §2.11).
type User struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	App                 string          `json:"app"`
	Livemode            bool            `json:"livemode"`
	Type                string          `json:"type"`
	Name                *string         `json:"name"`
	Email               *string         `json:"email"`
	Mobile              *string         `json:"mobile"`
	Gender              *string         `json:"gender"`
	Address             *string         `json:"address"`
	Avatar              *string         `json:"avatar"`
	Disabled            bool            `json:"disabled"`
	Identified          bool            `json:"identified"`
	AvailableBalance    int64           `json:"available_balance"`
	WithdrawableBalance int64           `json:"withdrawable_balance"`
	AvailableCoupons    int             `json:"available_coupons"`
	SettleAccounts      []any           `json:"settle_accounts"`
	Metadata            json.RawMessage `json:"metadata"`
	Created             int64           `json:"created"`
}

// FromUser renders a user; the caller adds available_coupons, the
// withdrawable balance and the settle accounts.
func FromUser(u *polypay.User) *User {
	return &User{ID: u.ID, Object: "user", App: u.AppID, Livemode: u.Livemode, Type: u.Type, Name: nullStr(u.Name),
		Email: nullStr(u.Email), Mobile: nullStr(u.Mobile), Gender: nullStr(u.Gender), Address: nullStr(u.Address),
		Avatar: nullStr(u.Avatar), Disabled: u.Disabled, Identified: u.Identified, AvailableBalance: u.AvailableBalance,
		WithdrawableBalance: u.WithdrawableBalance, SettleAccounts: []any{}, Metadata: object(u.Metadata), Created: u.Created}
}

// BalanceTransaction is Ping++'s balance_transaction object.
type BalanceTransaction struct {
	ID               string  `json:"id"`
	Object           string  `json:"object"`
	App              string  `json:"app"`
	Livemode         bool    `json:"livemode"`
	User             string  `json:"user"`
	Type             string  `json:"type"`
	Amount           int64   `json:"amount"`
	AvailableBalance int64   `json:"available_balance"`
	Source           string  `json:"source"`
	Description      *string `json:"description"`
	Created          int64   `json:"created"`
}

// FromBalanceTxn renders a balance transaction.
func FromBalanceTxn(t *polypay.BalanceTransaction) *BalanceTransaction {
	return &BalanceTransaction{ID: t.ID, Object: "balance_transaction", App: t.AppID, Livemode: t.Livemode, User: t.User,
		Type: string(t.Type), Amount: t.Amount, AvailableBalance: t.AvailableBalance, Source: t.Source,
		Description: nullStr(t.Description), Created: t.Created}
}

// BalanceBonus is Ping++'s balance_bonus object. A bonus is paid when
// made; polypay does not refund bonuses (refunded false, amount_refunded 0).
type BalanceBonus struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	User               string          `json:"user"`
	Amount             int64           `json:"amount"`
	OrderNo            string          `json:"order_no"`
	Paid               bool            `json:"paid"`
	Refunded           bool            `json:"refunded"`
	AmountRefunded     int64           `json:"amount_refunded"`
	TimePaid           int64           `json:"time_paid"`
	BalanceTransaction string          `json:"balance_transaction"`
	Description        *string         `json:"description"`
	Metadata           json.RawMessage `json:"metadata"`
	Created            int64           `json:"created"`
}

// FromBonus renders a balance bonus.
func FromBonus(b *polypay.BalanceBonus) *BalanceBonus {
	return &BalanceBonus{ID: b.ID, Object: "balance_bonus", App: b.AppID, Livemode: b.Livemode, User: b.User, Amount: b.Amount,
		OrderNo: b.OrderNo, Paid: true, TimePaid: b.Created, BalanceTransaction: b.BalanceTransaction,
		Description: nullStr(b.Description), Metadata: object(b.Metadata), Created: b.Created}
}

// BalanceTransfer is Ping++'s balance_transfer object; polypay's are
// decided when made (status succeeded).
type BalanceTransfer struct {
	ID                          string          `json:"id"`
	Object                      string          `json:"object"`
	App                         string          `json:"app"`
	Livemode                    bool            `json:"livemode"`
	Status                      string          `json:"status"`
	User                        string          `json:"user"`
	Recipient                   string          `json:"recipient"`
	Amount                      int64           `json:"amount"`
	UserFee                     int64           `json:"user_fee"`
	OrderNo                     string          `json:"order_no"`
	UserBalanceTransaction      string          `json:"user_balance_transaction"`
	RecipientBalanceTransaction string          `json:"recipient_balance_transaction"`
	Description                 *string         `json:"description"`
	Metadata                    json.RawMessage `json:"metadata"`
	Created                     int64           `json:"created"`
}

// FromBalanceTransfer renders a balance transfer.
func FromBalanceTransfer(t *polypay.BalanceTransfer) *BalanceTransfer {
	return &BalanceTransfer{ID: t.ID, Object: "balance_transfer", App: t.AppID, Livemode: t.Livemode, Status: "succeeded",
		User: t.User, Recipient: t.Recipient, Amount: t.Amount, UserFee: t.UserFee, OrderNo: t.OrderNo,
		UserBalanceTransaction: t.UserBalanceTransaction, RecipientBalanceTransaction: t.RecipientBalanceTransaction,
		Description: nullStr(t.Description), Metadata: object(t.Metadata), Created: t.Created}
}

// Recharge is Ping++'s recharge object: the charge that pays it is
// embedded (with its credential), as Ping++'s clients unwrap it.
type Recharge struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	User               string          `json:"user"`
	FromUser           string          `json:"from_user"`
	Amount             int64           `json:"amount"`
	UserFee            int64           `json:"user_fee"`
	Succeeded          bool            `json:"succeeded"`
	TimeSucceeded      *int64          `json:"time_succeeded"`
	Refunded           bool            `json:"refunded"`
	Charge             *Charge         `json:"charge"`
	BalanceBonus       *BalanceBonus   `json:"balance_bonus"`
	BalanceTransaction *string         `json:"balance_transaction"`
	Description        *string         `json:"description"`
	Metadata           json.RawMessage `json:"metadata"`
	Created            int64           `json:"created"`
}

// FromRecharge renders a recharge with its charge and, once credited, its
// bonus; a refunded recharge took its bonus back (refunded in full).
func FromRecharge(r *polypay.Recharge, c *Charge, bonus *polypay.BalanceBonus) *Recharge {
	w := &Recharge{ID: r.ID, Object: "recharge", App: r.AppID, Livemode: r.Livemode, User: r.User, FromUser: r.User,
		Amount: r.Amount, UserFee: r.UserFee, Succeeded: r.Succeeded, TimeSucceeded: nullInt(r.TimeSucceeded), Charge: c,
		Refunded:           r.Refunded,
		BalanceTransaction: nullStr(r.BalanceTransaction), Description: nullStr(r.Description), Metadata: object(r.Metadata),
		Created: r.Created}
	if bonus != nil {
		w.BalanceBonus = FromBonus(bonus)
		if r.Refunded {
			w.BalanceBonus.Refunded, w.BalanceBonus.AmountRefunded = true, bonus.Amount
		}
	}
	return w
}

// Withdrawal is Ping++'s withdrawal object.
type Withdrawal struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	Status             string          `json:"status"`
	User               string          `json:"user"`
	Amount             int64           `json:"amount"`
	UserFee            int64           `json:"user_fee"`
	Fee                int64           `json:"fee"`
	Channel            string          `json:"channel"`
	OrderNo            string          `json:"order_no"`
	SettleAccount      string          `json:"settle_account"`
	Transfer           *string         `json:"transfer"`
	BalanceTransaction string          `json:"balance_transaction"`
	FailureMsg         *string         `json:"failure_msg"`
	Description        *string         `json:"description"`
	Metadata           json.RawMessage `json:"metadata"`
	Created            int64           `json:"created"`
	TimeSucceeded      *int64          `json:"time_succeeded"`
	TimeCanceled       *int64          `json:"time_canceled"`
}

// FromWithdrawal renders a withdrawal; fee (the channel's) is 0: polypay
// passes no channel fee on to the user.
func FromWithdrawal(w *polypay.Withdrawal) *Withdrawal {
	return &Withdrawal{ID: w.ID, Object: "withdrawal", App: w.AppID, Livemode: w.Livemode, Status: string(w.Status),
		User: w.User, Amount: w.Amount, UserFee: w.UserFee, Channel: w.Channel, OrderNo: w.OrderNo,
		SettleAccount: w.SettleAccount, Transfer: nullStr(w.TransferID), BalanceTransaction: w.BalanceTransaction,
		FailureMsg: nullStr(w.FailureMsg), Description: nullStr(w.Description), Metadata: object(w.Metadata),
		Created: w.Created, TimeSucceeded: nullInt(w.TimeSucceeded), TimeCanceled: nullInt(w.TimeCanceled)}
}

// SettleAccount is Ping++'s settle_account object.
type SettleAccount struct {
	ID        string                  `json:"id"`
	Object    string                  `json:"object"`
	App       string                  `json:"app"`
	Livemode  bool                    `json:"livemode"`
	User      string                  `json:"user"`
	Channel   string                  `json:"channel"`
	Recipient polypay.SettleRecipient `json:"recipient"`
	Created   int64                   `json:"created"`
}

// FromSettleAccount renders a settle account (a bank card's number masked).
func FromSettleAccount(a *polypay.SettleAccount) *SettleAccount {
	return &SettleAccount{ID: a.ID, Object: "settle_account", App: a.AppID, Livemode: a.Livemode, User: a.User,
		Channel: a.Channel, Recipient: a.Recipient, Created: a.Created}
}

// BatchWithdrawal is Ping++'s batch_withdrawal object: the withdrawals a
// batch confirmed or canceled, as they are now, with counts and amounts
// per status.
type BatchWithdrawal struct {
	ID              string `json:"id"`
	Object          string `json:"object"`
	App             string `json:"app"`
	Livemode        bool   `json:"livemode"`
	Status          string `json:"status"`
	Created         int64  `json:"created"`
	TotalAmount     int64  `json:"total_amount"`
	TotalCount      int    `json:"total_count"`
	SucceededAmount int64  `json:"succeeded_amount"`
	SucceededCount  int    `json:"succeeded_count"`
	FailedAmount    int64  `json:"failed_amount"`
	FailedCount     int    `json:"failed_count"`
	PendingAmount   int64  `json:"pending_amount"`
	PendingCount    int    `json:"pending_count"`
	CanceledAmount  int64  `json:"canceled_amount"`
	CanceledCount   int    `json:"canceled_count"`
	Withdrawals     List   `json:"withdrawals"`
}

// FromBatchWithdrawal renders a batch withdrawal over its withdrawals.
func FromBatchWithdrawal(id, app string, live bool, status string, created int64, ws []*polypay.Withdrawal) *BatchWithdrawal {
	b := &BatchWithdrawal{ID: id, Object: "batch_withdrawal", App: app, Livemode: live, Status: status, Created: created}
	data := make([]any, 0, len(ws))
	for _, w := range ws {
		b.TotalAmount += w.Amount
		b.TotalCount++
		switch w.Status {
		case polypay.WithdrawalSucceeded:
			b.SucceededAmount += w.Amount
			b.SucceededCount++
		case polypay.WithdrawalFailed:
			b.FailedAmount += w.Amount
			b.FailedCount++
		case polypay.WithdrawalCanceled:
			b.CanceledAmount += w.Amount
			b.CanceledCount++
		default:
			b.PendingAmount += w.Amount
			b.PendingCount++
		}
		data = append(data, FromWithdrawal(w))
	}
	b.Withdrawals = NewList("/v1/apps/"+app+"/batch_withdrawals/"+id, false, data)
	return b
}

// BalanceSettlement is polypay's balance_settlement object (Ping++'s
// shape is unconfirmed): a user's balance spent on a payment on the
// balance channel, settled to the merchant at once.
type BalanceSettlement struct {
	ID             string  `json:"id"`
	Object         string  `json:"object"`
	App            string  `json:"app"`
	Livemode       bool    `json:"livemode"`
	User           string  `json:"user"`
	Amount         int64   `json:"amount"`
	AmountRefunded int64   `json:"amount_refunded"`
	Currency       string  `json:"currency"`
	Charge         string  `json:"charge"`
	Order          *string `json:"order"`
	Status         string  `json:"status"`
	TimeSucceeded  int64   `json:"time_succeeded"`
	Created        int64   `json:"created"`
}

// PaycodeDevice is polypay's payment_code_device: a user's device that
// derives offline payment codes. Secret is shown once, when it is made.
type PaycodeDevice struct {
	ID       string  `json:"id"`
	Object   string  `json:"object"`
	App      string  `json:"app"`
	Livemode bool    `json:"livemode"`
	User     string  `json:"user"`
	Index    int64   `json:"index"`
	Version  int     `json:"version"`
	Secret   *string `json:"secret"`
	// WalletURL enrolls the device in polypay's browser wallet (/wallet/):
	// the secret travels in the URL's fragment, which browsers never send
	// to a server. Only in the registration's answer, like Secret.
	WalletURL   *string `json:"wallet_url,omitempty"`
	MaxAmount   int64   `json:"max_amount"`
	DailyCount  int     `json:"daily_count"`
	Revoked     bool    `json:"revoked"`
	LockedUntil *int64  `json:"locked_until"`
	Created     int64   `json:"created"`
}

// PaymentCode is an online payment code polypay issued: single use, valid
// until expires.
type PaymentCode struct {
	Object   string `json:"object"`
	App      string `json:"app"`
	Livemode bool   `json:"livemode"`
	User     string `json:"user"`
	Code     string `json:"code"`
	Expires  int64  `json:"expires"`
	Created  int64  `json:"created"`
}
