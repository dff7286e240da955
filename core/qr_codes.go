package core

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The shop's QR code (收款码): one printed code for every wallet. Its URL
// opens a page (package cashier) where the customer enters and confirms
// the amount (or confirms a fixed one); polypay then makes an order of
// that amount for the wallet the page was opened in, and the hosted
// cashier pays it through that wallet's in-app flow. Each payment is an
// ordinary charge whose metadata names the QR code.

// QRCodeParams create or change a QR code.
type QRCodeParams struct {
	Label    *string
	Amount   int64
	Expires  *int64
	MaxUses  *int64
	Metadata json.RawMessage
	Active   *bool
}

// QRCodeURL is where a QR code's page is.
func (s *Service) QRCodeURL(id string) string { return s.BaseURL + "/qr/" + id }

func (s *Service) renderQRCode(q *store.QRCode, now int64) *wire.QRCode {
	w := &wire.QRCode{ID: q.ID, Object: "qr_code", App: q.AppID, Livemode: q.Livemode, Label: q.Label, Currency: q.Currency,
		TimesUsed: q.TimesUsed, Active: qrActive(q, now), URL: s.QRCodeURL(q.ID), ImagePNG: s.QRCodeURL(q.ID) + ".png",
		ImageSVG: s.QRCodeURL(q.ID) + ".svg", Metadata: q.Metadata, Created: q.Created}
	if q.Amount > 0 {
		w.Amount = &q.Amount
	}
	if q.Expires > 0 {
		w.Expires = &q.Expires
	}
	if q.MaxUses > 0 {
		w.MaxUses = &q.MaxUses
	}
	if len(w.Metadata) == 0 {
		w.Metadata = json.RawMessage("{}")
	}
	return w
}

func qrActive(q *store.QRCode, now int64) bool {
	return q.Deleted == 0 && (q.Expires == 0 || q.Expires > now) && (q.MaxUses == 0 || q.TimesUsed < q.MaxUses)
}

// CreateQRCode stores a QR code.
func (s *Service) CreateQRCode(ctx context.Context, who Caller, p QRCodeParams, hook Hook) (any, error) {
	q := &store.QRCode{ID: polypay.NewID("qr_"), AppID: who.App.ID, Livemode: who.Live, Amount: p.Amount, Currency: "cny",
		Metadata: p.Metadata}
	if p.Label != nil {
		q.Label = *p.Label
	}
	if p.Expires != nil {
		q.Expires = *p.Expires
	}
	if p.MaxUses != nil {
		q.MaxUses = *p.MaxUses
	}
	var out any
	err := s.write(ctx, func(tx Tx) error {
		q.Created = tx.Now()
		if q.Expires != 0 && q.Expires <= q.Created {
			return polypay.ParamError("expires", "expires 须晚于当前时间")
		}
		if err := tx.InsertQRCode(ctx, q); err != nil {
			return err
		}
		out = s.renderQRCode(q, q.Created)
		return runHook(hook, tx, out)
	})
	return out, err
}

// GetQRCode answers one QR code.
func (s *Service) GetQRCode(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		q, err := tx.GetQRCode(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = s.renderQRCode(q, tx.Now())
		}
		return err
	})
	return out, err
}

// ListQRCodes lists the app's QR codes, newest first.
func (s *Service) ListQRCodes(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "qr_codes", who, p); err != nil {
			return err
		}
		qs, more, err := tx.ListQRCodes(ctx, who.App.ID, who.Live, p)
		data := make([]any, 0, len(qs))
		for _, q := range qs {
			data = append(data, s.renderQRCode(q, tx.Now()))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}

// UpdateQRCode changes a QR code's label, expiry, use limit or metadata;
// deleting it (DELETE) deactivates it for good.
func (s *Service) UpdateQRCode(ctx context.Context, who Caller, id string, p QRCodeParams, del bool) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		q, err := tx.GetQRCode(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if p.Label != nil {
			q.Label = *p.Label
		}
		if p.Expires != nil {
			q.Expires = *p.Expires
		}
		if p.MaxUses != nil {
			q.MaxUses = *p.MaxUses
		}
		if p.Metadata != nil {
			q.Metadata = p.Metadata
		}
		if del && q.Deleted == 0 {
			q.Deleted = tx.Now()
		}
		if err := tx.UpdateQRCode(ctx, q); err != nil {
			return err
		}
		out = s.renderQRCode(q, tx.Now())
		return nil
	})
	return out, err
}

// QRCodeForPage is a QR code as its public page shows it; ENotFound for
// an unknown id.
func (s *Service) QRCodeForPage(ctx context.Context, id string) (*store.QRCode, bool, error) {
	var q *store.QRCode
	active := false
	err := s.read(ctx, func(tx Tx) (err error) {
		q, err = tx.QRCodeByID(ctx, id)
		if err == nil {
			active = qrActive(q, tx.Now())
		}
		return err
	})
	return q, active, err
}

// PayQRCode makes the order a customer confirmed on a QR code's page:
// amount (the code's own when fixed), for the channels the customer's
// wallet can pay with; it counts one use of the code.
func (s *Service) PayQRCode(ctx context.Context, id string, amount int64, channels []string) (*wire.Order, error) {
	var q *store.QRCode
	var app *polypay.App
	err := s.write(ctx, func(tx Tx) error {
		var err error
		if q, err = tx.QRCodeByID(ctx, id); err != nil {
			return err
		}
		if q.Amount > 0 && amount != q.Amount {
			return polypay.ParamError("amount", "该收款码的金额固定为 %d", q.Amount)
		}
		if ok, err := tx.UseQRCode(ctx, id, tx.Now()); err != nil || !ok {
			if err == nil {
				err = polypay.ParamError("id", "收款码 %s 已停用、过期或达到使用次数上限", id)
			}
			return err
		}
		app, err = tx.GetApp(ctx, q.AppID)
		return err
	})
	if err != nil {
		return nil, err
	}
	chans := slices.DeleteFunc(slices.Clone(channels), func(ch string) bool { return !slices.Contains(CashierChannels(), ch) })
	md, _ := json.Marshal(map[string]string{"qr_code": q.ID})
	label := q.Label
	if label == "" {
		label = "收款码"
	}
	subject := []rune(label)
	if len(subject) > 32 {
		subject = subject[:32]
	}
	p := OrderParams{AppID: q.AppID, MerchantOrderNo: fmt.Sprintf("QR%s", polypay.NewID("")[:20]), Amount: amount,
		Currency: q.Currency, Subject: string(subject), Body: label, Channels: chans, Metadata: md}
	return s.CreateOrder(ctx, Caller{App: app, Live: q.Livemode}, p)
}
