package console

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The withdrawals page: an app's withdrawals in a mode by status, those
// awaiting the merchant's confirmation first (status created). Finance
// and owners (ActApprovePayout) confirm one, which pays it out through
// the transfer engine, or cancel it, which gives the amount back; both go
// through core as PUT /v1/apps/{app}/withdrawals/{id} does.

var withdrawalStatuses = []string{string(polypay.WithdrawalCreated), string(polypay.WithdrawalPending),
	string(polypay.WithdrawalSucceeded), string(polypay.WithdrawalFailed), string(polypay.WithdrawalCanceled)}

type withdrawalsData struct {
	*accountBase
	Status      string
	Statuses    []string
	Withdrawals []*wire.Withdrawal
	More        string
}

// WithdrawalsHref is the withdrawals page of a status in the page's mode.
func (b *accountBase) WithdrawalsHref(status string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/withdrawals?mode=" + b.Mode + "&status=" + status
}

func (c *Console) withdrawals(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	status := r.URL.Query().Get("status")
	if !slices.Contains(withdrawalStatuses, status) {
		status = string(polypay.WithdrawalCreated)
	}
	pg := store.Page{Limit: pageSize}
	if a := r.URL.Query().Get("after"); idLike(a) {
		pg.StartingAfter = a
	}
	l, err := c.cfg.Svc.ListWithdrawals(r.Context(), b.caller(), "/v1/withdrawals", "", status, pg)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &withdrawalsData{accountBase: b, Status: status, Statuses: withdrawalStatuses, Withdrawals: dataOf[*wire.Withdrawal](l)}
	d.More = nextCursor(l.HasMore, len(d.Withdrawals), func(i int) string { return d.Withdrawals[i].ID })
	p.Title = p.T("acct_withdrawals") + " · " + b.App.Name
	c.render(w, p, http.StatusOK, "withdrawals", d)
}

// withdrawalDecide confirms or cancels a withdrawal awaiting confirmation;
// core refuses (400) one in any other status, and another app's or mode's
// is not found (404).
func (c *Console) withdrawalDecide(confirm bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		b, err := c.loadAccountBase(r, p)
		id := r.PathValue("id")
		if err == nil && confirm {
			_, err = c.cfg.Svc.ConfirmWithdrawal(r.Context(), b.caller(), id, nil)
		} else if err == nil {
			_, err = c.cfg.Svc.CancelWithdrawal(r.Context(), b.caller(), id, nil)
		}
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		done := "withdrawal_canceled"
		if confirm {
			done = "withdrawal_confirmed"
		}
		c.log().Info("console: "+done, "user", p.User.ID, "app", b.App.ID, "live", b.Live, "withdrawal", id)
		http.Redirect(w, r, b.WithdrawalsHref(string(polypay.WithdrawalCreated))+"&done="+done+"&ref="+url.QueryEscape(id), http.StatusSeeOther)
	}
}
