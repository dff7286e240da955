package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The platform view: an app's sub-apps (its merchants) with their status,
// what each took and paid in fees in the page's mode over the last 30 days,
// and its latest settlement run. Owners and admins add merchants, rename
// them and suspend or activate them here; channels, fees and settlement
// are set through the API.

type subAppsData struct {
	*accountBase
	SubApps []*wire.SubApp
	Volume  map[string]string // sub-app id -> "¥12.00 (3)" per currency
	Fees    map[string]string // sub-app id -> the fees it paid over the window
	// Settled is each sub-app's latest settlement run in the page's mode.
	Settled map[string]*store.MerchantSettlement
	Form    subAppForm
}

// SubAppsHref is the page in its mode; with an id, that sub-app's form.
func (b *accountBase) SubAppsHref(id string) string {
	u := "/console/apps/" + url.PathEscape(b.App.ID) + "/sub_apps"
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	return u + "?mode=" + b.Mode
}

const volumeWindow = 30 * 24 * time.Hour

func (c *Console) subApps(w http.ResponseWriter, r *http.Request, p *page) {
	c.renderSubApps(w, r, p, http.StatusOK, subAppForm{})
}

func (c *Console) renderSubApps(w http.ResponseWriter, r *http.Request, p *page, status int, f subAppForm) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &subAppsData{accountBase: b, Volume: map[string]string{}, Fees: map[string]string{}, Settled: map[string]*store.MerchantSettlement{}, Form: f}
	ctx, who := r.Context(), b.caller()
	l, err := c.cfg.Svc.ListSubApps(ctx, who, "/v1/apps/"+b.App.ID+"/sub_apps", store.Page{Limit: pageSize})
	if err == nil {
		d.SubApps = dataOf[*wire.SubApp](l)
		err = c.subAppVolume(r, d, who.Live)
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("sub_title") + " · " + b.App.Name
	c.render(w, p, status, "sub_apps", d)
}

// subAppVolume fills each sub-app's takings of the last 30 days.
func (c *Console) subAppVolume(r *http.Request, d *subAppsData, live bool) error {
	ids := make([]string, len(d.SubApps))
	for i, a := range d.SubApps {
		ids[i] = a.ID
	}
	var totals []store.PaidTotal
	since := time.Now().Add(-volumeWindow).Unix()
	if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		totals, err = tx.PaidTotals(r.Context(), ids, live, since)
		return err
	}); err != nil {
		return err
	}
	if err := c.subAppSettlement(r, d, live, since); err != nil {
		return err
	}
	for _, t := range totals {
		s := formatMoney(t.Amount, t.Currency) + " (" + strconv.FormatInt(t.Count, 10) + ")"
		if prev := d.Volume[t.AppID]; prev != "" {
			s = prev + ", " + s
		}
		d.Volume[t.AppID] = s
	}
	return nil
}

// subAppSettlement fills each sub-app's fees since `since` and its latest
// settlement run.
func (c *Console) subAppSettlement(r *http.Request, d *subAppsData, live bool, since int64) error {
	return c.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		for _, a := range d.SubApps {
			fees, err := tx.FeesBetween(r.Context(), a.ID, live, since, time.Now().Unix()+1)
			if err != nil {
				return err
			}
			curs := make([]string, 0, len(fees))
			for cur := range fees {
				curs = append(curs, cur)
			}
			sort.Strings(curs)
			for _, cur := range curs {
				s := formatMoney(fees[cur], cur)
				if prev := d.Fees[a.ID]; prev != "" {
					s = prev + ", " + s
				}
				d.Fees[a.ID] = s
			}
			runs, _, err := tx.ListMerchantSettlements(r.Context(), a.ID, live, store.Page{Limit: 1})
			if err != nil {
				return err
			}
			if len(runs) > 0 {
				d.Settled[a.ID] = runs[0]
			}
		}
		return nil
	})
}

// subAppForm is what the page's forms post back with a field error.
type subAppForm struct {
	FieldError *fieldError
	Name, User string
	Editing    string // the sub-app whose row form failed ("": the new one)
}

// subAppCreate adds a sub-merchant under the page's app.
func (c *Console) subAppCreate(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	name, user := strings.TrimSpace(r.PostForm.Get("display_name")), strings.TrimSpace(r.PostForm.Get("user"))
	params := core.SubAppParams{DisplayName: &name}
	if user != "" {
		params.User = &user
	}
	a, err := c.cfg.Svc.CreateSubApp(r.Context(), b.caller(), params)
	if c.subAppFailed(w, r, p, err, subAppForm{Name: name, User: user}) {
		return
	}
	c.log().Info("console: sub-app created", "user", p.User.ID, "app", b.App.ID, "sub_app", a.ID)
	http.Redirect(w, r, b.SubAppsHref("")+"&done=saved", http.StatusSeeOther)
}

// subAppUpdate renames a sub-merchant or moves its status.
func (c *Console) subAppUpdate(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	id := r.PathValue("id")
	name, status := strings.TrimSpace(r.PostForm.Get("display_name")), r.PostForm.Get("status")
	var params core.SubAppParams
	if name != "" {
		params.DisplayName = &name
	}
	if status != "" {
		params.Status = &status
	}
	_, err = c.cfg.Svc.UpdateSubApp(r.Context(), b.caller(), id, params)
	if c.subAppFailed(w, r, p, err, subAppForm{Name: name, Editing: id}) {
		return
	}
	c.log().Info("console: sub-app changed", "user", p.User.ID, "app", b.App.ID, "sub_app", id, "status", status)
	http.Redirect(w, r, b.SubAppsHref("")+"&done=saved", http.StatusSeeOther)
}

// subAppFailed answers a failed form: the page again with the field error,
// or the error page; false when err is nil.
func (c *Console) subAppFailed(w http.ResponseWriter, r *http.Request, p *page, err error, f subAppForm) bool {
	if err == nil {
		return false
	}
	fe, ok := asFieldError(err)
	if !ok {
		c.failErr(w, r, p, err)
		return true
	}
	f.FieldError = &fe
	c.renderSubApps(w, r, p, http.StatusBadRequest, f)
	return true
}

// Statuses are the statuses a sub-app can be moved to.
func (d *subAppsData) Statuses() []string {
	return []string{store.SubAppPending, store.SubAppActive, store.SubAppSuspended}
}
