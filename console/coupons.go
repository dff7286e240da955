package console

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The coupon templates page: an app's templates in a mode with how many
// coupons each issued and how many were redeemed; read only, through core
// as the API reads them.

type couponTemplatesData struct {
	*accountBase
	Templates []*wire.CouponTemplate
	More      string
}

// CouponsHref is the templates page in the page's mode.
func (b *accountBase) CouponsHref() string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/coupon_templates?mode=" + b.Mode
}

// Off says what a template takes off: "¥5.00" or "20%".
func (b *accountBase) Off(t *wire.CouponTemplate) string {
	if t.PercentOff != nil {
		return fmt.Sprintf("%d%%", *t.PercentOff)
	}
	return formatMoney(b.I(t.AmountOff), polypay.BalanceCurrency)
}

// Of is "n / max", or n alone without a limit.
func (b *accountBase) Of(n int64, max *int64) string {
	if max == nil {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d / %d", n, *max)
}

func (c *Console) couponTemplates(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	pg := store.Page{Limit: pageSize}
	if a := r.URL.Query().Get("after"); accountIDRe.MatchString(a) {
		pg.StartingAfter = a
	}
	l, err := c.cfg.Svc.ListCouponTemplates(r.Context(), b.caller(), "/v1/coupon_templates", pg)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &couponTemplatesData{accountBase: b, Templates: dataOf[*wire.CouponTemplate](l)}
	d.More = nextCursor(l.HasMore, len(d.Templates), func(i int) string { return d.Templates[i].ID })
	p.Title = p.T("acct_coupon_tmpls") + " · " + b.App.Name
	c.render(w, p, http.StatusOK, "coupon_templates", d)
}
