package polypay

import "encoding/json"

// The account system (Ping++ §2.11, 账户系统): an app's users with stored
// value, and the movements of that value. A user's balance is money the
// merchant owes the user, in the app's balance currency (BalanceCurrency),
// kept in minor units; it never goes below zero.

// BalanceCurrency is the currency of every user balance: Ping++'s account
// system holds CNY only.
const BalanceCurrency = "cny"

// User is one of an app's users, under an id the merchant chose.
type User struct {
	ID                  string
	AppID               string
	Livemode            bool
	Type                string // "customer" (default) or "merchant"
	Name                string
	Email               string
	Mobile              string
	Gender              string // "MALE", "FEMALE" or ""
	Address             string
	Avatar              string
	Disabled            bool
	Identified          bool
	AvailableBalance    int64
	WithdrawableBalance int64
	Metadata            json.RawMessage
	Created             int64
}

// BalanceTxnType says what moved a balance (Ping++'s balance_transaction
// types).
type BalanceTxnType string

const (
	BalanceTxnBonus       BalanceTxnType = "balance_bonus"     // the merchant gave value
	BalanceTxnTransferOut BalanceTxnType = "transfer"          // sent to another user
	BalanceTxnReceipts    BalanceTxnType = "receipts"          // received from another user
	BalanceTxnRecharge    BalanceTxnType = "recharge"          // paid in through a charge
	BalanceTxnPayment     BalanceTxnType = "payment"           // spent on an order
	BalanceTxnRefund      BalanceTxnType = "payment_refund"    // an order's balance part refunded
	BalanceTxnWithdrawal  BalanceTxnType = "withdrawal"        // paid out
	BalanceTxnWdRevoke    BalanceTxnType = "withdrawal_revoke" // a withdrawal canceled
	BalanceTxnRoyalty     BalanceTxnType = "royalty"           // a royalty settled to the user
	// A recharge refunded (its value and bonus taken back), and given
	// back when that refund failed (polypay's names).
	BalanceTxnRechargeRefund BalanceTxnType = "recharge_refund"
	BalanceTxnRechargeRevoke BalanceTxnType = "recharge_refund_revoke"
)

// BalanceTransaction is one movement of one user's balance: Amount is
// signed (credit > 0), AvailableBalance the balance right after it.
type BalanceTransaction struct {
	ID               string
	AppID            string
	Livemode         bool
	User             string
	Type             BalanceTxnType
	Amount           int64
	AvailableBalance int64
	Source           string // the bonus, transfer, recharge... that moved it
	Description      string
	Created          int64
}

// BalanceBonus is value the merchant gives a user (赠送).
type BalanceBonus struct {
	ID                 string
	AppID              string
	Livemode           bool
	User               string
	Amount             int64
	OrderNo            string
	Description        string
	Metadata           json.RawMessage
	BalanceTransaction string
	Created            int64
}

// BalanceTransfer moves value from one user to another; the recipient
// gets Amount - UserFee, the merchant keeps UserFee.
type BalanceTransfer struct {
	ID                          string
	AppID                       string
	Livemode                    bool
	User                        string
	Recipient                   string
	Amount                      int64
	UserFee                     int64
	OrderNo                     string
	Description                 string
	Metadata                    json.RawMessage
	UserBalanceTransaction      string
	RecipientBalanceTransaction string
	Created                     int64
}

// Recharge is a user's balance paid in through a charge (充值): the user
// is credited Amount - UserFee, plus BonusAmount as a balance bonus, when
// the charge is paid, once.
type Recharge struct {
	ID                 string
	AppID              string
	Livemode           bool
	User               string
	ChargeOrderNo      string // the charge's order_no: the recharge's key
	ChargeID           string // empty until the charge exists
	ParamsHash         string // of the creation parameters (not rendered)
	Amount             int64
	UserFee            int64
	BonusAmount        int64
	Description        string
	Metadata           json.RawMessage
	Succeeded          bool
	TimeSucceeded      int64
	BalanceTransaction string
	BalanceBonus       string
	Created            int64
	// Refunded: the recharge was refunded (its balance taken back, its
	// charge refunded by RefundID); cleared if that refund fails.
	Refunded bool
	RefundID string
}

// SettleAccount is where a user's withdrawals on one channel are paid.
type SettleAccount struct {
	ID        string
	AppID     string
	Livemode  bool
	User      string
	Channel   string
	Recipient SettleRecipient
	Created   int64
}

// SettleRecipient is the payee of a settle account (Ping++'s recipient).
type SettleRecipient struct {
	Account      string `json:"account"`
	Name         string `json:"name"`
	Type         string `json:"type,omitempty"` // b2c (default) or b2b
	OpenBank     string `json:"open_bank,omitempty"`
	OpenBankCode string `json:"open_bank_code,omitempty"`
}

// WithdrawalStatus is a withdrawal's state: created (the balance is held,
// awaiting the merchant's confirmation), pending (its transfer is on its
// way), succeeded, failed (the transfer failed: the balance is given
// back) or canceled (before confirmation: given back).
type WithdrawalStatus string

const (
	WithdrawalCreated   WithdrawalStatus = "created"
	WithdrawalPending   WithdrawalStatus = "pending"
	WithdrawalSucceeded WithdrawalStatus = "succeeded"
	WithdrawalFailed    WithdrawalStatus = "failed"
	WithdrawalCanceled  WithdrawalStatus = "canceled"
)

// Withdrawal is a user's balance paid out to their settle account
// through a transfer of Amount - UserFee.
type Withdrawal struct {
	ID                 string
	AppID              string
	Livemode           bool
	User               string
	Amount             int64
	UserFee            int64
	Channel            string
	OrderNo            string
	SettleAccount      string
	TransferOrderNo    string
	TransferID         string
	Status             WithdrawalStatus
	Description        string
	Metadata           json.RawMessage
	FailureMsg         string
	BalanceTransaction string
	Created            int64
	TimeConfirmed      int64
	TimeSucceeded      int64
	TimeCanceled       int64
}
