package apidoc_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/apidoc"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/core"
)

// The reference's channel tables are written by hand; these tests hold
// them to the registered families, so a channel, credential field, order_no
// rule or event type added in code fails here until it is documented.

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := apidoc.Load()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func enum(t *testing.T, doc *openapi3.T, name string) []string {
	t.Helper()
	s := doc.Components.Schemas[name]
	if s == nil || s.Value == nil {
		t.Fatalf("no schema %s", name)
	}
	var out []string
	for _, v := range s.Value.Enum {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func sorted(l []string) string {
	l = append([]string(nil), l...)
	sort.Strings(l)
	return strings.Join(l, " ")
}

// nonFamily are the charge channels no family has, with their extra
// parameters: only balance (core.BalanceChannel), paid from an app user's
// balance by core itself, which takes extra.user (required) or a scanned
// payment code with its terminal.
var nonFamily = map[string][]polypay.ExtraParam{
	core.BalanceChannel: {{Name: "user", Required: true}, {Name: "scan_code"}, {Name: "terminal_id"}},
	core.IsvScanChannel: {{Name: "scan_code", Required: true}, {Name: "terminal_id", Required: true}},
}

func TestChannelsMatchFamilies(t *testing.T) {
	doc := load(t)
	var chans, fams []string
	for _, f := range channel.Families {
		fams = append(fams, f.Name)
		chans = append(chans, f.ChannelNames()...)
	}
	for ch := range nonFamily {
		if _, f := polypay.LookupChannel(ch); f != nil {
			t.Errorf("%s is in family %s: drop it from nonFamily", ch, f.Name)
		}
		chans = append(chans, ch)
	}
	if got, want := sorted(enum(t, doc, "ChannelName")), sorted(chans); got != want {
		t.Errorf("ChannelName enum = %s, want the registered channels %s", got, want)
	}
	if got, want := sorted(enum(t, doc, "FamilyName")), sorted(fams); got != want {
		t.Errorf("FamilyName enum = %s, want the registered families %s", got, want)
	}
	x, _ := doc.Components.Schemas["ChargeCreate"].Value.Extensions["x-channels"].(map[string]any)
	for _, ch := range chans {
		t.Run(ch, func(t *testing.T) {
			m, ok := x[ch].(map[string]any)
			if !ok {
				t.Fatalf("x-channels has no %s", ch)
			}
			r := polypay.OrderNoFor(ch)
			if got, want := fmt.Sprint(m["order_no"]), fmt.Sprintf("%d-%d", r.Min, r.Max); got != want {
				t.Errorf("x-channels.%s.order_no = %s, want %s", ch, got, want)
			}
			for _, k := range []string{"extra", "credential"} {
				if fmt.Sprint(m[k]) == "" || m[k] == nil {
					t.Errorf("x-channels.%s.%s is empty", ch, k)
				}
			}
			extra := extraRuleFor(doc, ch)
			if extra == nil {
				t.Fatalf("ChargeCreate has no if/then rule giving %s its Extra_ schema", ch)
			}
			info, _ := polypay.LookupChannel(ch)
			if extra, ok := nonFamily[ch]; ok {
				info.Extra = extra
			}
			var names, required []string
			for _, p := range info.Extra {
				names = append(names, p.Name)
				if p.Required {
					required = append(required, p.Name)
				}
			}
			var docNames []string
			for n := range extra.Properties {
				docNames = append(docNames, n)
			}
			if got, want := sorted(docNames), sorted(names); got != want {
				t.Errorf("%s's extra schema has [%s], the descriptor [%s]", ch, got, want)
			}
			if got, want := sorted(requiredOf(extra)), sorted(required); got != want {
				t.Errorf("%s's extra schema requires [%s], the descriptor [%s]", ch, got, want)
			}
		})
	}
	if len(x) != len(chans) {
		t.Errorf("x-channels has %d channels, the families and balance %d", len(x), len(chans))
	}
}

// requiredOf lists what a schema requires: its required list, and for
// anyOf alternatives ("source, or a customer") the first alternative's,
// which is what a descriptor marks Required (the parameter an error names
// when all are missing).
func requiredOf(s *openapi3.Schema) []string {
	out := append([]string(nil), s.Required...)
	if len(s.AnyOf) > 0 && s.AnyOf[0].Value != nil {
		out = append(out, s.AnyOf[0].Value.Required...)
	}
	return out
}

// extraRuleFor finds the Extra_ schema one of ChargeCreate's allOf
// if/then rules gives the channel.
func extraRuleFor(doc *openapi3.T, ch string) *openapi3.Schema {
	for _, r := range doc.Components.Schemas["ChargeCreate"].Value.AllOf {
		if r.Value == nil || r.Value.If == nil || r.Value.If.Value == nil || r.Value.Then == nil || r.Value.Then.Value == nil {
			continue
		}
		c := r.Value.If.Value.Properties["channel"]
		if c == nil || c.Value == nil {
			continue
		}
		names := append([]any{c.Value.Const}, c.Value.Enum...)
		for _, n := range names {
			if fmt.Sprint(n) != ch {
				continue
			}
			if x := r.Value.Then.Value.Properties["extra"]; x != nil {
				return x.Value
			}
		}
	}
	return nil
}

func TestCredentialsMatchFamilies(t *testing.T) {
	doc := load(t)
	x, _ := doc.Components.Schemas["ChannelCredentials"].Value.Extensions["x-credentials"].(map[string]any)
	for _, f := range channel.Families {
		t.Run(f.Name, func(t *testing.T) {
			var want []string
			for _, c := range f.Credentials {
				var notes []string
				if c.Secret {
					notes = append(notes, "secret")
				}
				if c.Required {
					notes = append(notes, "required")
				}
				s := c.Name
				if len(notes) > 0 {
					s += " (" + strings.Join(notes, ", ") + ")"
				}
				want = append(want, s)
			}
			l, _ := x[f.Name].([]any)
			var got []string
			for _, v := range l {
				got = append(got, fmt.Sprint(v))
			}
			if strings.Join(got, "; ") != strings.Join(want, "; ") {
				t.Errorf("x-credentials.%s = %q, want %q", f.Name, got, want)
			}
		})
	}
}

// TestEventTypesMatchCode reads the Event* constants of the root package's
// event.go.
func TestEventTypesMatchCode(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../event.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				want = append(want, s)
			}
		}
		return true
	})
	if len(want) == 0 {
		t.Fatal("found no Event constants in event.go")
	}
	if got := enum(t, load(t), "EventType"); sorted(got) != sorted(want) {
		t.Errorf("EventType enum = %s, want %s", sorted(got), sorted(want))
	}
}

// TestRoutesMatchServer reads the API's route table (api/server.go): every
// /v1/ route it serves must be in the document, and every /v1/ operation
// of the document must be served, so neither can change alone.
func TestRoutesMatchServer(t *testing.T) {
	// The route table is api/server.go plus the groups it delegates to
	// (e.g. api/risk.go's riskRoutes).
	files, err := filepath.Glob("../api/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	re := regexp.MustCompile(`m\.Handle(?:Func)?\("(GET|POST|PUT|DELETE|OPTIONS|PATCH) (/v1/[^"]*)"`)
	var served []string
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		served = append(served, m[1]+" "+m[2])
	}
	if len(served) < 40 {
		t.Fatalf("found only %d /v1/ routes in api/*.go: has the route table moved?", len(served))
	}
	var documented []string
	for path, item := range load(t).Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for m := range item.Operations() {
			documented = append(documented, m+" "+path)
		}
	}
	if got, want := sorted(documented), sorted(served); got != want {
		t.Errorf("documented /v1/ operations differ from the served ones:\n%s", diff(documented, served))
	}
}

func diff(documented, served []string) string {
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	for _, s := range served {
		if !in(documented, s) {
			fmt.Fprintf(&b, "served, not documented: %s\n", s)
		}
	}
	for _, s := range documented {
		if !in(served, s) {
			fmt.Fprintf(&b, "documented, not served: %s\n", s)
		}
	}
	return b.String()
}
