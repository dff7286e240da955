package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// The counter page watches payments arrive: its script (the only console
// page that runs one) asks the feed every two seconds for the app's
// latest paid charges in the page's mode, each with where it came from (a
// shop QR code's label, this counter, or online), and for the charge the
// cashier is waiting on. The page also offers the camera to read a code
// where the browser has a barcode detector.

// counterCSP is the console's policy plus the counter's own script, its
// feed requests and the camera's stream.
const counterCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; media-src 'self' blob:; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// counterFeedSize bounds the feed: the latest paid charges of the last
// twelve hours.
const (
	counterFeedSize   = 20
	counterFeedWindow = 12 * 3600
)

type feedPayment struct {
	ID      string `json:"id"`
	Amount  string `json:"amount"`
	Channel string `json:"channel"`
	Source  string `json:"source"`
	Time    string `json:"time"`
	Href    string `json:"href"`
}

type feedCharge struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Paid    bool   `json:"paid"`
	Failure string `json:"failure,omitempty"`
}

type counterFeed struct {
	Payments []feedPayment `json:"payments"`
	Charge   *feedCharge   `json:"charge,omitempty"`
}

// counterFeedJSON answers the counter script's poll.
func (c *Console) counterFeedJSON(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	feed := counterFeed{Payments: []feedPayment{}}
	err = c.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		if err := c.fillFeed(r.Context(), tx, b, p, &feed); err != nil {
			return err
		}
		id := r.URL.Query().Get("charge")
		if id == "" || !idLike(id) {
			return nil
		}
		ch, err := tx.GetCharge(r.Context(), b.App.ID, b.Live, id)
		if err != nil {
			return err
		}
		feed.Charge = &feedCharge{ID: ch.ID, Status: string(ch.Status), Paid: ch.Paid(), Failure: ch.FailureMsg}
		return nil
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(feed)
}

func (c *Console) fillFeed(ctx context.Context, tx *store.Tx, b *accountBase, p *page, feed *counterFeed) error {
	paid, since := true, c.now().Unix()-counterFeedWindow
	chs, _, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: b.App.ID, Live: b.Live, Paid: &paid, CreatedGTE: &since, Limit: counterFeedSize})
	if err != nil {
		return err
	}
	labels := map[string]string{}
	for _, ch := range chs {
		feed.Payments = append(feed.Payments, feedPayment{ID: ch.ID, Amount: formatMoney(ch.Amount, ch.Currency), Channel: ch.Channel,
			Source: c.feedSource(ctx, tx, b, p, ch, labels), Time: p.Time(ch.TimePaid),
			Href: "/console/charges/" + url.PathEscape(ch.ID)})
	}
	return nil
}

// feedSource names where a payment came from: its shop QR code's label
// (read once per feed), the counter, or online.
func (c *Console) feedSource(ctx context.Context, tx *store.Tx, b *accountBase, p *page, ch *polypay.Charge, labels map[string]string) string {
	var md struct {
		QRCode  string `json:"qr_code"`
		Counter string `json:"counter"`
	}
	json.Unmarshal(ch.Metadata, &md)
	switch {
	case md.QRCode != "":
		label, ok := labels[md.QRCode]
		if !ok {
			if q, err := tx.GetQRCode(ctx, b.App.ID, b.Live, md.QRCode); err == nil {
				label = q.Label
			}
			if label == "" {
				label = p.T("counter_src_qr")
			}
			labels[md.QRCode] = label
		}
		return label
	case md.Counter != "":
		return p.T("counter_src_counter")
	}
	return p.T("counter_src_online")
}

// counterCancel reverses a payment-code charge still waiting for the
// customer (Ping++'s reverse): the channel is asked first, and a charge
// found paid is not reversed (the result page offers its refund).
func (c *Console) counterCancel(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	id := r.PostForm.Get("charge")
	if !idLike(id) {
		c.fail(w, r, p, http.StatusBadRequest, "not_found", "")
		return
	}
	if _, err := c.cfg.Svc.Reverse(r.Context(), b.caller(), id); err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: counter cancel", "user", p.User.ID, "app", b.App.ID, "live", b.Live, "charge", id)
	http.Redirect(w, r, b.counterPath("")+"&charge="+url.QueryEscape(id), http.StatusSeeOther)
}
