package console

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The platform view: an app's sub-apps (its merchants) with their status,
// what each took and paid in fees in the page's mode over the last 30 days,
// and its latest settlement run. Read-only: merchants are made and changed
// through the API.

type subAppsData struct {
	*accountBase
	SubApps []*wire.SubApp
	Volume  map[string]string // sub-app id -> "¥12.00 (3)" per currency
	Fees    map[string]string // sub-app id -> the fees it paid over the window
	// Settled is each sub-app's latest settlement run in the page's mode.
	Settled map[string]*store.MerchantSettlement
}

const volumeWindow = 30 * 24 * time.Hour

func (c *Console) subApps(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &subAppsData{accountBase: b, Volume: map[string]string{}, Fees: map[string]string{}, Settled: map[string]*store.MerchantSettlement{}}
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
	c.render(w, p, http.StatusOK, "sub_apps", d)
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
