package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/identity"
	"github.com/polypay/polypay/store"
)

// IdentifyParams is POST /v1/identification: type id_card (name and ID
// number) or bank_card (also the card, and optionally the phone number
// the bank holds).
type IdentifyParams struct {
	Type string
	Data identity.Check
}

// Identification answers an identity check as Ping++ does: result_code 0
// when everything matched, the data masked.
type Identification struct {
	ID         string            `json:"id"`
	Object     string            `json:"object"`
	Type       string            `json:"type"`
	App        string            `json:"app"`
	Livemode   bool              `json:"livemode"`
	ResultCode int               `json:"result_code"`
	Message    string            `json:"message"`
	Paid       bool              `json:"paid"`
	Data       map[string]string `json:"data"`
	Created    int64             `json:"created"`
}

// checkIdentity refuses malformed input naming the parameter.
func checkIdentity(p IdentifyParams) error {
	d := p.Data
	switch {
	case p.Type != "id_card" && p.Type != "bank_card":
		return polypay.ParamError("type", "type 须为 id_card 或 bank_card")
	case !identity.ValidName(d.Name):
		return polypay.ParamError("data[id_name]", "data[id_name] 须为 2 到 30 个字符的姓名")
	case !identity.ValidIDNumber(d.IDNumber):
		return polypay.ParamError("data[id_number]", "data[id_number] 不是有效的 18 位身份证号")
	case p.Type == "bank_card" && !identity.ValidCard(d.CardNumber):
		return polypay.ParamError("data[card_number]", "data[card_number] 不是有效的银行卡号")
	case p.Type == "bank_card" && d.Phone != "" && !identity.ValidPhone(d.Phone):
		return polypay.ParamError("data[phone_number]", "data[phone_number] 须为 11 位手机号")
	}
	return nil
}

// Identify checks an identity with the mode's provider and records the
// check, masked.
func (s *Service) Identify(ctx context.Context, who Caller, p IdentifyParams) (*Identification, error) {
	if err := checkIdentity(p); err != nil {
		return nil, err
	}
	p.Data.Type = p.Type
	if p.Type == "id_card" {
		p.Data.CardNumber, p.Data.Phone = "", ""
	}
	var v identity.Verifier = identity.Sandbox{}
	if who.Live {
		if v = s.Identity; v == nil {
			return nil, polypay.Errorf(polypay.ENotSupported, "live 模式的身份认证需要认证服务商，目前尚未接入")
		}
	}
	res, err := v.Verify(ctx, p.Data)
	if err != nil {
		return nil, err
	}
	m := identity.Masked(p.Data)
	rec := &store.Identification{ID: polypay.NewID("idn_"), AppID: who.App.ID, Livemode: who.Live, Type: p.Type, NameMasked: m.Name,
		IDLast4: m.IDNumber, CardLast4: m.CardNumber, PhoneLast4: m.Phone, ResultCode: res.Code}
	if err := s.write(ctx, func(tx Tx) error {
		rec.Created = tx.Now()
		return tx.InsertIdentification(ctx, rec)
	}); err != nil {
		return nil, err
	}
	data := map[string]string{"id_name": m.Name, "id_number": m.IDNumber}
	if p.Type == "bank_card" {
		data["card_number"] = m.CardNumber
		if m.Phone != "" {
			data["phone_number"] = m.Phone
		}
	}
	return &Identification{ID: rec.ID, Object: "identification", Type: p.Type, App: who.App.ID, Livemode: who.Live,
		ResultCode: res.Code, Message: res.Message, Data: data, Created: rec.Created}, nil
}
