package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// page is what every template sees.
type page struct {
	Lang  string
	Title string
	User  *store.ConsoleUser
	Role  Role
	CSRF  string
	Flash string
	Error string
	Nav   string // the section the page belongs to
	Data  any
	// Script is the one static script a page runs, "" for none (only the
	// counter has one; its handler widens the page's policy for it).
	Script string

	c    *Console
	r    *http.Request
	sess *session
}

func (c *Console) newPage(w http.ResponseWriter, r *http.Request) *page {
	p := &page{Lang: pickLang(r), c: c, r: r}
	if l := r.URL.Query().Get("lang"); l == langZH || l == langEN {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/console/", MaxAge: 365 * 86400,
			HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
	}
	if k := r.URL.Query().Get("done"); k != "" {
		// Only known confirmations: the parameter must not inject text.
		switch k {
		case "saved", "resent", "resolved", "refund_done", "test_sent", "deleted", "unblocked", "review_approved", "review_rejected",
			"withdrawal_confirmed", "withdrawal_canceled":
			p.Flash = T(p.Lang, k)
			if ref := r.URL.Query().Get("ref"); idLike(ref) {
				p.Flash += ref
			}
		}
	}
	return p
}

// T translates.
func (p *page) T(key string) string { return T(p.Lang, key) }

// Can reports whether the user's role may take an action; templates show
// forms only then (the server checks again on POST).
func (p *page) Can(a string) bool { return p.Role.Can(Action(a)) }

// Amount formats minor units.
func (p *page) Amount(minor int64, currency string) string { return formatAmount(minor, currency) }

// Money formats minor units with the currency's sign: "¥1.43", "$10.00".
func (p *page) Money(minor int64, currency string) string { return formatMoney(minor, currency) }

// ChargeState names a charge's state for people: a paid charge refunded in
// part is "partially refunded", in full "refunded"; otherwise its status.
func (p *page) ChargeState(ch *polypay.Charge) string {
	captured := ch.AmountCaptured
	if captured == 0 {
		captured = ch.Amount
	}
	switch {
	case ch.AmountRefunded > 0 && ch.AmountRefunded < captured:
		return p.T("partially_refunded")
	case ch.AmountRefunded > 0 || ch.Refunded:
		return p.T("fully_refunded")
	}
	return string(ch.Status)
}

// Zone names the console's time zone ("UTC+08:00").
func (p *page) Zone() string { return zoneLabel(p.c.now().In(p.c.cfg.Location)) }

// LastDays is "Last n days".
func (p *page) LastDays(n string) string { return fmt.Sprintf(p.T("last_days"), n) }

// Time formats unix seconds in the console's zone; 0 is blank.
func (p *page) Time(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).In(p.c.cfg.Location).Format("2006-01-02 15:04:05")
}

// TimeOf formats a time.Time; zero is blank.
func (p *page) TimeOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.c.cfg.Location).Format("2006-01-02 15:04:05")
}

// LangURL is the current page in another language.
func (p *page) LangURL(l string) string {
	u := *p.r.URL
	q := u.Query()
	q.Set("lang", l)
	q.Del("done")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// Query is the current query string with key replaced (for pagination).
func (p *page) Query(key, value string) template.URL {
	q := p.r.URL.Query()
	q.Del("lang")
	q.Del("done")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	return template.URL(q.Encode()) // url.Values.Encode escapes every part
}

// Param is a query parameter of the current request.
func (p *page) Param(key string) string { return p.r.URL.Query().Get(key) }

// Mode names livemode.
func (p *page) Mode(live bool) string {
	if live {
		return p.T("live")
	}
	return p.T("test")
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{"dict": dict}).ParseFS(assets, "templates/layout.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, n))
	}
	return out
}

func (c *Console) render(w http.ResponseWriter, p *page, status int, name string, data any) {
	p.Data = data
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log().Error("console: rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// redirect after a POST (303, so a reload does not repeat it) to a console
// path with a confirmation key.
func redirectDone(w http.ResponseWriter, r *http.Request, to, done, ref string) {
	q := url.Values{"done": {done}}
	if ref != "" {
		q.Set("ref", ref)
	}
	http.Redirect(w, r, to+"?"+q.Encode(), http.StatusSeeOther)
}

// idLike accepts polypay ids (prefix_ + base62), nothing else.
func idLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return true
}

// dict builds a map for a sub-template from key, value pairs.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}
