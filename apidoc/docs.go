package apidoc

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed docs.html.tmpl
var pageSource string

//go:embed docs.css
var styleSheet []byte

// CSP allows the page's own stylesheet and nothing else: no script, no
// inline styles, no framing, no forms.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves GET /openapi.json, GET /docs and the page's stylesheet
// (GET /docs/style.css).
func Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /openapi.json", serveJSON)
	m.HandleFunc("GET /docs", serveDocs)
	m.HandleFunc("GET /docs/style.css", func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header())
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(styleSheet)
	})
	return m
}

func secure(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func serveJSON(w http.ResponseWriter, r *http.Request) {
	b, err := JSON()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	// Browser-based tools may read the reference from another origin; it
	// holds nothing private.
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}

func serveDocs(w http.ResponseWriter, r *http.Request) {
	b, err := renderedPage()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	secure(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// renderedPage is the reference page, rendered once from the document.
var renderedPage = sync.OnceValues(func() ([]byte, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	t, err := template.New("docs").Parse(pageSource)
	if err != nil {
		return nil, fmt.Errorf("apidoc: docs template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, buildPage(doc)); err != nil {
		return nil, fmt.Errorf("apidoc: rendering docs: %w", err)
	}
	return b.Bytes(), nil
})

// page is what the template shows.
type page struct {
	Title, Version, Description string
	Groups                      []group
	Schemas                     []schemaView
	Events                      []enumValue
	ErrorTypes                  []enumValue
	ErrorCodes                  string
	Channels                    []channelView
	Credentials                 []credentialView
}

type group struct {
	Tag        string
	Operations []operation
}

type operation struct {
	ID, Method, Path, Summary, Description string
	Params                                 []field
	Request                                string
	Responses                              []responseView
}

type field struct {
	Name, In, Type, Description string
	Required                    bool
}

type responseView struct{ Status, Description, Schema string }

type schemaView struct {
	Name, Type, Description string
	Fields                  []field
}

type enumValue struct{ Value, Description string }

type channelView struct{ Name, OrderNo, Extra, Credential string }

type credentialView struct {
	Family string
	Fields []string
}

var methodOrder = []string{"GET", "POST", "PUT", "DELETE", "OPTIONS"}

func buildPage(doc *openapi3.T) page {
	p := page{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	byTag := map[string][]operation{}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, path := range keys {
		item := paths[path]
		for _, m := range methodOrder {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], viewOperation(m, path, item, op))
		}
	}
	for _, t := range doc.Tags {
		if ops := byTag[t.Name]; len(ops) > 0 {
			p.Groups = append(p.Groups, group{Tag: t.Name, Operations: ops})
		}
	}
	p.Schemas = viewSchemas(doc.Components.Schemas)
	p.Events = enumOf(doc.Components.Schemas["EventType"])
	if e := doc.Components.Schemas["Error"]; e != nil && e.Value != nil {
		if inner := e.Value.Properties["error"]; inner != nil && inner.Value != nil {
			p.ErrorTypes = enumOf(inner.Value.Properties["type"])
			if c := inner.Value.Properties["code"]; c != nil && c.Value != nil {
				p.ErrorCodes = c.Value.Description
			}
		}
	}
	p.Channels = viewChannels(doc)
	p.Credentials = viewCredentials(doc)
	return p
}

func viewOperation(method, path string, item *openapi3.PathItem, op *openapi3.Operation) operation {
	o := operation{ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description}
	for _, ps := range [][]*openapi3.ParameterRef{item.Parameters, op.Parameters} {
		for _, pr := range ps {
			if pr == nil || pr.Value == nil {
				continue
			}
			v := pr.Value
			o.Params = append(o.Params, field{Name: v.Name, In: v.In, Type: typeName(v.Schema), Description: v.Description, Required: v.Required})
		}
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil {
			o.Request = typeName(mt.Schema)
		}
	}
	if op.Responses != nil {
		codes := make([]string, 0)
		for code := range op.Responses.Map() {
			codes = append(codes, code)
		}
		sort.Strings(codes) // "default" sorts after the numbers
		for _, code := range codes {
			rr := op.Responses.Value(code)
			rv := responseView{Status: code}
			if rr.Value != nil {
				if rr.Value.Description != nil {
					rv.Description = *rr.Value.Description
				}
				for _, ct := range []string{"application/json", "application/x-pem-file", "text/plain", "text/html"} {
					if mt := rr.Value.Content.Get(ct); mt != nil {
						rv.Schema = typeName(mt.Schema)
						break
					}
				}
			}
			o.Responses = append(o.Responses, rv)
		}
	}
	return o
}

func viewSchemas(schemas openapi3.Schemas) []schemaView {
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]schemaView, 0, len(names))
	for _, n := range names {
		s := schemas[n].Value
		if s == nil {
			continue
		}
		sv := schemaView{Name: n, Type: typeName(&openapi3.SchemaRef{Value: s}), Description: s.Description}
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		props := make([]string, 0, len(s.Properties))
		for pn := range s.Properties {
			props = append(props, pn)
		}
		sort.Strings(props)
		for _, pn := range props {
			pr := s.Properties[pn]
			d := ""
			if pr.Value != nil {
				d = pr.Value.Description
			}
			sv.Fields = append(sv.Fields, field{Name: pn, Type: typeName(pr), Description: d, Required: req[pn]})
		}
		out = append(out, sv)
	}
	return out
}

// typeName is a short type for a table cell: a referenced schema's name,
// else the JSON type(s), arrays by their items, constants by value.
func typeName(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if ref.Ref != "" {
		return ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
	}
	s := ref.Value
	if s == nil {
		return ""
	}
	if s.Const != nil {
		return fmt.Sprintf("%v", s.Const)
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 {
			names := make([]string, len(alts))
			for i, a := range alts {
				names[i] = typeName(a)
			}
			return strings.Join(names, " | ")
		}
	}
	var types []string
	if s.Type != nil {
		types = s.Type.Slice()
	}
	for i, t := range types {
		if t == "array" && s.Items != nil {
			types[i] = "array of " + typeName(s.Items)
		}
	}
	name := strings.Join(types, " | ")
	if len(s.Enum) > 0 && len(s.Enum) <= 8 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprintf("%v", e)
		}
		name += " (" + strings.Join(vals, ", ") + ")"
	}
	return name
}

// enumOf lists a string enum's values with the description's line for
// each ("- `value`: what it means").
func enumOf(ref *openapi3.SchemaRef) []enumValue {
	if ref == nil || ref.Value == nil {
		return nil
	}
	lines := map[string]string{}
	for _, l := range strings.Split(ref.Value.Description, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "- ")
		if v, d, ok := strings.Cut(l, ": "); ok {
			lines[strings.Trim(v, "`")] = d
		}
	}
	var out []enumValue
	for _, e := range ref.Value.Enum {
		v := fmt.Sprint(e)
		out = append(out, enumValue{Value: v, Description: lines[v]})
	}
	return out
}

// viewChannels reads x-channels on ChargeCreate, in the order of the
// ChannelName enum.
func viewChannels(doc *openapi3.T) []channelView {
	cc := doc.Components.Schemas["ChargeCreate"]
	names := doc.Components.Schemas["ChannelName"]
	if cc == nil || cc.Value == nil || names == nil || names.Value == nil {
		return nil
	}
	x, _ := cc.Value.Extensions["x-channels"].(map[string]any)
	var out []channelView
	for _, e := range names.Value.Enum {
		n := fmt.Sprint(e)
		m, _ := x[n].(map[string]any)
		out = append(out, channelView{Name: n, OrderNo: str(m["order_no"]), Extra: str(m["extra"]), Credential: str(m["credential"])})
	}
	return out
}

func viewCredentials(doc *openapi3.T) []credentialView {
	cs := doc.Components.Schemas["ChannelCredentials"]
	fams := doc.Components.Schemas["FamilyName"]
	if cs == nil || cs.Value == nil || fams == nil || fams.Value == nil {
		return nil
	}
	x, _ := cs.Value.Extensions["x-credentials"].(map[string]any)
	var out []credentialView
	for _, e := range fams.Value.Enum {
		f := fmt.Sprint(e)
		l, _ := x[f].([]any)
		cv := credentialView{Family: f}
		for _, v := range l {
			cv.Fields = append(cv.Fields, str(v))
		}
		out = append(out, cv)
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
