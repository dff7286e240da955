package simkit

import (
	"context"
	"html/template"
	"net/http"
)

// Mandates serves a simulated wallet's page of the payer's debit
// agreements (Alipay's 自动扣款协议, WeChat's 自动扣费服务): the list,
// ?<Param>=… shows one with its facts and, while it is in force, a
// terminate button (id="unsign") that ends it as the payer would in the
// app (End, which notifies the merchant).
type Mandates struct {
	Title   string // the page's title and heading
	Color   string // the wallet's brand colour (CSS)
	Page    string // the page's path relative to itself ("agreements")
	Param   string // the id's query and form parameter ("agreement_no")
	Button  string // the terminate button's label
	Note    string // the footnote
	Unknown string // the message for an id the wallet does not know
	Ended   string // the message once ended
	List    func() []Mandate
	One     func(id string) *Mandate
	End     func(ctx context.Context, m *Mandate) error
}

// Mandate is one agreement as the wallet shows it.
type Mandate struct {
	ID     string
	Active bool
	Facts  []Fact   // shown on its own page; empty values are left out
	Cells  []string // its list row after the id
}

// Fact is one labelled value, in an element with id ID.
type Fact struct{ Label, ID, Value string }

// Facts makes facts of label, id, value triples.
func Facts(triples ...string) []Fact {
	out := make([]Fact, 0, len(triples)/3)
	for i := 0; i+2 < len(triples); i += 3 {
		out = append(out, Fact{Label: triples[i], ID: triples[i+1], Value: triples[i+2]})
	}
	return out
}

type mandatesView struct {
	*Mandates
	Message string
	One     *Mandate
	List    []Mandate
}

func (m *Mandates) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get(m.Param)
		if id == "" {
			m.render(w, http.StatusOK, mandatesView{List: m.List()})
			return
		}
		m.show(w, id, "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("action") != "unsign" {
			m.render(w, http.StatusBadRequest, mandatesView{Message: "未知的操作"})
			return
		}
		one := m.One(r.PostForm.Get(m.Param))
		if one == nil {
			m.render(w, http.StatusNotFound, mandatesView{Message: m.Unknown})
			return
		}
		if err := m.End(r.Context(), one); err != nil {
			m.render(w, http.StatusConflict, mandatesView{Message: err.Error(), One: one})
			return
		}
		m.show(w, one.ID, m.Ended)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	}
}

func (m *Mandates) show(w http.ResponseWriter, id, msg string) {
	one := m.One(id)
	if one == nil {
		m.render(w, http.StatusNotFound, mandatesView{Message: m.Unknown})
		return
	}
	m.render(w, http.StatusOK, mandatesView{Message: msg, One: one})
}

func (m *Mandates) render(w http.ResponseWriter, status int, v mandatesView) {
	v.Mandates = m
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = mandatesTmpl.Execute(w, v)
}

var mandatesTmpl = template.Must(template.New("mandates").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:{{.Color}}}
dl,table{font-size:.85rem;color:#555}dt{float:left;clear:left;width:8rem}dd{margin-left:8rem}
td{padding:.2rem .5rem .2rem 0}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:1px solid {{.Color}};background:#fff;color:{{.Color}}}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Message}}<p id="message">{{.}}</p>
{{end}}{{$m := .Mandates}}{{with .One}}<dl>{{range .Facts}}{{if .Value}}<dt>{{.Label}}</dt><dd id="{{.ID}}">{{.Value}}</dd>
{{end}}{{end}}</dl>
{{if .Active}}<form method="post" action="{{$m.Page}}">
<input type="hidden" name="{{$m.Param}}" value="{{.ID}}">
<button id="unsign" type="submit" name="action" value="unsign">{{$m.Button}}</button>
</form>
{{end}}<p><a href="{{$m.Page}}">全部协议（all）</a></p>
{{else}}<form method="get" action="{{$m.Page}}"><input name="{{$m.Param}}" placeholder="{{$m.Param}}" size="24"> <button type="submit">查看 View</button></form>
<table>{{range .List}}<tr><td><a href="{{$m.Page}}?{{$m.Param}}={{.ID}}">{{.ID}}</a></td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}<p class="note">{{.Note}}</p>
</body>
</html>
`))
