package core

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// sealedExtra are the transfer extra fields that must not sit in
// plaintext: a bank payee's card number. They are sealed with the master
// key into extra_sealed, and extra keeps a masked copy for the API.
var sealedExtra = []string{"card_number"}

// sealTransfer moves t's sensitive extra fields into ExtraSealed.
func (s *Service) sealTransfer(t *store.TransferRow) error {
	var extra map[string]any
	if len(t.Extra) == 0 || json.Unmarshal(t.Extra, &extra) != nil {
		return nil // a connector accepted it; nothing to seal in a non-object
	}
	secret := map[string]any{}
	for _, k := range sealedExtra {
		v, ok := extra[k].(string)
		if !ok {
			continue
		}
		secret[k], extra[k] = v, maskNumber(v)
	}
	if len(secret) == 0 {
		return nil
	}
	if s.Box == nil {
		return polypay.Errorf(polypay.ENotSupported, "this node has no master key to seal a payee's card number")
	}
	plain, _ := json.Marshal(secret)
	masked, _ := json.Marshal(extra)
	t.ExtraSealed, t.Extra = s.Box.Seal("transfer:"+t.ID, plain), masked
	return nil
}

// openTransfer is t with its sealed extra fields restored, for the
// channel call only.
func (s *Service) openTransfer(t *store.TransferRow) (*polypay.Transfer, error) {
	out := t.Transfer
	if t.ExtraSealed == "" {
		return &out, nil
	}
	if s.Box == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "this node has no master key to open a payee's card number")
	}
	plain, err := s.Box.Open("transfer:"+t.ID, t.ExtraSealed)
	if err != nil {
		return nil, err
	}
	extra, secret := map[string]any{}, map[string]any{}
	if err := json.Unmarshal(t.Extra, &extra); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, err
	}
	for k, v := range secret {
		extra[k] = v
	}
	out.Extra, _ = json.Marshal(extra)
	return &out, nil
}

// maskNumber keeps a card number's first six and last four digits.
func maskNumber(n string) string {
	if len(n) <= 10 {
		return "****"
	}
	return n[:6] + "******" + n[len(n)-4:]
}
