package wire

import (
	"encoding/json"

	"github.com/polypay/polypay/store"
)

// RoyaltyRuleLevel is one level of a template's rule.
type RoyaltyRuleLevel struct {
	Level int   `json:"level"`
	Value int64 `json:"value"`
}

// RoyaltyRule is Ping++'s royalty template rule.
type RoyaltyRule struct {
	RoyaltyMode    string             `json:"royalty_mode"`
	RefundMode     string             `json:"refund_mode"`
	AllocationMode string             `json:"allocation_mode"`
	Data           []RoyaltyRuleLevel `json:"data"`
}

// RoyaltyTemplate is Ping++'s royalty_template.
type RoyaltyTemplate struct {
	ID          string      `json:"id"`
	Object      string      `json:"object"`
	Livemode    bool        `json:"livemode"`
	App         string      `json:"app"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Created     int64       `json:"created"`
	Rule        RoyaltyRule `json:"rule"`
}

// FromRoyaltyTemplate renders a template.
func FromRoyaltyTemplate(t *store.RoyaltyTemplate) *RoyaltyTemplate {
	w := &RoyaltyTemplate{ID: t.ID, Object: "royalty_template", Livemode: t.Livemode, App: t.AppID, Name: t.Name,
		Description: t.Description, Created: t.Created, Rule: RoyaltyRule{RoyaltyMode: t.RoyaltyMode, RefundMode: t.RefundMode,
			AllocationMode: t.AllocationMode, Data: []RoyaltyRuleLevel{}}}
	_ = json.Unmarshal(t.Data, &w.Rule.Data)
	return w
}

// Royalty is Ping++'s royalty: one recipient's share of a paid order
// (amount > 0) or what a refund took back of it (amount < 0). Currency,
// order, charge, refund and level are polypay's.
type Royalty struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	PayerApp           string          `json:"payer_app"`
	Amount             int64           `json:"amount"`
	Currency           string          `json:"currency"`
	Created            int64           `json:"created"`
	Livemode           bool            `json:"livemode"`
	Status             string          `json:"status"`
	Method             *string         `json:"method"`
	RecipientApp       string          `json:"recipient_app"`
	RoyaltyTransaction *string         `json:"royalty_transaction"`
	RoyaltySettlement  *string         `json:"royalty_settlement"`
	TimeSettled        *int64          `json:"time_settled"`
	SettleAccount      *string         `json:"settle_account"`
	SourceApp          string          `json:"source_app"`
	SourceURL          string          `json:"source_url"`
	SourceNo           string          `json:"source_no"`
	SourceUser         *string         `json:"source_user"`
	Order              string          `json:"order"`
	Charge             string          `json:"charge"`
	Refund             *string         `json:"refund"`
	Level              *int            `json:"level"`
	Description        string          `json:"description"`
	Metadata           json.RawMessage `json:"metadata"`
}

// FromRoyalty renders a royalty.
func FromRoyalty(r *store.Royalty) *Royalty {
	w := &Royalty{ID: r.ID, Object: "royalty", PayerApp: r.AppID, Amount: r.Amount, Currency: r.Currency, Created: r.Created,
		Livemode: r.Livemode, Status: r.Status, Method: nullStr(r.Method), RecipientApp: r.RecipientApp,
		RoyaltyTransaction: nullStr(r.RoyaltyTransaction), RoyaltySettlement: nullStr(r.RoyaltySettlement),
		TimeSettled: nullInt(r.TimeSettled), SourceApp: r.SourceApp, SourceURL: "/v1/orders/" + r.OrderID, SourceNo: r.SourceNo,
		SourceUser: nullStr(r.SourceUser), Order: r.OrderID, Charge: r.ChargeID, Refund: nullStr(r.RefundID),
		Description: r.Description, Metadata: object(r.Metadata)}
	if r.Level >= 0 {
		lv := r.Level
		w.Level = &lv
	}
	return w
}

// RoyaltySettlement is Ping++'s royalty_settlement with its royalty
// transactions (currency is polypay's).
type RoyaltySettlement struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	PayerApp            string          `json:"payer_app"`
	Created             int64           `json:"created"`
	Livemode            bool            `json:"livemode"`
	Method              string          `json:"method"`
	Currency            string          `json:"currency"`
	Amount              int64           `json:"amount"`
	AmountSucceeded     int64           `json:"amount_succeeded"`
	AmountFailed        int64           `json:"amount_failed"`
	AmountCanceled      int64           `json:"amount_canceled"`
	Count               int             `json:"count"`
	CountSucceeded      int             `json:"count_succeeded"`
	CountFailed         int             `json:"count_failed"`
	CountCanceled       int             `json:"count_canceled"`
	TimeFinished        *int64          `json:"time_finished"`
	Fee                 int64           `json:"fee"`
	OperationURL        *string         `json:"operation_url"`
	Status              string          `json:"status"`
	RoyaltyTransactions List            `json:"royalty_transactions"`
	Metadata            json.RawMessage `json:"metadata"`
}

// FromRoyaltySettlement renders a settlement with its transactions (a
// preview's have no settlement stored behind them).
func FromRoyaltySettlement(x *store.RoyaltySettlement, txns []*store.RoyaltyTransaction) *RoyaltySettlement {
	data := make([]any, len(txns))
	for i, t := range txns {
		data[i] = FromRoyaltyTxn(t)
	}
	return &RoyaltySettlement{ID: x.ID, Object: "royalty_settlement", PayerApp: x.AppID, Created: x.Created, Livemode: x.Livemode,
		Method: x.Method, Currency: x.Currency, Amount: x.Amount, AmountSucceeded: x.AmountSucceeded, AmountFailed: x.AmountFailed,
		AmountCanceled: x.AmountCanceled, Count: x.Count, CountSucceeded: x.CountSucceeded, CountFailed: x.CountFailed,
		CountCanceled: x.CountCanceled, TimeFinished: nullInt(x.TimeFinished), Status: x.Status,
		RoyaltyTransactions: NewList("/v1/royalty_transactions", false, data), Metadata: object(x.Metadata)}
}

// RoyaltyTransaction is Ping++'s royalty_transaction: what one recipient
// receives in a settlement (payer_app, currency, livemode and
// balance_transaction are polypay's).
type RoyaltyTransaction struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	PayerApp           string  `json:"payer_app"`
	Livemode           bool    `json:"livemode"`
	Amount             int64   `json:"amount"`
	Currency           string  `json:"currency"`
	Status             string  `json:"status"`
	SettleAccount      *string `json:"settle_account"`
	RoyaltySettlement  string  `json:"royalty_settlement"`
	SourceUser         *string `json:"source_user"`
	RecipientApp       string  `json:"recipient_app"`
	BalanceTransaction *string `json:"balance_transaction"`
	FailureMsg         *string `json:"failure_msg"`
	Transfer           *string `json:"transfer"`
	Created            int64   `json:"created"`
}

// FromRoyaltyTxn renders a royalty transaction.
func FromRoyaltyTxn(t *store.RoyaltyTransaction) *RoyaltyTransaction {
	return &RoyaltyTransaction{ID: t.ID, Object: "royalty_transaction", PayerApp: t.AppID, Livemode: t.Livemode, Amount: t.Amount,
		Currency: t.Currency, Status: t.Status, RoyaltySettlement: t.SettlementID, SourceUser: nullStr(t.SourceUser),
		RecipientApp: t.RecipientApp, BalanceTransaction: nullStr(t.BalanceTransaction), FailureMsg: nullStr(t.FailureMsg),
		Transfer: nullStr(t.TransferID), Created: t.Created}
}
