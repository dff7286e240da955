package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Identification is an identity check as kept (migration 0043): masked.
type Identification struct {
	ID, AppID  string
	Livemode   bool
	Type       string
	NameMasked string
	IDLast4    string
	CardLast4  string
	PhoneLast4 string
	ResultCode int
	Created    int64
}

// InsertIdentification records an identity check.
func (tx *Tx) InsertIdentification(ctx context.Context, v *Identification) error {
	_, err := tx.exec(ctx, `INSERT INTO identifications (id, app_id, livemode, type, name_masked, id_last4, card_last4, phone_last4,
 result_code, created) VALUES (?,?,?,?,?,?,?,?,?,?)`, v.ID, v.AppID, b2i(v.Livemode), v.Type, v.NameMasked, v.IDLast4, v.CardLast4,
		v.PhoneLast4, v.ResultCode, v.Created)
	return err
}

// IdentificationsOf counts an app's identity checks in a mode.
func (tx *Tx) IdentificationsOf(ctx context.Context, appID string, live bool) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM identifications WHERE app_id=? AND livemode=?`, appID, b2i(live)).Scan(&n)
	return n, err
}

// DumpTable renders a table's rows as text, every column, so tests can
// look for what must never be stored in the clear. table must be a plain
// table name.
func (tx *Tx) DumpTable(ctx context.Context, table string) ([]string, error) {
	if !tableNameRe.MatchString(table) {
		return nil, fmt.Errorf("store: %q is not a table name", table)
	}
	rows, err := tx.query(ctx, `SELECT * FROM `+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		out = append(out, b.String())
	}
	return out, rows.Err()
}

var tableNameRe = regexp.MustCompile(`^[a-z_]{1,64}$`)
