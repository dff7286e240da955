package polypay

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// catalogueDirs hold the errors that reach merchants through the API.
// Connector packages (channel/alipay, ...) are left out: their refusals
// travel as ChannelMessage, and their own wording reaches the generic
// fallback, which is still in the reply's language.
var catalogueDirs = []string{".", "api", "core", "vault", "store", "webhook", "reconcile", "channel", "credstore", "risk"}

// errorSources lists the literal formats and messages of application
// errors built in dir (not below it): polypay.ParamError / Errorf format
// arguments and Message fields of polypay.Error literals.
func errorSources(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		for name, f := range pkg.Files {
			inRoot := f.Name.Name == "polypay"
			ast.Inspect(f, func(n ast.Node) bool {
				for _, lit := range sourceLiterals(n, inRoot) {
					s, err := strconv.Unquote(lit.Value)
					if err == nil {
						out[s] = fmt.Sprintf("%s:%d", filepath.Base(name), fset.Position(lit.Pos()).Line)
					}
				}
				return true
			})
		}
	}
	return out
}

func isPolypay(e ast.Expr, inRoot bool, names ...string) bool {
	var got string
	switch x := e.(type) {
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && id.Name == "polypay" {
			got = x.Sel.Name
		}
	case *ast.Ident:
		if inRoot {
			got = x.Name
		}
	}
	for _, n := range names {
		if got == n {
			return true
		}
	}
	return false
}

func sourceLiterals(n ast.Node, inRoot bool) []*ast.BasicLit {
	var out []*ast.BasicLit
	add := func(e ast.Expr) {
		if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			out = append(out, bl)
		}
	}
	switch x := n.(type) {
	case *ast.CallExpr:
		if isPolypay(x.Fun, inRoot, "ParamError", "Errorf") && len(x.Args) >= 2 {
			add(x.Args[1])
		}
	case *ast.CompositeLit:
		if isPolypay(x.Type, inRoot, "Error") {
			for _, el := range x.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
						add(kv.Value)
					}
				}
			}
		}
	case *ast.ValueSpec:
		// const format = "..." beside NotFound.
		for i, id := range x.Names {
			if id.Name == "format" && i < len(x.Values) {
				add(x.Values[i])
			}
		}
	}
	return out
}

// TestCatalogCoversSources: every error an API reply can carry has its
// other-language text, so neither language falls back to the generic
// message for a known error.
func TestCatalogCoversSources(t *testing.T) {
	n := 0
	for _, dir := range catalogueDirs {
		for src, at := range errorSources(t, dir) {
			n++
			lang := LangZH
			if HasHan(src) {
				lang = LangEN
			}
			if _, ok := catalog[lang][src]; !ok {
				t.Errorf("%s/%s: %q has no %s entry in errtext_catalog.go", dir, at, src, lang)
			}
		}
	}
	if n < 150 {
		t.Fatalf("found only %d error sources: the scan is broken", n)
	}
	// Connectors: their Chinese checks of extra and credentials reach
	// merchants; their English ones are internal detail, and a source
	// that mixes languages renders generically in both.
	for _, dir := range connectorDirs {
		for src, at := range errorSources(t, dir) {
			if HasHan(src) && !Mixed(src) {
				if _, ok := catalog[LangEN][src]; !ok {
					t.Errorf("%s/%s: %q has no en entry in errtext_catalog.go", dir, at, src)
				}
			}
		}
	}
}

var connectorDirs = []string{"channel/alipay", "channel/wechatpay", "channel/unionpay", "channel/stripe", "channel/paypal", "channel/credkit"}

var verbRE = regexp.MustCompile(`%(\[(\d+)\])?[-+# 0]*\d*(\.\d+)?([a-zA-Z%])`)

// verbs maps argument index to verb, explicit indexes honoured.
func verbs(s string) map[int]string {
	out := map[int]string{}
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(s, -1) {
		if m[4] == "%" {
			continue
		}
		if m[2] != "" {
			next, _ = strconv.Atoi(m[2])
		}
		out[next] = m[4]
		next++
	}
	return out
}

func TestCatalogEntries(t *testing.T) {
	for lang, m := range catalog {
		for src, tr := range m {
			if fmt.Sprint(verbs(src)) != fmt.Sprint(verbs(tr)) {
				t.Errorf("%s %q: verbs %v, translation %q has %v", lang, src, verbs(src), tr, verbs(tr))
			}
			if !inLanguage(tr, lang) {
				t.Errorf("%s translation %q of %q is not plain %s", lang, tr, src, lang)
			}
			if lang == LangEN && Mixed(src) {
				t.Errorf("source %q mixes languages: the default reply would lose it", src)
			}
		}
	}
	for zh, en := range channelTexts {
		if !HasHan(zh) || HasHan(en) {
			t.Errorf("channel text %q → %q: want Chinese → English", zh, en)
		}
	}
}

func TestLocalized(t *testing.T) {
	edited := ParamError("amount", "参数 %s 无效", "amount")
	edited.Message = "amount 不对" // changed after construction: not the format's text any more
	tests := []struct {
		name   string
		err    *Error
		zh, en string
	}{
		{"ParamError", ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", 100),
			"amount 须为 1 到 100 之间的整数（单位：分）", "amount must be an integer between 1 and 100 (in minor units, e.g. fen)"},
		{"NotFound", NotFound("charge", "ch_1"), "未找到 charge : ch_1。", "No such charge: ch_1."},
		{"Literal", &Error{Code: EInvalid, Param: "body", Message: "请求体过大"}, "请求体过大", "the request body is too large"},
		{"Reordered", ParamError("labels", "%s 中的渠道 %q 不是收银台渠道（可用: %s）", "labels", "x", "alipay_qr"),
			`labels 中的渠道 "x" 不是收银台渠道（可用: alipay_qr）`, `channel "x" in labels is not a cashier channel (available: alipay_qr)`},
		{"NestedError", ParamError("extra", "extra 格式错误: %v", ParamError("extra[x]", "缺少参数: %s", "extra[x]")),
			"extra 格式错误: 缺少参数: extra[x]", "extra is malformed: missing parameter: extra[x]"},
		{"EnglishSource", Errorf(EInvalid, "app name must be 1-64 characters"), "应用名称须为 1-64 个字符", "app name must be 1-64 characters"},
		{"UnknownChinese", &Error{Code: EInvalid, Param: "foo", Message: "奇怪的错误"}, "奇怪的错误", "Invalid value for parameter foo."},
		{"UnknownEnglish", &Error{Code: ENotSupported, Message: "simulator: dial failed"}, "simulator: dial failed", "simulator: dial failed"},
		{"MixedSource", &Error{Code: EChannel, Message: "UnionPay has no pre-authorization ch_1 (查无此交易)"},
			"渠道无法处理该请求", "The payment channel could not process the request."},
		{"EditedMessage", edited, "amount 不对", "Invalid value for parameter amount."},
		{"HanArgument", ParamError("channel", "不支持的渠道: %s", "支付"), "不支持的渠道: 支付", "Invalid value for parameter channel."},
		{"ChannelKnown", &Error{Code: EChannel, ChannelCode: "ACQ.TRADE_NOT_EXIST", Message: "日账单只能下载今天以前的", ChannelMessage: "日账单只能下载今天以前的"},
			"日账单只能下载今天以前的", "The channel refused the request: daily bills can only be downloaded for days before today"},
		{"ChannelUnknown", &Error{Code: EChannel, ChannelCode: "X1", Message: "某个新错误", ChannelMessage: "某个新错误"},
			"某个新错误", "The channel refused the request (channel code X1); its own message, untranslated, is in channel_message"},
		{"ChannelEnglish", &Error{Code: EChannel, ChannelCode: "card_declined", Message: "Stripe: Your card was declined.", ChannelMessage: "Your card was declined."},
			"渠道拒绝了请求（渠道代码 card_declined），渠道原文见 channel_message", "The channel refused the request: Your card was declined."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Localized(LangZH); got != tt.zh {
				t.Errorf("zh: got %q, want %q", got, tt.zh)
			}
			if got := tt.err.Localized(LangEN); got != tt.en {
				t.Errorf("en: got %q, want %q", got, tt.en)
			}
			if got := tt.err.Localized(""); got != tt.zh {
				t.Errorf("default: got %q, want the zh %q", got, tt.zh)
			}
		})
	}
}

// TestLocalizedEveryCatalogueEntry renders every catalogued error in both
// languages with sample values: English has no Han, Chinese no English
// clause, whatever the code.
func TestLocalizedEveryCatalogueEntry(t *testing.T) {
	var keys []string
	for _, m := range catalog {
		for k := range m {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := verbs(k)
		args := make([]any, len(v))
		for i := range args {
			switch v[i+1] {
			case "d":
				args[i] = 42
			case "U":
				args[i] = rune(7)
			case "v":
				args[i] = errors.New("x1")
			default:
				args[i] = "p_1"
			}
		}
		for _, code := range []string{EInvalid, EChannel, ENotFound} {
			e := &Error{Code: code, Param: "p", Message: fmt.Sprintf(k, args...), Format: k, Args: args}
			if en := e.Localized(LangEN); HasHan(en) || strings.Contains(en, "%!") {
				t.Errorf("%q en: %q", k, en)
			}
			if zh := e.Localized(LangZH); !inLanguage(zh, LangZH) || strings.Contains(zh, "%!") {
				t.Errorf("%q zh: %q", k, zh)
			}
		}
	}
}

func TestGenericNamesParam(t *testing.T) {
	for lang, m := range genericText {
		for code, g := range m {
			if strings.Count(g[1], "%s") != 1 || strings.Contains(g[0], "%") || !inLanguage(g[0], lang) || !inLanguage(g[1], lang) {
				t.Errorf("%s %s: %q", lang, code, g)
			}
		}
		if len(m) != 9 {
			t.Errorf("%s: %d codes, want all 9", lang, len(m))
		}
	}
}
