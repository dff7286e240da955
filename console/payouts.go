package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// Payout pages: per app and mode, the transfers, batch transfers, red
// envelopes and batch refunds (newest first), a transfer's page with its
// timeline, a batch's page with its recipients, and the approval queue
// with the app's payout settings. They read the store as the other pages
// do: core's GetTransfer settles a pending test transfer with the
// simulator, which a page view must not do. Approving, canceling and the
// settings go through core, as the API would.

// payoutBase is what every payout page shows: the app, the mode, the tabs,
// and who the user ids on the page are.
type payoutBase struct {
	App  *polypay.App
	Live bool
	Mode string // "live" or "test"
	Tabs []riskTab
	// Other is the section in the other mode (a list: the object of a
	// detail page does not exist there).
	Other, OtherLabel string
	// emails names console users by id, for CreatedBy and ApprovedBy.
	emails map[string]string
}

// payoutSections are the payout tabs by path suffix and title key.
var payoutSections = []struct{ suffix, key string }{
	{"", "payouts_transfers"}, {"/batches", "payouts_batches"}, {"/red-envelopes", "payouts_red_envelopes"},
	{"/batch-refunds", "payouts_batch_refunds"}, {"/approvals", "payouts_approvals"},
}

// payoutPath is an app's payout page in a mode.
func payoutPath(appID, suffix, mode string) string {
	return "/console/apps/" + url.PathEscape(appID) + "/payouts" + suffix + "?mode=" + mode
}

// loadPayoutBase reads the app named by the path (404 when it does not
// exist; inApp has already refused other tenants') and the mode: the
// form's on a POST, the query's on a GET, live by default. section is the
// tab the page belongs to.
func (c *Console) loadPayoutBase(r *http.Request, p *page, section string) (*payoutBase, error) {
	ctx := r.Context()
	b := &payoutBase{Live: true, Mode: "live"}
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if b.App, err = tx.GetApp(ctx, r.PathValue("app")); err != nil {
			return err
		}
		b.emails, err = userEmails(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost {
		if b.Live, err = formMode(r); err != nil {
			return nil, err
		}
	} else {
		b.Live = r.URL.Query().Get("mode") != "test"
		payoutFlash(r, p)
	}
	other := "test"
	if !b.Live {
		b.Mode, other = "test", "live"
	}
	for _, s := range payoutSections {
		b.Tabs = append(b.Tabs, riskTab{Href: payoutPath(b.App.ID, s.suffix, b.Mode), Label: p.T(s.key), Current: s.suffix == section})
		if s.suffix == section {
			p.Title = p.T(s.key) + " · " + b.App.Name
			b.Other = payoutPath(b.App.ID, s.suffix, other)
		}
	}
	b.OtherLabel = p.T(other)
	p.Nav = "payouts"
	return b, nil
}

// caller is the app in the page's mode as core's caller.
func (b *payoutBase) caller() core.Caller {
	return core.Caller{App: b.App, Live: b.Live, RequestID: polypay.NewID("iar_")}
}

// Who names the author of a payout or its approval: "API" for the API, a
// console user's email, or the id of a user since deleted.
func (b *payoutBase) Who(id string) string {
	switch {
	case id == "":
		return ""
	case id == "api":
		return "API"
	case b.emails[id] != "":
		return b.emails[id]
	}
	return id
}

func userEmails(ctx context.Context, tx *store.Tx) (map[string]string, error) {
	us, err := tx.ListConsoleUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(us))
	for _, u := range us {
		out[u.ID] = u.Email
	}
	return out, nil
}

// payoutPage reads the page's cursor (?after=, an id of the list) into a
// store page.
func payoutPage(r *http.Request) store.Page {
	pg := store.Page{Limit: pageSize}
	if a := r.URL.Query().Get("after"); idLike(a) {
		pg.StartingAfter = a
	}
	return pg
}

// --- recipients ---

// payee is how a transfer's recipient is shown: the account (never a full
// card number) and the name its channel was given.
type payee struct {
	Account, Name string
}

// payeeOf reads a transfer's payee. A UnionPay transfer's card number is
// in extra, which core keeps masked (its plain value is sealed); it is
// masked again here, as is any recipient that looks like a card number,
// so that a full number never reaches a page whatever stored it.
func payeeOf(t *polypay.Transfer) payee {
	var x struct {
		Card     string `json:"card_number"`
		Name     string `json:"recipient_name"`
		UserName string `json:"user_name"`
	}
	_ = json.Unmarshal(t.Extra, &x) // the connector checked it when it was made
	acct := t.Recipient
	if acct == "" {
		acct = x.Card
	}
	if t.Channel == "unionpay" || (cardLike(acct) && !alipayUserID(t.Channel, acct)) {
		acct = maskCard(acct)
	}
	name := x.Name
	if name == "" {
		name = x.UserName
	}
	return payee{Account: acct, Name: name}
}

// cardLike: 13 to 19 digits, a payment card number's shape (a phone
// number has 11).
func cardLike(s string) bool {
	if len(s) < 13 || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// alipayUserID: an Alipay user id (2088 and 12 digits), which has a card
// number's shape but names an Alipay account.
func alipayUserID(channel, s string) bool {
	return channel == "alipay" && len(s) == 16 && strings.HasPrefix(s, "2088")
}

// maskCard keeps the first six and last four characters of a card
// number, as core's mask does; one already masked (at most ten digits
// left) is kept as it is.
func maskCard(s string) string {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	rs := []rune(s)
	switch {
	case strings.Contains(s, "*") && digits <= 10:
		return s
	case len(rs) <= 10:
		return strings.Repeat("*", len(rs))
	}
	return string(rs[:6]) + strings.Repeat("*", len(rs)-10) + string(rs[len(rs)-4:])
}

// --- the payouts entry page ---

// appQueue is an app with the number of its payouts waiting for approval
// in each mode.
type appQueue struct {
	App        *polypay.App
	Live, Test int
}

// payoutsIndex is the top navigation's entry to the payout pages: the
// user's apps, each with what waits for approval in each mode.
func (c *Console) payoutsIndex(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	var rows []appQueue
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		apps, err := tx.ListApps(ctx)
		if err != nil {
			return err
		}
		for _, a := range apps {
			if !p.Sees(a.ID) {
				continue
			}
			q := appQueue{App: a}
			for _, n := range []struct {
				live bool
				dst  *int
			}{{true, &q.Live}, {false, &q.Test}} {
				ts, bs, _, err := scheduledPayouts(ctx, tx, a.ID, n.live)
				if err != nil {
					return err
				}
				*n.dst = len(ts) + len(bs)
			}
			rows = append(rows, q)
		}
		return nil
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T("payouts"), "payouts"
	c.render(w, p, http.StatusOK, "payouts_index", rows)
}
