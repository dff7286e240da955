package cashier

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// The shop's QR code page (收款码): the customer scans the printed code in
// any wallet; the page tells the wallet by its user agent, takes the amount
// (or shows the fixed one), asks the customer to confirm it, then makes the
// order for that wallet's channels and hands over to the hosted cashier,
// which pays through the wallet's in-app flow (wx_pub with WeChat's web
// authorization, Alipay's and UnionPay's mobile web payment).

type qrView struct {
	T        map[string]string
	Lang     string
	QR       *store.QRCode
	Active   bool
	Step     string // amount, confirm, closed
	Amount   int64
	Text     string
	Wallet   string
	Error    string
	Channels []string
}

// Orders a shop QR code may make: a counter takes at most about one
// payment a second, a customer a few a minute. Codes with max_uses are
// bounded by it instead.
const (
	qrCodeRate    = 1.0
	qrCodeBurst   = 20
	qrClientRate  = 6.0 / 60
	qrClientBurst = 6
)

// qrAllowed takes a token for an order from q by this client.
func (c *Cashier) qrAllowed(r *http.Request, q *store.QRCode) bool {
	if q.MaxUses > 0 {
		return true
	}
	return c.qrClients.Allow(q.ID+"|"+c.clientIP(r)) && c.qrOrders.Allow(q.ID)
}

func (c *Cashier) qrRoutes() {
	c.mux.HandleFunc("GET /qr/{file}", c.qrPage)
	c.mux.HandleFunc("POST /qr/{id}/confirm", c.qrConfirm)
	c.mux.HandleFunc("POST /qr/{id}/pay", c.qrPay)
}

// qrLoad reads the code a request names; 404 for an unknown one.
func (c *Cashier) qrLoad(w http.ResponseWriter, r *http.Request, id string) (*store.QRCode, bool, bool) {
	q, active, err := c.cfg.Svc.QRCodeForPage(r.Context(), id)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		http.Error(w, "404 not found", http.StatusNotFound)
		return nil, false, false
	}
	if err != nil {
		c.cfg.Log.Error("cashier: loading a QR code", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return nil, false, false
	}
	return q, active, true
}

func (c *Cashier) qrView(r *http.Request, q *store.QRCode, active bool) *qrView {
	l := lang(r)
	v := &qrView{T: texts[l], Lang: l, QR: q, Active: active, Step: "amount", Amount: q.Amount,
		Wallet: ClientKind(r.UserAgent()), Channels: ChannelsFor(core.CashierChannels(), r.UserAgent())}
	if !active {
		v.Step = "closed"
	}
	return v
}

// qrPage answers the page, or the code's image (.png, .svg).
func (c *Cashier) qrPage(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, ext, _ := strings.Cut(file, ".")
	q, active, ok := c.qrLoad(w, r, id)
	if !ok {
		return
	}
	switch ext {
	case "":
		c.render(w, http.StatusOK, "qr.html", c.qrView(r, q, active))
	case "png":
		png, err := qrcode.Encode(c.cfg.Svc.QRCodeURL(q.ID), qrcode.Medium, 512)
		if err != nil {
			http.Error(w, "500 internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Disposition", `inline; filename="`+q.ID+`.png"`)
		w.Write(png)
	case "svg":
		svg, err := qrSVG(c.cfg.Svc.QRCodeURL(q.ID))
		if err != nil {
			http.Error(w, "500 internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Content-Disposition", `inline; filename="`+q.ID+`.svg"`)
		w.Write(svg)
	default:
		http.Error(w, "404 not found", http.StatusNotFound)
	}
}

// qrSVG draws a QR code as SVG, one path of unit squares, for printing at
// any size.
func qrSVG(content string) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	bits := q.Bitmap()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, len(bits), len(bits))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, len(bits), len(bits))
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// qrAmount reads the amount posted for a QR code: the code's own when it
// is fixed, else the customer's, in yuan with at most two decimals.
func qrAmount(q *store.QRCode, s string) (int64, bool) {
	if q.Amount > 0 {
		return q.Amount, true
	}
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 8 || len(frac) > 2 {
		return 0, false
	}
	var n int64
	for _, c := range whole + (frac + "00")[:2] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n > 0 && n <= core.MaxAmount
}

// qrPost reads a QR page's form post and the code it names with its
// view; ok is false when it answered the request itself.
func (c *Cashier) qrPost(w http.ResponseWriter, r *http.Request) (*store.QRCode, bool, *qrView, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if r.ParseForm() != nil {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return nil, false, nil, false
	}
	q, active, ok := c.qrLoad(w, r, r.PathValue("id"))
	if !ok {
		return nil, false, nil, false
	}
	return q, active, c.qrView(r, q, active), true
}

// qrConfirm shows the amount for the customer to confirm.
func (c *Cashier) qrConfirm(w http.ResponseWriter, r *http.Request) {
	q, active, v, ok := c.qrPost(w, r)
	if !ok {
		return
	}
	if !active {
		c.render(w, http.StatusOK, "qr.html", v)
		return
	}
	amount, good := qrAmount(q, r.PostForm.Get("amount"))
	if !good {
		v.Error, v.Text = v.T["qr_bad_amount"], r.PostForm.Get("amount")
		c.render(w, http.StatusBadRequest, "qr.html", v)
		return
	}
	v.Step, v.Amount = "confirm", amount
	c.render(w, http.StatusOK, "qr.html", v)
}

// qrPay makes the order for the confirmed amount and hands over to the
// cashier. The amount charged is the one the customer confirmed: this
// form carries it, and a changed amount goes through qrConfirm again.
func (c *Cashier) qrPay(w http.ResponseWriter, r *http.Request) {
	q, active, v, ok := c.qrPost(w, r)
	if !ok {
		return
	}
	amount, good := qrAmount(q, r.PostForm.Get("amount"))
	if !active || !good || len(v.Channels) == 0 {
		v.Error = v.T["qr_bad_amount"]
		if !active || len(v.Channels) == 0 {
			v.Step, v.Error = "closed", ""
		}
		c.render(w, http.StatusBadRequest, "qr.html", v)
		return
	}
	if !c.qrAllowed(r, q) {
		v.Step, v.Error = "confirm", v.T["qr_busy"]
		v.Amount = amount
		w.Header().Set("Retry-After", "10")
		c.render(w, http.StatusTooManyRequests, "qr.html", v)
		return
	}
	o, err := c.cfg.Svc.PayQRCode(r.Context(), q.ID, amount, v.Channels)
	if err != nil {
		c.cfg.Log.Warn("cashier: QR code order", "qr_code", q.ID, "err", err)
		v.Step, v.Error = "closed", ""
		c.render(w, http.StatusBadRequest, "qr.html", v)
		return
	}
	http.Redirect(w, r, o.CashierURL, http.StatusSeeOther)
}
