package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// RoyaltyTemplate splits an order among the levels of its app's tree
// (migration 0045). Data is the JSON list of {level, value}.
type RoyaltyTemplate struct {
	ID             string
	AppID          string
	Livemode       bool
	Name           string
	Description    string
	RoyaltyMode    string // rate (value in 0.01 %) or fixed (value in minor units)
	RefundMode     string // no_refund, proportional, full_refund
	AllocationMode string // receipt_reserved, service_reserved
	Data           []byte
	Created        int64
	Deleted        int64
}

// RoyaltyPlan is how an order is shared once paid: its royalty_users
// (JSON list of {user, amount}) or its template, and the app that keeps
// what a template leaves unallocated under service_reserved.
type RoyaltyPlan struct {
	OrderID    string
	Users      []byte
	TemplateID string
	ServiceApp string
}

// Royalty is one party's share of a paid order (Amount > 0) or what a
// refund takes back of it (Amount < 0), in the payer app's book.
type Royalty struct {
	ID                 string
	AppID              string // the payer app: the order's
	Livemode           bool
	Currency           string
	Amount             int64
	Status             string // created, waiting (in a settlement), succeeded
	Method             string // "", balance, manual
	RecipientApp       string
	SourceUser         string // the recipient user, "" when the recipient is an app itself
	UserApp            string // the app SourceUser belongs to
	SourceApp          string // the platform (top) app
	OrderID            string
	SourceNo           string // the order's merchant_order_no
	ChargeID           string
	RefundID           string
	Level              int // the template level, -1 for royalty_users
	RoyaltyTransaction string
	RoyaltySettlement  string
	TimeSettled        int64
	Description        string
	Metadata           []byte
	Created            int64
}

// RoyaltySettlement pays a payer's unsettled royalties, one royalty
// transaction per recipient.
type RoyaltySettlement struct {
	ID              string
	AppID           string // the payer app
	Livemode        bool
	Method          string
	Currency        string
	Amount          int64
	AmountSucceeded int64
	AmountFailed    int64
	AmountCanceled  int64
	Count           int
	CountSucceeded  int
	CountFailed     int
	CountCanceled   int
	Status          string // created, pending, succeeded, failed, partially_succeeded, canceled
	TimeFinished    int64
	Metadata        []byte
	Created         int64
}

// RoyaltyTransaction is what one recipient receives in a settlement.
type RoyaltyTransaction struct {
	ID                 string
	SettlementID       string
	AppID              string
	Livemode           bool
	Currency           string
	Amount             int64
	Status             string // created, succeeded, failed, canceled
	RecipientApp       string
	SourceUser         string
	UserApp            string
	BalanceTransaction string
	FailureMsg         string
	Created            int64
	// Method is balance, or the transfer channel that pays the recipient's
	// settle account (migration 0047), with the transfer's order_no and id.
	Method          string
	TransferOrderNo string
	TransferID      string
}

const royaltyTemplateCols = `id, app_id, livemode, name, description, royalty_mode, refund_mode, allocation_mode, data, created, deleted`

func scanRoyaltyTemplate(s scanner) (*RoyaltyTemplate, error) {
	var t RoyaltyTemplate
	var live int
	var data string
	err := s.Scan(&t.ID, &t.AppID, &live, &t.Name, &t.Description, &t.RoyaltyMode, &t.RefundMode, &t.AllocationMode, &data, &t.Created, &t.Deleted)
	t.Livemode, t.Data = live == 1, []byte(data)
	return &t, err
}

// InsertRoyaltyTemplate stores a template.
func (tx *Tx) InsertRoyaltyTemplate(ctx context.Context, t *RoyaltyTemplate) error {
	_, err := tx.exec(ctx, `INSERT INTO royalty_templates (`+royaltyTemplateCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`, t.ID, t.AppID, b2i(t.Livemode),
		t.Name, t.Description, t.RoyaltyMode, t.RefundMode, t.AllocationMode, string(t.Data), t.Created, t.Deleted)
	return err
}

// UpdateRoyaltyTemplate writes a template's mutable fields (orders already
// paid keep the royalties it gave them).
func (tx *Tx) UpdateRoyaltyTemplate(ctx context.Context, t *RoyaltyTemplate) error {
	_, err := tx.exec(ctx, `UPDATE royalty_templates SET name=?, description=?, royalty_mode=?, refund_mode=?, allocation_mode=?, data=?, deleted=?
 WHERE id=?`, t.Name, t.Description, t.RoyaltyMode, t.RefundMode, t.AllocationMode, string(t.Data), t.Deleted, t.ID)
	return err
}

// GetRoyaltyTemplate returns an app's template in a mode, deleted ones
// too (a paid order's refund still follows its template); ENotFound
// naming id.
func (tx *Tx) GetRoyaltyTemplate(ctx context.Context, appID string, live bool, id string) (*RoyaltyTemplate, error) {
	t, err := scanRoyaltyTemplate(tx.queryRow(ctx, `SELECT `+royaltyTemplateCols+` FROM royalty_templates WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("royalty_template", id)
	}
	return t, err
}

// ListRoyaltyTemplates pages through an app's templates not deleted.
func (tx *Tx) ListRoyaltyTemplates(ctx context.Context, appID string, live bool, p Page) ([]*RoyaltyTemplate, bool, error) {
	return listPage(ctx, tx, royaltyTemplateCols, "royalty_templates", []string{"app_id = ?", "livemode = ?", "deleted = 0"},
		[]any{appID, b2i(live)}, p, scanRoyaltyTemplate)
}

// InsertRoyaltyPlan stores an order's royalty plan.
func (tx *Tx) InsertRoyaltyPlan(ctx context.Context, p *RoyaltyPlan) error {
	_, err := tx.exec(ctx, `INSERT INTO order_royalty_plans (order_id, users, template_id, service_app) VALUES (?,?,?,?)`,
		p.OrderID, jsonArray(p.Users), p.TemplateID, p.ServiceApp)
	return err
}

// RoyaltyPlanOf returns an order's royalty plan, nil when it has none.
func (tx *Tx) RoyaltyPlanOf(ctx context.Context, orderID string) (*RoyaltyPlan, error) {
	p := &RoyaltyPlan{OrderID: orderID}
	var users string
	err := tx.queryRow(ctx, `SELECT users, template_id, service_app FROM order_royalty_plans WHERE order_id=?`, orderID).
		Scan(&users, &p.TemplateID, &p.ServiceApp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	p.Users = []byte(users)
	return p, err
}

func jsonArray(b []byte) string {
	if len(b) == 0 {
		return "[]"
	}
	return string(b)
}

const royaltyCols = `id, app_id, livemode, currency, amount, status, method, recipient_app, source_user, user_app, source_app, order_id,
 source_no, charge_id, refund_id, level, royalty_transaction, royalty_settlement, time_settled, description, metadata, created`

func scanRoyalty(s scanner) (*Royalty, error) {
	var r Royalty
	var live int
	var meta string
	err := s.Scan(&r.ID, &r.AppID, &live, &r.Currency, &r.Amount, &r.Status, &r.Method, &r.RecipientApp, &r.SourceUser, &r.UserApp,
		&r.SourceApp, &r.OrderID, &r.SourceNo, &r.ChargeID, &r.RefundID, &r.Level, &r.RoyaltyTransaction, &r.RoyaltySettlement,
		&r.TimeSettled, &r.Description, &meta, &r.Created)
	r.Livemode, r.Metadata = live == 1, []byte(meta)
	return &r, err
}

// InsertRoyalty stores a royalty.
func (tx *Tx) InsertRoyalty(ctx context.Context, r *Royalty) error {
	_, err := tx.exec(ctx, `INSERT INTO royalties (`+royaltyCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.AppID, b2i(r.Livemode), r.Currency, r.Amount, r.Status, r.Method, r.RecipientApp, r.SourceUser, r.UserApp, r.SourceApp,
		r.OrderID, r.SourceNo, r.ChargeID, r.RefundID, r.Level, r.RoyaltyTransaction, r.RoyaltySettlement, r.TimeSettled,
		r.Description, jsonText(r.Metadata), r.Created)
	return err
}

// UpdateRoyalty writes a royalty's status, settlement and notes.
func (tx *Tx) UpdateRoyalty(ctx context.Context, r *Royalty) error {
	_, err := tx.exec(ctx, `UPDATE royalties SET status=?, method=?, royalty_transaction=?, royalty_settlement=?, time_settled=?,
 description=?, metadata=? WHERE id=?`, r.Status, r.Method, r.RoyaltyTransaction, r.RoyaltySettlement, r.TimeSettled,
		r.Description, jsonText(r.Metadata), r.ID)
	return err
}

// royaltyVisible is who sees a royalty: its payer app or its recipient.
const royaltyVisible = `livemode = ? AND (app_id = ? OR recipient_app = ?)`

// GetRoyalty returns a royalty its payer or recipient app may see in a
// mode; ENotFound naming id otherwise.
func (tx *Tx) GetRoyalty(ctx context.Context, appID string, live bool, id string) (*Royalty, error) {
	r, err := scanRoyalty(tx.queryRow(ctx, `SELECT `+royaltyCols+` FROM royalties WHERE id=? AND `+royaltyVisible, id, b2i(live), appID, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("royalty", id)
	}
	return r, err
}

// RoyaltyFilter narrows a royalty list or a settlement's selection; empty
// fields do not filter.
type RoyaltyFilter struct {
	Payer        string // only royalties this app pays (else: paid or received by the caller)
	RecipientApp string
	SourceUser   string
	OrderID      string
	Status       string
	Settlement   string
	CreatedGTE   int64
	CreatedLT    int64 // 0: no upper bound
}

func (f RoyaltyFilter) where(appID string, live bool) ([]string, []any) {
	where, args := []string{royaltyVisible}, []any{b2i(live), appID, appID}
	for _, c := range []struct{ col, v string }{{"app_id", f.Payer}, {"recipient_app", f.RecipientApp}, {"source_user", f.SourceUser},
		{"order_id", f.OrderID}, {"status", f.Status}, {"royalty_settlement", f.Settlement}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.CreatedGTE > 0 {
		where, args = append(where, "created >= ?"), append(args, f.CreatedGTE)
	}
	if f.CreatedLT > 0 {
		where, args = append(where, "created < ?"), append(args, f.CreatedLT)
	}
	return where, args
}

// ListRoyalties pages through the royalties an app pays or receives.
func (tx *Tx) ListRoyalties(ctx context.Context, appID string, live bool, f RoyaltyFilter, p Page) ([]*Royalty, bool, error) {
	where, args := f.where(appID, live)
	return listPage(ctx, tx, royaltyCols, "royalties", where, args, p, scanRoyalty)
}

// Royalties returns, oldest first, every royalty matching f that appID
// pays or receives (a settlement's selection, an order's shares).
func (tx *Tx) Royalties(ctx context.Context, appID string, live bool, f RoyaltyFilter) ([]*Royalty, error) {
	where, args := f.where(appID, live)
	return queryAll(ctx, tx, `SELECT `+royaltyCols+` FROM royalties WHERE `+strings.Join(where, " AND ")+` ORDER BY created, id`,
		scanRoyalty, args...)
}

const royaltySettlementCols = `id, app_id, livemode, method, currency, amount, amount_succeeded, amount_failed, amount_canceled, count,
 count_succeeded, count_failed, count_canceled, status, time_finished, metadata, created`

func scanRoyaltySettlement(s scanner) (*RoyaltySettlement, error) {
	var x RoyaltySettlement
	var live int
	var meta string
	err := s.Scan(&x.ID, &x.AppID, &live, &x.Method, &x.Currency, &x.Amount, &x.AmountSucceeded, &x.AmountFailed, &x.AmountCanceled,
		&x.Count, &x.CountSucceeded, &x.CountFailed, &x.CountCanceled, &x.Status, &x.TimeFinished, &meta, &x.Created)
	x.Livemode, x.Metadata = live == 1, []byte(meta)
	return &x, err
}

// InsertRoyaltySettlement stores a settlement.
func (tx *Tx) InsertRoyaltySettlement(ctx context.Context, x *RoyaltySettlement) error {
	_, err := tx.exec(ctx, `INSERT INTO royalty_settlements (`+royaltySettlementCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.AppID, b2i(x.Livemode), x.Method, x.Currency, x.Amount, x.AmountSucceeded, x.AmountFailed, x.AmountCanceled, x.Count,
		x.CountSucceeded, x.CountFailed, x.CountCanceled, x.Status, x.TimeFinished, jsonText(x.Metadata), x.Created)
	return err
}

// UpdateRoyaltySettlement writes a settlement's outcome if its status is
// still from; false when another request changed it first.
func (tx *Tx) UpdateRoyaltySettlement(ctx context.Context, x *RoyaltySettlement, from string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE royalty_settlements SET amount_succeeded=?, amount_failed=?, amount_canceled=?, count_succeeded=?,
 count_failed=?, count_canceled=?, status=?, time_finished=? WHERE id=? AND status=?`, x.AmountSucceeded, x.AmountFailed, x.AmountCanceled,
		x.CountSucceeded, x.CountFailed, x.CountCanceled, x.Status, x.TimeFinished, x.ID, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimRoyalty puts an unsettled royalty into a settlement; false when
// another settlement took it first.
func (tx *Tx) ClaimRoyalty(ctx context.Context, id, settlement, txn string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE royalties SET status=?, royalty_settlement=?, royalty_transaction=? WHERE id=? AND status=?`,
		RoyaltyWaiting, settlement, txn, id, RoyaltyCreated)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetRoyaltySettlement returns an app's settlement in a mode; ENotFound
// naming id.
func (tx *Tx) GetRoyaltySettlement(ctx context.Context, appID string, live bool, id string) (*RoyaltySettlement, error) {
	x, err := scanRoyaltySettlement(tx.queryRow(ctx, `SELECT `+royaltySettlementCols+` FROM royalty_settlements WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("royalty_settlement", id)
	}
	return x, err
}

// ListRoyaltySettlements pages through an app's settlements.
func (tx *Tx) ListRoyaltySettlements(ctx context.Context, appID string, live bool, p Page) ([]*RoyaltySettlement, bool, error) {
	return listPage(ctx, tx, royaltySettlementCols, "royalty_settlements", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)},
		p, scanRoyaltySettlement)
}

const royaltyTxnCols = `id, settlement_id, app_id, livemode, currency, amount, status, recipient_app, source_user, user_app,
 balance_transaction, failure_msg, created, method, transfer_order_no, transfer_id`

func scanRoyaltyTxn(s scanner) (*RoyaltyTransaction, error) {
	var t RoyaltyTransaction
	var live int
	err := s.Scan(&t.ID, &t.SettlementID, &t.AppID, &live, &t.Currency, &t.Amount, &t.Status, &t.RecipientApp, &t.SourceUser, &t.UserApp,
		&t.BalanceTransaction, &t.FailureMsg, &t.Created, &t.Method, &t.TransferOrderNo, &t.TransferID)
	t.Livemode = live == 1
	return &t, err
}

// InsertRoyaltyTxn stores a royalty transaction.
func (tx *Tx) InsertRoyaltyTxn(ctx context.Context, t *RoyaltyTransaction) error {
	if t.Method == "" {
		t.Method = RoyaltyMethodBal
	}
	_, err := tx.exec(ctx, `INSERT INTO royalty_transactions (`+royaltyTxnCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, t.ID, t.SettlementID,
		t.AppID, b2i(t.Livemode), t.Currency, t.Amount, t.Status, t.RecipientApp, t.SourceUser, t.UserApp, t.BalanceTransaction,
		t.FailureMsg, t.Created, t.Method, t.TransferOrderNo, t.TransferID)
	return err
}

// UpdateRoyaltyTxn writes a royalty transaction's outcome.
func (tx *Tx) UpdateRoyaltyTxn(ctx context.Context, t *RoyaltyTransaction) error {
	_, err := tx.exec(ctx, `UPDATE royalty_transactions SET status=?, balance_transaction=?, failure_msg=?, transfer_order_no=?, transfer_id=?
 WHERE id=?`, t.Status, t.BalanceTransaction, t.FailureMsg, t.TransferOrderNo, t.TransferID, t.ID)
	return err
}

// MoveRoyaltyTxn writes a royalty transaction's outcome if its status is
// still from; false when another transaction moved it first.
func (tx *Tx) MoveRoyaltyTxn(ctx context.Context, t *RoyaltyTransaction, from string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE royalty_transactions SET status=?, balance_transaction=?, failure_msg=?, transfer_order_no=?, transfer_id=?
 WHERE id=? AND status=?`, t.Status, t.BalanceTransaction, t.FailureMsg, t.TransferOrderNo, t.TransferID, t.ID, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RoyaltyTxnByTransfer returns the royalty transaction a transfer pays,
// nil when it is none's.
func (tx *Tx) RoyaltyTxnByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*RoyaltyTransaction, error) {
	t, err := scanRoyaltyTxn(tx.queryRow(ctx, `SELECT `+royaltyTxnCols+` FROM royalty_transactions
 WHERE app_id=? AND livemode=? AND method=? AND transfer_order_no=?`, appID, b2i(live), channel, orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, err
}

// UnsentRoyaltyTxns lists royalty transactions waiting for a transfer a
// crash left unmade, for the poller.
func (tx *Tx) UnsentRoyaltyTxns(ctx context.Context, limit int) ([]*RoyaltyTransaction, error) {
	return queryAll(ctx, tx, `SELECT `+royaltyTxnCols+` FROM royalty_transactions WHERE status='pending' AND transfer_id=''
 ORDER BY created LIMIT ?`, scanRoyaltyTxn, limit)
}

// royaltyTxnVisible: a royalty transaction is its payer's and its
// recipient's.
const royaltyTxnVisible = `livemode = ? AND (app_id = ? OR recipient_app = ?)`

// GetRoyaltyTxn returns a royalty transaction its payer or recipient may
// see; ENotFound naming id otherwise.
func (tx *Tx) GetRoyaltyTxn(ctx context.Context, appID string, live bool, id string) (*RoyaltyTransaction, error) {
	t, err := scanRoyaltyTxn(tx.queryRow(ctx, `SELECT `+royaltyTxnCols+` FROM royalty_transactions WHERE id=? AND `+royaltyTxnVisible,
		id, b2i(live), appID, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("royalty_transaction", id)
	}
	return t, err
}

// ListRoyaltyTxns pages through the royalty transactions an app pays or
// receives, of one settlement when settlement is not empty.
func (tx *Tx) ListRoyaltyTxns(ctx context.Context, appID string, live bool, settlement string, p Page) ([]*RoyaltyTransaction, bool, error) {
	where, args := []string{royaltyTxnVisible}, []any{b2i(live), appID, appID}
	if settlement != "" {
		where, args = append(where, "settlement_id = ?"), append(args, settlement)
	}
	return listPage(ctx, tx, royaltyTxnCols, "royalty_transactions", where, args, p, scanRoyaltyTxn)
}

// SettlementTxns returns a settlement's royalty transactions, by id.
func (tx *Tx) SettlementTxns(ctx context.Context, settlementID string) ([]*RoyaltyTransaction, error) {
	return queryAll(ctx, tx, `SELECT `+royaltyTxnCols+` FROM royalty_transactions WHERE settlement_id=? ORDER BY id`, scanRoyaltyTxn,
		settlementID)
}

// LedgerRoyalties streams royalties with their entries of refTypes.
func (tx *Tx) LedgerRoyalties(ctx context.Context, refTypes []string, fn func(ledger.RoyaltyRecord) error) error {
	q := `SELECT r.id, r.app_id, r.livemode, r.currency, r.amount, r.method, ` + entryCols + `
 FROM royalties r` + entryJoin("r.id", refTypes) + ` ORDER BY r.id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.RoyaltyRecord, error) {
		var r ledger.RoyaltyRecord
		var live int
		var method string
		err := rows.Scan(append([]any{&r.Royalty.ID, &r.Royalty.AppID, &live, &r.Royalty.Currency, &r.Royalty.Amount, &method}, e.dest()...)...)
		r.Royalty.Livemode, r.Manual = live == 1, method == RoyaltyMethodManual
		return r.Royalty.ID, r, err
	}, func(r ledger.RoyaltyRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// LedgerRoyaltyTxns streams royalty transactions with their entries of
// refTypes.
func (tx *Tx) LedgerRoyaltyTxns(ctx context.Context, refTypes []string, fn func(ledger.RoyaltyTxnRecord) error) error {
	q := `SELECT t.id, t.app_id, t.livemode, t.currency, t.amount, t.status, t.recipient_app, t.source_user, t.user_app, t.method, ` + entryCols + `
 FROM royalty_transactions t` + entryJoin("t.id", refTypes) + ` ORDER BY t.id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.RoyaltyTxnRecord, error) {
		var r ledger.RoyaltyTxnRecord
		var t RoyaltyTransaction
		var live int
		err := rows.Scan(append([]any{&t.ID, &t.AppID, &live, &t.Currency, &t.Amount, &t.Status, &t.RecipientApp, &t.SourceUser, &t.UserApp,
			&t.Method}, e.dest()...)...)
		t.Livemode = live == 1
		r.Payment, r.Paid = t.Payment(), t.Status == RoyaltySucceeded
		return t.ID, r, err
	}, func(r ledger.RoyaltyTxnRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// Payment is what a royalty transaction moves in the books when paid.
func (t *RoyaltyTransaction) Payment() ledger.RoyaltyPayment {
	p := ledger.RoyaltyPayment{ID: t.ID, PayerApp: t.AppID, Livemode: t.Livemode, Currency: t.Currency, Amount: t.Amount,
		RecipientBook: t.RecipientApp, User: t.SourceUser, ByTransfer: t.Method != "" && t.Method != RoyaltyMethodBal}
	if t.SourceUser != "" {
		p.RecipientBook = t.UserApp
	}
	return p
}

// Share is a royalty as the books see it.
func (r *Royalty) Share() ledger.Royalty {
	return ledger.Royalty{ID: r.ID, AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, Amount: r.Amount}
}

// Royalty statuses and methods.
const (
	RoyaltyCreated      = "created"
	RoyaltyWaiting      = "waiting"
	RoyaltySucceeded    = "succeeded"
	RoyaltyMethodManual = "manual"
	RoyaltyMethodBal    = "balance"
)

// queryAll runs q and scans every row.
func queryAll[T any](ctx context.Context, tx *Tx, q string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// InsertRefundRoyaltyPlan keeps what a refund takes back of each user's
// royalties (JSON list of {user, amount_refunded}).
func (tx *Tx) InsertRefundRoyaltyPlan(ctx context.Context, refundID string, users []byte) error {
	_, err := tx.exec(ctx, `INSERT INTO refund_royalty_plans (refund_id, users) VALUES (?,?)`, refundID, string(users))
	return err
}

// RefundRoyaltyPlan returns a refund's take-back plan, nil when it has none.
func (tx *Tx) RefundRoyaltyPlan(ctx context.Context, refundID string) ([]byte, error) {
	var users string
	err := tx.queryRow(ctx, `SELECT users FROM refund_royalty_plans WHERE refund_id=?`, refundID).Scan(&users)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return []byte(users), err
}
