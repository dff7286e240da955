package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/polypay/polypay"
)

// SandboxCleared is what ResetTestMode removed: rows per table, in the
// order the tables were cleared.
type SandboxCleared struct {
	Tables []TableCount
}

// TableCount is the number of rows removed from one table.
type TableCount struct {
	Table string
	Rows  int64
}

// Total is the number of rows removed from every table.
func (c *SandboxCleared) Total() int64 {
	var n int64
	for _, t := range c.Tables {
		n += t.Rows
	}
	return n
}

// testScope selects the test-mode rows of one app (or of every app when
// appID is ""); alias is the table's alias in the statement.
func testScope(alias, appID string) (string, []any) {
	if appID == "" {
		return alias + ".livemode=0", nil
	}
	return alias + ".livemode=0 AND " + alias + ".app_id=?", []any{appID}
}

// sandboxDelete is one statement of the reset. Tables with foreign keys
// into others come before the tables they point at, so the reset runs with
// foreign keys enforced on both backends.
type sandboxDelete struct {
	table string
	// where is the condition on the table (aliased t); %[1]s is replaced by
	// the test-mode scope of the rows it follows (aliased s).
	where string
}

// sandboxDeletes is, in deletion order, every table ResetTestMode clears:
// the test-mode traffic and what was derived from it.
var sandboxDeletes = []sandboxDelete{
	{"delivery_attempts", `t.delivery_id IN (SELECT d.id FROM deliveries d JOIN events s ON s.id=d.event_id WHERE %[1]s)`},
	{"deliveries", `t.event_id IN (SELECT s.id FROM events s WHERE %[1]s)`},
	{"events", `%[2]s`},
	// order_charges has no mode of its own: it follows its order or charge.
	{"order_charges", `t.order_id IN (SELECT s.id FROM orders s WHERE %[1]s) OR t.charge_id IN (SELECT s.id FROM charges s WHERE %[1]s)`},
	{"order_refunds", `%[2]s`},
	// An order's royalty plan follows its order; royalties and their
	// settlements are the test traffic's.
	{"order_royalty_plans", `t.order_id IN (SELECT s.id FROM orders s WHERE %[1]s)`},
	{"refund_royalty_plans", `t.refund_id IN (SELECT s.id FROM refunds s WHERE %[1]s)`},
	{"royalty_transactions", `%[2]s`},
	{"royalty_settlements", `%[2]s`},
	{"royalties", `%[2]s`},
	{"platform_fees", `%[2]s`},
	{"merchant_settlements", `%[2]s`},
	{"orders", `%[2]s`},
	{"recon_discrepancies", `%[2]s`},
	{"recon_runs", `%[2]s`},
	{"recon_fees", `%[2]s`},
	{"ledger_entries", `%[2]s`},
	{"refunds", `%[2]s`},
	{"charges", `%[2]s`},
	{"notifications", `%[2]s`},
	{"identifications", `%[2]s`},
	{"idempotency_keys", `%[2]s`},
	{"channel_sla", `%[2]s`},
	{"vault_tokens", `%[2]s`},
	{"vault_cards", `%[2]s`},
	{"vault_customers", `%[2]s`},
	// Risk checks: the attempts they counted, their decisions and the
	// blocks those decisions placed all come from test traffic.
	{"risk_attempts", `%[2]s`},
	{"risk_decisions", `%[2]s`},
	{"risk_blocks", `%[2]s`},
	// Payouts made in test mode (the sandbox simulators paid them).
	{"transfers", `%[2]s`},
	{"batch_transfers", `%[2]s`},
	{"red_envelopes", `%[2]s`},
	{"batch_refunds", `%[2]s`},
	// The account system's test-mode users and the value they hold.
	{"balance_transactions", `%[2]s`},
	{"balance_bonuses", `%[2]s`},
	{"balance_transfers", `%[2]s`},
	{"recharges", `%[2]s`},
	{"withdrawals", `%[2]s`},
	{"batch_withdrawals", `%[2]s`},
	{"settle_accounts", `%[2]s`},
	{"users", `%[2]s`},
	{"coupons", `%[2]s`},
	{"coupon_templates", `%[2]s`},
	// Payment-code devices of test-mode users, their codes and lockouts.
	{"paycode_uses", `t.device_id IN (SELECT s.id FROM paycode_devices s WHERE %[1]s)`},
	{"paycode_devices", `%[2]s`},
	{"paycode_online", `%[2]s`},
	{"paycode_terminals", `%[2]s`},
	{"qr_codes", `%[2]s`},
	{"agreements", `%[2]s`},
	{"invoices", `%[2]s`},
	{"subscriptions", `%[2]s`},
	{"plans", `%[2]s`},
}

// SandboxResetTables are the tables ResetTestMode clears of test-mode rows.
func SandboxResetTables() []string {
	out := make([]string, len(sandboxDeletes))
	for i, d := range sandboxDeletes {
		out[i] = d.table
	}
	return out
}

// SandboxKeptTables are the tables with a livemode column that
// ResetTestMode leaves alone: an app's configuration in test mode (keys,
// sandbox credentials, webhook endpoints and keys, routes, cashier and card
// settings, discounts), which a developer wants to keep using after the
// reset. Risk rules, allow/deny lists, payout approval settings and
// sub-apps' channels are the merchant's settings too.
var SandboxKeptTables = []string{
	"api_keys", "channel_configs", "webhook_endpoints", "webhook_keys", "channel_routes",
	"cashier_settings", "cashier_logos", "card_settings", "discounts", "risk_rules", "risk_lists",
	"payout_settings", "sub_app_channels", "royalty_templates",
}

// ResetTestMode deletes the test-mode data of one app, or of every app
// when appID is "": charges, refunds, orders, events and their webhook
// deliveries, notifications, idempotency records, ledger postings,
// reconciliation runs, discrepancies and fees, channel SLA counters and the
// vault's test customers, cards and tokens. Live rows, apps, keys and
// channel credentials are untouched. Run it in one Write so that it is all
// or nothing. It returns an invalid-parameter error naming "app" for an appID that
// is not an app.
func (tx *Tx) ResetTestMode(ctx context.Context, appID string) (*SandboxCleared, error) {
	if appID != "" {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM apps WHERE id=?`, appID).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, polypay.ParamError("app", "no such app: %s", appID)
		}
	}
	out := &SandboxCleared{}
	for _, d := range sandboxDeletes {
		sub, subArgs := testScope("s", appID)
		own, ownArgs := testScope("t", appID)
		where := fmt.Sprintf(d.where, sub, own)
		args := scopeArgs(d.where, subArgs, ownArgs)
		// DELETE ... t WHERE: both SQLite and PostgreSQL accept an alias on
		// the deleted table.
		res, err := tx.exec(ctx, `DELETE FROM `+d.table+` AS t WHERE `+where, args...)
		if err != nil {
			return nil, fmt.Errorf("sandbox reset: %s: %w", d.table, err)
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		out.Tables = append(out.Tables, TableCount{Table: d.table, Rows: rows})
	}
	return out, nil
}

// scopeArgs lists the arguments of a condition: the scope's arguments for
// each of its placeholders, in the order they appear.
func scopeArgs(where string, sub, own []any) []any {
	var args []any
	for i := 0; i+5 <= len(where); i++ {
		switch where[i : i+5] {
		case "%[1]s":
			args = append(args, sub...)
		case "%[2]s":
			args = append(args, own...)
		}
	}
	return args
}

// RecordSandboxHost notes that the simulators a node uses for test mode
// are served at url, started now; see SandboxHost.
func (tx *Tx) RecordSandboxHost(ctx context.Context, url string) error {
	_, err := tx.exec(ctx, `INSERT INTO sandbox_hosts (url, started) VALUES (?,?)
 ON CONFLICT (url) DO UPDATE SET started=excluded.started`, url, tx.now)
	return err
}

// SandboxHost returns the URL of the simulators most recently started for
// test mode on this store, "" when no node recorded one.
func (tx *Tx) SandboxHost(ctx context.Context) (string, error) {
	var url string
	err := tx.queryRow(ctx, `SELECT url FROM sandbox_hosts ORDER BY started DESC, url LIMIT 1`).Scan(&url)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return url, err
}
