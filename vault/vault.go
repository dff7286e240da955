// Package vault keeps customers' cards: it tokenizes card numbers, saves
// cards on customers and hands a card's data to core when a card charge is
// made. Numbers are stored only under envelope encryption (see envelope.go
// and keys.go); only brand, last four, expiry, funding and a keyed
// fingerprint ever leave the package. The CVC is never stored: a token
// keeps it in the memory of the node that made it, for the token's
// lifetime at most, and a charge that reaches another node goes ahead
// without it.
package vault

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// TokenTTL is how long a token can be used.
const TokenTTL = 10 * time.Minute

// OrphanTTL is how long a card that only backed a token (never attached
// to a customer) is kept: long enough for the charge that used the token
// to reach its processor, then its sealed number is deleted.
const OrphanTTL = time.Hour

// Vault is the card vault of one node.
type Vault struct {
	DB   *store.DB
	Keys *Keys
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	cvcs map[string]cvcEntry // token id -> CVC, this node's memory only
}

type cvcEntry struct {
	cvc     string
	expires time.Time
}

// New makes a vault over a store and a keyring.
func New(db *store.DB, keys *Keys) *Vault {
	return &Vault{DB: db, Keys: keys, cvcs: map[string]cvcEntry{}}
}

func (v *Vault) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Card is Ping++'s legacy card object: public fields only.
type Card struct {
	ID          string  `json:"id"`
	Object      string  `json:"object"`
	Created     int64   `json:"created"`
	Last4       string  `json:"last4"`
	Funding     string  `json:"funding"`
	Brand       string  `json:"brand"`
	Bank        string  `json:"bank"`
	Customer    *string `json:"customer"`
	ExpMonth    int     `json:"exp_month"`
	ExpYear     int     `json:"exp_year"`
	Fingerprint string  `json:"fingerprint"`
}

// Customer is Ping++'s legacy customer object.
type Customer struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Created       int64           `json:"created"`
	Livemode      bool            `json:"livemode"`
	App           string          `json:"app"`
	Name          *string         `json:"name"`
	Email         *string         `json:"email"`
	Currency      string          `json:"currency"`
	Description   *string         `json:"description"`
	Metadata      json.RawMessage `json:"metadata"`
	Sources       wire.List       `json:"sources"`
	DefaultSource *string         `json:"default_source"`
}

// Token is Ping++'s legacy token object.
type Token struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Used     bool   `json:"used"`
	TimeUsed *int64 `json:"time_used"`
	Type     string `json:"type"`
	Card     *Card  `json:"card"`
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// publicCard is a card row's public fields. A fingerprint of an older
// version (keyed alike for every app, see FingerprintVersion) is left out
// until ScopeFingerprints re-derives it: shown, it would link the card
// across apps.
func publicCard(c *store.VaultCard) *Card {
	fp := c.Fingerprint
	if c.FingerprintVersion < FingerprintVersion {
		fp = ""
	}
	return &Card{ID: c.ID, Object: "card", Created: c.Created, Last4: c.Last4, Funding: c.Funding, Brand: c.Brand,
		Bank: c.Bank, Customer: nullStr(c.CustomerID), ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: fp}
}

func publicToken(t *store.VaultToken, c *store.VaultCard) *Token {
	out := &Token{ID: t.ID, Object: "token", Created: t.Created, Livemode: t.Live, Used: t.Used, Type: "card", Card: publicCard(c)}
	if t.Used {
		tu := t.TimeUsed
		out.TimeUsed = &tu
	}
	return out
}

func sourcesURL(customerID string) string { return "/v1/customers/" + customerID + "/sources" }

func renderCustomer(ctx context.Context, tx *store.Tx, c *store.VaultCustomer) (*Customer, error) {
	cards, more, err := tx.ListVaultCards(ctx, c.AppID, c.Live, c.ID, store.Page{Limit: 10})
	if err != nil {
		return nil, err
	}
	data := make([]any, len(cards))
	for i, k := range cards {
		data[i] = publicCard(k)
	}
	meta := json.RawMessage(c.Metadata)
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return &Customer{ID: c.ID, Object: "customer", Created: c.Created, Livemode: c.Live, App: c.AppID,
		Name: nullStr(c.Name), Email: nullStr(c.Email), Currency: c.Currency, Description: nullStr(c.Description),
		Metadata: meta, Sources: wire.NewList(sourcesURL(c.ID), more, data), DefaultSource: nullStr(c.DefaultSource)}, nil
}

// rememberCVC keeps a token's CVC in this node's memory until the token
// expires, and forgets every expired one.
func (v *Vault) rememberCVC(tokenID, cvc string, expires time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	for id, e := range v.cvcs {
		if !now.Before(e.expires) {
			delete(v.cvcs, id)
		}
	}
	if cvc != "" {
		v.cvcs[tokenID] = cvcEntry{cvc: cvc, expires: expires}
	}
}

func (v *Vault) cvc(tokenID string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.cvcs[tokenID]
	if !ok || !v.now().Before(e.expires) {
		delete(v.cvcs, tokenID)
		return ""
	}
	return e.cvc
}

// ForgetCVC drops a token's CVC from memory at once (core may call it once
// the charge that used the token reached its processor).
func (v *Vault) ForgetCVC(tokenID string) {
	v.mu.Lock()
	delete(v.cvcs, tokenID)
	v.mu.Unlock()
}

// Tokenize validates a card, seals it and returns a single-use token for
// it that expires after TokenTTL. customer, when given, must be one of the
// app's customers in the mode; the token can then only be attached to or
// charged with that customer. EInvalid naming the card[...] parameter for
// a bad card; EInvalid (param customer) for an unknown customer.
func (v *Vault) Tokenize(ctx context.Context, appID string, live bool, in CardInput, customer string) (*Token, error) {
	now := v.now()
	if err := in.Validate(now); err != nil {
		return nil, err
	}
	funding, bank := Funding(in.Number)
	card := &store.VaultCard{ID: polypay.NewID("card_"), AppID: appID, Live: live, Created: now.Unix(),
		Brand: Brand(in.Number), Funding: funding, Bank: bank, Last4: last4(in.Number), ExpMonth: in.ExpMonth, ExpYear: in.ExpYear}
	if err := v.seal(card, &in); err != nil {
		return nil, err
	}
	tok := &store.VaultToken{ID: polypay.NewID("tok_"), AppID: appID, Live: live, CardID: card.ID, CustomerID: customer,
		Created: now.Unix(), Expires: now.Add(TokenTTL).Unix()}
	err := v.DB.Write(ctx, func(tx *store.Tx) error {
		if customer != "" {
			if _, err := tx.GetVaultCustomer(ctx, appID, live, customer); err != nil {
				if polypay.ErrorCode(err) == polypay.ENotFound {
					return polypay.ParamError("customer", "未找到 customer : %s。", customer)
				}
				return err
			}
		}
		if _, err := tx.PurgeVaultOrphans(ctx, appID, live, now.Add(-OrphanTTL).Unix()); err != nil {
			return err
		}
		if err := tx.InsertVaultCard(ctx, card); err != nil {
			return err
		}
		return tx.InsertVaultToken(ctx, tok)
	})
	if err != nil {
		return nil, err
	}
	v.rememberCVC(tok.ID, in.CVC, now.Add(TokenTTL))
	return publicToken(tok, card), nil
}

// GetToken returns a token; ENotFound for another app's or mode's.
func (v *Vault) GetToken(ctx context.Context, appID string, live bool, id string) (*Token, error) {
	var out *Token
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.GetVaultToken(ctx, appID, live, id)
		if err != nil {
			return err
		}
		c, err := tx.GetVaultCard(ctx, appID, live, t.CardID)
		if err != nil {
			return polypay.NotFound("token", id)
		}
		out = publicToken(t, c)
		return nil
	})
	return out, err
}

// CustomerParams creates or updates a customer; nil fields are left as
// they are on update.
type CustomerParams struct {
	Name          *string
	Email         *string
	Description   *string
	Metadata      json.RawMessage // nil: unchanged
	DefaultSource *string         // update only: one of the customer's cards
	Source        string          // create only: a token whose card is attached
}

// CreateCustomer creates a customer, attaching the card of p.Source (a
// token, which is consumed) as its default source. EInvalid (param source)
// for an unknown, used, expired or foreign token.
func (v *Vault) CreateCustomer(ctx context.Context, appID string, live bool, p CustomerParams) (*Customer, error) {
	c := &store.VaultCustomer{ID: polypay.NewID("cus_"), AppID: appID, Live: live, Currency: "cny", Metadata: []byte("{}")}
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.Email != nil {
		c.Email = *p.Email
	}
	if p.Description != nil {
		c.Description = *p.Description
	}
	if p.Metadata != nil {
		c.Metadata = p.Metadata
	}
	var out *Customer
	err := v.DB.Write(ctx, func(tx *store.Tx) error {
		c.Created = v.now().Unix()
		if err := tx.InsertVaultCustomer(ctx, c); err != nil {
			return err
		}
		if p.Source != "" {
			card, err := v.attach(ctx, tx, c, p.Source, "source")
			if err != nil {
				return err
			}
			c.DefaultSource = card.ID
			if err := tx.UpdateVaultCustomer(ctx, c); err != nil {
				return err
			}
		}
		var err error
		out, err = renderCustomer(ctx, tx, c)
		return err
	})
	return out, err
}

// attach consumes a token and gives its card to customer c.
func (v *Vault) attach(ctx context.Context, tx *store.Tx, c *store.VaultCustomer, tokenID, param string) (*store.VaultCard, error) {
	t, card, err := v.takeToken(ctx, tx, c.AppID, c.Live, tokenID, c.ID, param)
	if err != nil {
		return nil, err
	}
	if ok, err := tx.AttachVaultCard(ctx, c.AppID, c.Live, card.ID, c.ID); err != nil {
		return nil, err
	} else if !ok {
		return nil, polypay.ParamError(param, "token %s 的卡已属于其他 customer", t.ID)
	}
	card.CustomerID = c.ID
	return card, nil
}

// takeToken checks that a token can be used (by customer, when given) and
// consumes it within tx.
func (v *Vault) takeToken(ctx context.Context, tx CardTx, appID string, live bool, tokenID, customer, param string) (*store.VaultToken, *store.VaultCard, error) {
	t, card, err := v.checkToken(ctx, tx, appID, live, tokenID, customer, param)
	if err != nil {
		return nil, nil, err
	}
	now := v.now().Unix()
	ok, err := tx.ConsumeVaultToken(ctx, appID, live, t.ID, now)
	if err != nil {
		return nil, nil, err
	}
	if !ok { // lost a race with another use
		return nil, nil, polypay.ParamError(param, "token %s 已被使用", t.ID)
	}
	t.Used, t.TimeUsed = true, now
	return t, card, nil
}

// checkToken finds a usable token without consuming it.
func (v *Vault) checkToken(ctx context.Context, tx CardTx, appID string, live bool, tokenID, customer, param string) (*store.VaultToken, *store.VaultCard, error) {
	t, err := tx.GetVaultToken(ctx, appID, live, tokenID)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, nil, polypay.ParamError(param, "未找到 token : %s。", tokenID)
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Used {
		return nil, nil, polypay.ParamError(param, "token %s 已被使用，token 只能使用一次", t.ID)
	}
	if v.now().Unix() >= t.Expires {
		return nil, nil, polypay.ParamError(param, "token %s 已过期（有效期 %d 分钟）", t.ID, int(TokenTTL/time.Minute))
	}
	if t.CustomerID != "" && customer != "" && t.CustomerID != customer {
		return nil, nil, polypay.ParamError(param, "token %s 属于另一个 customer", t.ID)
	}
	card, err := tx.GetVaultCard(ctx, appID, live, t.CardID)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, nil, polypay.ParamError(param, "token %s 的卡已被删除", t.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	return t, card, nil
}

// GetCustomer returns a customer; ENotFound for another app's or mode's.
func (v *Vault) GetCustomer(ctx context.Context, appID string, live bool, id string) (*Customer, error) {
	var out *Customer
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.GetVaultCustomer(ctx, appID, live, id)
		if err != nil {
			return err
		}
		out, err = renderCustomer(ctx, tx, c)
		return err
	})
	return out, err
}

// ListCustomers returns a page of customers as a Ping++ list. EInvalid
// (param starting_after / ending_before) for an unknown cursor.
func (v *Vault) ListCustomers(ctx context.Context, appID string, live bool, p store.Page) (wire.List, error) {
	var out wire.List
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		for param, cursor := range map[string]string{"starting_after": p.StartingAfter, "ending_before": p.EndingBefore} {
			if cursor == "" {
				continue
			}
			if _, err := tx.GetVaultCustomer(ctx, appID, live, cursor); err != nil {
				if polypay.ErrorCode(err) == polypay.ENotFound {
					return polypay.ParamError(param, "未找到 customer : %s。", cursor)
				}
				return err
			}
		}
		cs, more, err := tx.ListVaultCustomers(ctx, appID, live, p)
		if err != nil {
			return err
		}
		data := make([]any, len(cs))
		for i, c := range cs {
			if data[i], err = renderCustomer(ctx, tx, c); err != nil {
				return err
			}
		}
		out = wire.NewList("/v1/customers", more, data)
		return nil
	})
	return out, err
}

// UpdateCustomer changes a customer's email, description, metadata, name
// or default source (which must be one of its cards: EInvalid, param
// default_source, otherwise). ENotFound for an unknown customer.
func (v *Vault) UpdateCustomer(ctx context.Context, appID string, live bool, id string, p CustomerParams) (*Customer, error) {
	var out *Customer
	err := v.DB.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.GetVaultCustomer(ctx, appID, live, id)
		if err != nil {
			return err
		}
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.Email != nil {
			c.Email = *p.Email
		}
		if p.Description != nil {
			c.Description = *p.Description
		}
		if p.Metadata != nil {
			c.Metadata = p.Metadata
		}
		if p.DefaultSource != nil {
			card, err := tx.GetVaultCard(ctx, appID, live, *p.DefaultSource)
			if err != nil || card.CustomerID != c.ID {
				if err == nil || polypay.ErrorCode(err) == polypay.ENotFound {
					return polypay.ParamError("default_source", "%s 不是该 customer 的卡", *p.DefaultSource)
				}
				return err
			}
			c.DefaultSource = card.ID
		}
		if err := tx.UpdateVaultCustomer(ctx, c); err != nil {
			return err
		}
		out, err = renderCustomer(ctx, tx, c)
		return err
	})
	return out, err
}

// DeleteCustomer deletes a customer and its cards (their sealed numbers
// with them). ENotFound for an unknown customer.
func (v *Vault) DeleteCustomer(ctx context.Context, appID string, live bool, id string) error {
	return v.DB.Write(ctx, func(tx *store.Tx) error { return tx.DeleteVaultCustomer(ctx, appID, live, id) })
}

// AttachSource consumes a token and saves its card on a customer, as the
// default source if the customer had none. ENotFound for an unknown
// customer; EInvalid (param source) for a bad token.
func (v *Vault) AttachSource(ctx context.Context, appID string, live bool, customerID, tokenID string) (*Card, error) {
	var out *Card
	err := v.DB.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.GetVaultCustomer(ctx, appID, live, customerID)
		if err != nil {
			return err
		}
		card, err := v.attach(ctx, tx, c, tokenID, "source")
		if err != nil {
			return err
		}
		if c.DefaultSource == "" {
			c.DefaultSource = card.ID
			if err := tx.UpdateVaultCustomer(ctx, c); err != nil {
				return err
			}
		}
		out = publicCard(card)
		return nil
	})
	return out, err
}

// ListSources returns a page of a customer's cards. ENotFound for an
// unknown customer; EInvalid for an unknown cursor.
func (v *Vault) ListSources(ctx context.Context, appID string, live bool, customerID string, p store.Page) (wire.List, error) {
	var out wire.List
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetVaultCustomer(ctx, appID, live, customerID); err != nil {
			return err
		}
		for param, cursor := range map[string]string{"starting_after": p.StartingAfter, "ending_before": p.EndingBefore} {
			if cursor == "" {
				continue
			}
			if c, err := tx.GetVaultCard(ctx, appID, live, cursor); err != nil || c.CustomerID != customerID {
				if err == nil || polypay.ErrorCode(err) == polypay.ENotFound {
					return polypay.ParamError(param, "未找到 card : %s。", cursor)
				}
				return err
			}
		}
		cards, more, err := tx.ListVaultCards(ctx, appID, live, customerID, p)
		if err != nil {
			return err
		}
		data := make([]any, len(cards))
		for i, c := range cards {
			data[i] = publicCard(c)
		}
		out = wire.NewList(sourcesURL(customerID), more, data)
		return nil
	})
	return out, err
}

// GetSource returns one of a customer's cards; ENotFound otherwise.
func (v *Vault) GetSource(ctx context.Context, appID string, live bool, customerID, cardID string) (*Card, error) {
	var out *Card
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetVaultCustomer(ctx, appID, live, customerID); err != nil {
			return err
		}
		c, err := tx.GetVaultCard(ctx, appID, live, cardID)
		if err != nil {
			return err
		}
		if c.CustomerID != customerID {
			return polypay.NotFound("card", cardID)
		}
		out = publicCard(c)
		return nil
	})
	return out, err
}

// DeleteSource deletes one of a customer's cards; if it was the default
// source, the newest remaining card becomes the default. ENotFound
// otherwise.
func (v *Vault) DeleteSource(ctx context.Context, appID string, live bool, customerID, cardID string) error {
	return v.DB.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.GetVaultCustomer(ctx, appID, live, customerID)
		if err != nil {
			return err
		}
		if err := tx.DeleteVaultCard(ctx, appID, live, customerID, cardID); err != nil {
			return err
		}
		if c.DefaultSource != cardID {
			return nil
		}
		rest, _, err := tx.ListVaultCards(ctx, appID, live, customerID, store.Page{Limit: 1})
		if err != nil {
			return err
		}
		c.DefaultSource = ""
		if len(rest) > 0 {
			c.DefaultSource = rest[0].ID
		}
		return tx.UpdateVaultCustomer(ctx, c)
	})
}

// CardTx is what resolving a charge's card needs of the store transaction
// that creates the charge; the gateway core's transaction provides it.
type CardTx interface {
	GetVaultCard(ctx context.Context, appID string, live bool, id string) (*store.VaultCard, error)
	GetVaultCustomer(ctx context.Context, appID string, live bool, id string) (*store.VaultCustomer, error)
	GetVaultToken(ctx context.Context, appID string, live bool, id string) (*store.VaultToken, error)
	ConsumeVaultToken(ctx context.Context, appID string, live bool, id string, now int64) (bool, error)
}

// CardForCharge resolves a card charge's source inside the write
// transaction that creates the charge, and decrypts the card for the
// processor call:
//
//   - source "tok_...": the token is consumed in tx (used, time_used), so
//     it backs at most one charge even when requests race on many nodes;
//     its CVC comes along if this node made the token.
//   - source "card_...": a saved card; when customer is given it must be
//     that customer's.
//   - source "" with customer: the customer's default source.
//
// Every failure is EInvalid naming extra[source] (or extra[customer]):
// unknown, used, expired or another app's or mode's token or card look the
// same to the caller. The returned CardData lives in memory only; it
// redacts itself when printed.
func (v *Vault) CardForCharge(ctx context.Context, tx CardTx, appID string, live bool, source, customer string) (*polypay.CardData, *Card, error) {
	return v.resolve(ctx, tx, appID, live, source, customer, true)
}

// PeekCard is CardForCharge without consuming a token, in its own read
// transaction: for checking a source (and reading the card) before the
// charge's write transaction. A token that passes PeekCard must still be
// consumed in that transaction, by CardForCharge or ConsumeToken, and may
// by then have been used by a concurrent request.
func (v *Vault) PeekCard(ctx context.Context, appID string, live bool, source, customer string) (*polypay.CardData, *Card, error) {
	var cd *polypay.CardData
	var card *Card
	err := v.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		cd, card, err = v.resolve(ctx, tx, appID, live, source, customer, false)
		return err
	})
	return cd, card, err
}

// ConsumeToken marks a token used inside tx (when a charge's source was
// checked with PeekCard). EInvalid (param extra[source]) if it is unknown,
// used or expired by now.
func (v *Vault) ConsumeToken(ctx context.Context, tx CardTx, appID string, live bool, tokenID, customer string) error {
	_, _, err := v.takeToken(ctx, tx, appID, live, tokenID, customer, "extra[source]")
	return err
}

func (v *Vault) resolve(ctx context.Context, tx CardTx, appID string, live bool, source, customer string, consume bool) (*polypay.CardData, *Card, error) {
	const param = "extra[source]"
	var row *store.VaultCard
	cvc := ""
	if customer != "" {
		if _, err := tx.GetVaultCustomer(ctx, appID, live, customer); err != nil {
			if polypay.ErrorCode(err) == polypay.ENotFound {
				return nil, nil, polypay.ParamError("extra[customer]", "未找到 customer : %s。", customer)
			}
			return nil, nil, err
		}
	}
	switch {
	case strings.HasPrefix(source, "tok_"):
		var t *store.VaultToken
		var err error
		if consume {
			t, row, err = v.takeToken(ctx, tx, appID, live, source, customer, param)
		} else {
			t, row, err = v.checkToken(ctx, tx, appID, live, source, customer, param)
		}
		if err != nil {
			return nil, nil, err
		}
		if customer != "" && row.CustomerID != "" && row.CustomerID != customer {
			return nil, nil, polypay.ParamError(param, "token %s 属于另一个 customer", t.ID)
		}
		cvc = v.cvc(t.ID)
	case strings.HasPrefix(source, "card_"):
		c, err := tx.GetVaultCard(ctx, appID, live, source)
		if err != nil && polypay.ErrorCode(err) != polypay.ENotFound {
			return nil, nil, err
		}
		// A card that only backs a token is charged through the token.
		if err != nil || c.CustomerID == "" || (customer != "" && c.CustomerID != customer) {
			return nil, nil, polypay.ParamError(param, "未找到 card : %s。", source)
		}
		row = c
	case source == "" && customer != "":
		c, err := tx.GetVaultCustomer(ctx, appID, live, customer)
		if err != nil {
			return nil, nil, err
		}
		if c.DefaultSource == "" {
			return nil, nil, polypay.ParamError(param, "customer %s 没有默认卡 (default_source)", customer)
		}
		if row, err = tx.GetVaultCard(ctx, appID, live, c.DefaultSource); err != nil {
			return nil, nil, err
		}
	case source == "":
		return nil, nil, polypay.ParamError(param, "card 渠道须提供 extra[source]（tok_... 或 card_...）或 extra[customer]")
	default:
		return nil, nil, polypay.ParamError(param, "extra[source] 须为 tok_... 或 card_...")
	}
	cd, err := v.open(row)
	if err != nil {
		return nil, nil, err
	}
	cd.CVC = cvc
	return cd, publicCard(row), nil
}
