package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The shop QR codes page: an app's codes in a mode with their images to
// download, a form to make one, and a print sheet (one card per active
// code, sized for A4, with the amount or "any amount" and the wallets it
// takes). Images come from the public /qr/{id}.svg the customer's page
// lives beside, so the sheet shows exactly what the API's image_svg does.

type qrCodesData struct {
	*accountBase
	Codes      []*wire.QRCode
	More       string
	FieldError *fieldError
	Label      string
	AmountText string
}

// QRCodesHref is the QR codes page in the page's mode.
func (b *accountBase) QRCodesHref(suffix string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/qr_codes" + suffix + "?mode=" + b.Mode
}

// QRAmount is a code's fixed amount, or "" for an open one.
func (b *accountBase) QRAmount(q *wire.QRCode) string {
	if q.Amount == nil {
		return ""
	}
	return formatMoney(*q.Amount, q.Currency)
}

func (c *Console) loadQRCodes(r *http.Request, p *page, onlyActive bool) (*qrCodesData, error) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		return nil, err
	}
	pg := store.Page{Limit: pageSize}
	if onlyActive {
		pg.Limit = 100 // a print sheet takes every code at once
	}
	if a := r.URL.Query().Get("after"); idLike(a) {
		pg.StartingAfter = a
	}
	l, err := c.cfg.Svc.ListQRCodes(r.Context(), b.caller(), "/v1/apps/"+b.App.ID+"/qr_codes", pg)
	if err != nil {
		return nil, err
	}
	d := &qrCodesData{accountBase: b, Codes: dataOf[*wire.QRCode](l)}
	d.More = nextCursor(l.HasMore, len(d.Codes), func(i int) string { return d.Codes[i].ID })
	if onlyActive {
		active := d.Codes[:0]
		for _, q := range d.Codes {
			if q.Active {
				active = append(active, q)
			}
		}
		d.Codes = active
	}
	return d, nil
}

func (c *Console) qrCodes(w http.ResponseWriter, r *http.Request, p *page) {
	d, err := c.loadQRCodes(r, p, false)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("qr_title") + " · " + d.App.Name
	c.render(w, p, http.StatusOK, "qr_codes", d)
}

func (c *Console) qrPrint(w http.ResponseWriter, r *http.Request, p *page) {
	d, err := c.loadQRCodes(r, p, true)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("qr_print_title") + " · " + d.App.Name
	c.render(w, p, http.StatusOK, "qr_print", d)
}

// qrCreate makes a shop QR code from the form: a label and a fixed amount
// in yuan, or none for an amount the customer enters.
func (c *Console) qrCreate(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	label := strings.TrimSpace(r.PostForm.Get("label"))
	text := strings.TrimSpace(r.PostForm.Get("amount"))
	params := core.QRCodeParams{Label: &label}
	if n := len([]rune(label)); n == 0 || n > 32 {
		err = polypay.ParamError("label", "label must be 1 to 32 characters")
	} else if text != "" {
		params.Amount, err = parseMoney(text, "amount", polypay.BalanceCurrency)
		if err == nil && (params.Amount <= 0 || params.Amount > core.MaxAmount) {
			err = polypay.ParamError("amount", "amount out of range")
		}
	}
	if err == nil {
		_, err = c.cfg.Svc.CreateQRCode(r.Context(), b.caller(), params, nil)
	}
	if fe, ok := asFieldError(err); ok {
		d, lerr := c.loadQRCodes(r, p, false)
		if lerr != nil {
			c.failErr(w, r, p, lerr)
			return
		}
		d.FieldError, d.Label, d.AmountText = &fe, label, text
		p.Title = p.T("qr_title") + " · " + d.App.Name
		c.render(w, p, http.StatusBadRequest, "qr_codes", d)
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: QR code created", "user", p.User.ID, "app", b.App.ID, "live", b.Live)
	http.Redirect(w, r, b.QRCodesHref("")+"&done=saved", http.StatusSeeOther)
}
