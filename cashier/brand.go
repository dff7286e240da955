package cashier

import (
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// Brand marks are polypay's own simple drawings (a coloured shape and the
// name), one SVG per payment brand in assets/brand; they are not the
// brands' logos. The marks are served as images (an <img> runs no script
// in an SVG) from polypay's origin, so the pages' img-src 'self' holds.

// genericCard is the mark of a card form that names no network.
const genericCard = "card"

// cardNetworks are the marks shown with the card form's channel: the
// networks a card processor takes.
var cardNetworks = []string{"visa", "mastercard", "unionpay", "amex", "jcb"}

// BrandOf is the mark of a channel: Apple Pay's for the Apple Pay
// channels of any family, else its family's; "" for an unknown channel.
func BrandOf(ch string) string {
	info, f := polypay.LookupChannel(ch)
	switch {
	case f == nil:
		return ""
	case info.Brand != "":
		return info.Brand
	}
	return f.Brand
}

// BrandMarks lists every mark the cashier serves (at /cashier/static/brand/<name>.svg).
func BrandMarks() []string {
	ents, _ := fs.ReadDir(assets, "assets/brand")
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".svg"); ok {
			out = append(out, name)
		}
	}
	return out
}

// brandPath is where a mark is served.
func brandPath(name string) string { return "/cashier/static/brand/" + name + ".svg" }

// imageCSP is the policy of the images polypay serves: opened on their
// own (a link, a new tab), an SVG may apply its inline styles and nothing
// else, no script, no fetch, no form.
const imageCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// brand serves a mark.
func (c *Cashier) brand(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("file"), ".svg")
	if !slices.Contains(BrandMarks(), name) || r.PathValue("file") != name+".svg" {
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile(path.Join("assets/brand", name+".svg"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	serveImage(w, "image/svg+xml", name+".svg", "public, max-age=3600", b)
}

// favicon serves polypay's mark as the pages' icon.
func (c *Cashier) favicon(w http.ResponseWriter, r *http.Request) {
	b, _ := assets.ReadFile("assets/brand/polypay.svg")
	serveImage(w, "image/svg+xml", "favicon.svg", "public, max-age=3600", b)
}

var logoFile = regexp.MustCompile(`^([0-9a-f]{64})\.(png|jpg)$`)

// logo serves a merchant's logo by its SHA-256: the bytes never change
// for a URL, so it is cached for good.
func (c *Cashier) logo(w http.ResponseWriter, r *http.Request) {
	m := logoFile.FindStringSubmatch(r.PathValue("file"))
	if m == nil {
		http.NotFound(w, r)
		return
	}
	var typ string
	var b []byte
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		typ, b, err = tx.CashierLogo(r.Context(), m[1])
		return err
	})
	if err != nil {
		c.cfg.Log.Error("cashier: reading a logo", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	if b == nil || core.LogoPath(&core.CashierLogo{SHA256: m[1], ContentType: typ}) != r.URL.Path {
		http.NotFound(w, r)
		return
	}
	serveImage(w, typ, "logo."+m[2], "public, max-age=31536000, immutable", b)
}

func serveImage(w http.ResponseWriter, typ, filename, cache string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Security-Policy", imageCSP)
	h.Set("Content-Disposition", `inline; filename="`+filename+`"`)
	h.Set("Cache-Control", cache)
	w.Write(b)
}

// networksOf are the paths of the card networks' marks for a card form
// channel, nil for others.
func networksOf(ch string) []string {
	var out []string
	for _, n := range cardNetworksOf(ch) {
		out = append(out, brandPath(n))
	}
	return out
}

// brand fills the merchant's name and logo and the layout from the app's
// settings and the client.
func (v *view) brand(cs *core.CashierSettings, ua string) {
	v.Merchant = cs.DisplayName
	if cs.Logo != nil {
		v.LogoURL = core.LogoPath(cs.Logo)
	}
	v.Phone = ClientKind(ua) != ClientDesktop
}
