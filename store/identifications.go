package store

import "context"

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

// DumpIdentifications renders an app's kept checks as text (tests look
// for numbers in them).
func (tx *Tx) DumpIdentifications(ctx context.Context, appID string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT id, type, name_masked, id_last4, card_last4, phone_last4 FROM identifications WHERE app_id=?`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b, c, d, e, f string
		if err := rows.Scan(&a, &b, &c, &d, &e, &f); err != nil {
			return nil, err
		}
		out = append(out, a+" "+b+" "+c+" "+d+" "+e+" "+f)
	}
	return out, rows.Err()
}
