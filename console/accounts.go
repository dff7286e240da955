package console

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Account pages (the account system, Ping++ §2.11): per app and mode, the
// app's users with their stored value, and a user's page with their
// profile, balance and what moved it: balance transactions, recharges,
// bonuses and balance transfers, newest first. They only read, through
// core as the API does (every role may look); nothing here moves money.

// accountRecent bounds each list of a user's page.
const accountRecent = 20

// accountIDRe is a merchant-chosen user id, as the API accepts it.
var accountIDRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

// accountBase is what every account page shows: the app, the mode and the
// same page in the other mode.
type accountBase struct {
	App  *polypay.App
	Live bool
	Mode string // "live" or "test"
	// Other is the users list in the other mode (a user of one mode is
	// not the user of the same id in the other).
	Other, OtherLabel string
}

// accountsPath is an app's users list in a mode.
func accountsPath(appID, mode string) string {
	return "/console/apps/" + url.PathEscape(appID) + "/users?mode=" + mode
}

// loadAccountBase reads the app named by the path (404 when it does not
// exist; inApp has already refused other tenants') and the mode from the
// query, live by default.
func (c *Console) loadAccountBase(r *http.Request, p *page) (*accountBase, error) {
	ctx := r.Context()
	b := &accountBase{Live: r.URL.Query().Get("mode") != "test", Mode: "live"}
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		b.App, err = tx.GetApp(ctx, r.PathValue("app"))
		return err
	})
	if err != nil {
		return nil, err
	}
	other := "test"
	if !b.Live {
		b.Mode, other = "test", "live"
	}
	b.Other, b.OtherLabel = accountsPath(b.App.ID, other), p.T(other)
	p.Nav = "apps"
	return b, nil
}

// caller is the app in the page's mode as core's caller.
func (b *accountBase) caller() core.Caller {
	return core.Caller{App: b.App, Live: b.Live, RequestID: polypay.NewID("iar_")}
}

// UserHref is a user's page in the page's mode.
func (b *accountBase) UserHref(id string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/users/" + url.PathEscape(id) + "?mode=" + b.Mode
}

// Balance formats a balance or a movement of one (always CNY):
// "¥12.34", "-¥2.50"; the template writes a credit's "+" (html/template
// would escape one in a value).
func (b *accountBase) Balance(minor int64) string { return formatMoney(minor, polypay.BalanceCurrency) }

// S is an optional text of a wire object, "" when null.
func (b *accountBase) S(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// I is an optional time of a wire object, 0 when null.
func (b *accountBase) I(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// dataOf keeps a list's objects of type T (core's lists hold one type).
func dataOf[T any](l wire.List) []T {
	out := make([]T, 0, len(l.Data))
	for _, v := range l.Data {
		if t, ok := v.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// --- the users list ---

type accountUsersData struct {
	*accountBase
	Users []*wire.User
	More  string // cursor of the next page
}

// accountUsers lists an app's users in a mode, a page at a time.
func (c *Console) accountUsers(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	pg := store.Page{Limit: pageSize}
	if a := r.URL.Query().Get("after"); accountIDRe.MatchString(a) {
		pg.StartingAfter = a
	}
	// core checks the cursor names one of the app's users in this mode.
	l, err := c.cfg.Svc.ListUsers(r.Context(), b.caller(), "/v1/users", pg)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &accountUsersData{accountBase: b, Users: dataOf[*wire.User](l)}
	d.More = nextCursor(l.HasMore, len(d.Users), func(i int) string { return d.Users[i].ID })
	p.Title = p.T("acct_users") + " · " + b.App.Name
	c.render(w, p, http.StatusOK, "accounts_users", d)
}

// --- a user's page ---

type accountUserData struct {
	*accountBase
	U         *wire.User
	Txns      []*wire.BalanceTransaction
	Recharges []*wire.Recharge
	Bonuses   []*wire.BalanceBonus
	Transfers []*wire.BalanceTransfer
	Coupons   []*wire.Coupon
	// The lists had more than accountRecent entries.
	MoreTxns, MoreRecharges, MoreBonuses, MoreTransfers, MoreCoupons bool
}

// accountUser shows one user: 404 when the app has no such user in the
// page's mode.
func (c *Console) accountUser(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	id := r.PathValue("user")
	if !accountIDRe.MatchString(id) {
		c.fail(w, r, p, http.StatusNotFound, "not_found", "")
		return
	}
	ctx, who := r.Context(), b.caller()
	u, err := c.cfg.Svc.GetUser(ctx, who, id)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &accountUserData{accountBase: b}
	var ok bool
	if d.U, ok = u.(*wire.User); !ok {
		c.fail(w, r, p, http.StatusNotFound, "not_found", "")
		return
	}
	pg := store.Page{Limit: accountRecent}
	lists := []func() error{
		func() error {
			l, err := c.cfg.Svc.ListBalanceTxns(ctx, who, "/v1/balance_transactions", id, pg)
			d.Txns, d.MoreTxns = dataOf[*wire.BalanceTransaction](l), l.HasMore
			return err
		},
		func() error {
			l, err := c.cfg.Svc.ListRecharges(ctx, who, "/v1/recharges", id, pg)
			d.Recharges, d.MoreRecharges = dataOf[*wire.Recharge](l), l.HasMore
			return err
		},
		func() error {
			l, err := c.cfg.Svc.ListBonuses(ctx, who, "/v1/balance_bonuses", id, pg)
			d.Bonuses, d.MoreBonuses = dataOf[*wire.BalanceBonus](l), l.HasMore
			return err
		},
		func() error {
			l, err := c.cfg.Svc.ListBalanceTransfers(ctx, who, "/v1/balance_transfers", id, pg)
			d.Transfers, d.MoreTransfers = dataOf[*wire.BalanceTransfer](l), l.HasMore
			return err
		},
		func() error {
			l, err := c.cfg.Svc.ListCoupons(ctx, who, "/v1/coupons", id, "", nil, pg)
			d.Coupons, d.MoreCoupons = dataOf[*wire.Coupon](l), l.HasMore
			return err
		},
	}
	for _, f := range lists {
		if err := f(); err != nil {
			c.failErr(w, r, p, err)
			return
		}
	}
	p.Title = p.T("acct_user") + " " + d.U.ID
	c.render(w, p, http.StatusOK, "accounts_user", d)
}
