package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

func TestCheckJSON(t *testing.T) {
	many := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
		}
		b.WriteString(last + "}")
		return b.String()
	}
	tests := []struct {
		name string
		in   string
		dup  bool
		path string // "" means no problem
	}{
		{"OKEmpty", `{}`, false, ""},
		{"OKFlat", `{"amount":100,"subject":"s"}`, false, ""},
		{"OKSameKeyInSiblings", `{"a":{"x":1},"b":{"x":1}}`, false, ""},
		{"OKSameKeyNested", `{"x":{"x":{"x":1}}}`, false, ""},
		{"OKSameKeyInArrayElements", `{"a":[{"k":1},{"k":2}]}`, false, ""},
		{"OKCaseDiffers", `{"A":1,"a":1}`, false, ""},
		{"OKKeyLikeEscape", `{"\\u0061":1,"a":3}`, false, ""},
		{"ErrEscapedBackslash", `{"\\u0061":1,"\u005cu0061":2}`, true, `\u0061`},
		{"OKLargeObject", many(1000, `"z":1`), false, ""},
		{"OKStringsLookLikeKeys", `{"a":"\"a\":1","b":["a","a"]}`, false, ""},
		{"OKSurrogatePair", `{"s":"\ud83d\ude00","\uD83D\uDE00":1}`, false, ""},
		{"OKReplacementChar", `{"s":"\ufffd�"}`, false, ""},
		{"ErrTopLevel", `{"amount":100,"amount":1}`, true, "amount"},
		{"ErrTopLevelSpaced", "{ \"amount\" : 100 ,\n\t\"amount\" : 1 }", true, "amount"},
		{"ErrEscapedSame", `{"amount":100,"\u0061mount":1}`, true, "amount"},
		{"ErrEscapedSlash", `{"a/b":1,"a\/b":2}`, true, "a/b"},
		{"ErrNonASCII", `{"金额":1,"\u91d1\u989d":2}`, true, "金额"},
		{"ErrNested", `{"extra":{"foo":1,"bar":2,"foo":3}}`, true, "extra[foo]"},
		{"ErrInArray", `{"accounts":[{"a":1},{"weight":1,"weight":0}]}`, true, "accounts[1][weight]"},
		{"ErrDeep", `{"a":[[{"b":{"c":[1,{"d":1,"d":1}]}}]]}`, true, "a[0][0][b][c][1][d]"},
		{"ErrAfterNestedSameKey", `{"x":{"x":1},"x":2}`, true, "x"},
		{"ErrLargeObject", many(1000, `"k999":1`), true, "k999"},
		{"ErrLargeObjectFirstKey", many(40, `"k0":1`), true, "k0"},
		{"ErrAtSwitchToSet", many(16, `"k3":1`), true, "k3"},
		{"ErrEmptyKey", `{"":1,"":2}`, true, ""},
		{"ErrTopArray", `[{"a":1,"a":2}]`, true, "[0][a]"},
		{"ErrInvalidUTF8Value", "{\"subject\":\"a\xffb\"}", false, "subject"},
		{"ErrInvalidUTF8Key", "{\"extra\":{\"a\xff\":1}}", false, "extra[a\ufffd]"},
		{"ErrLoneHigh", `{"subject":"a\ud800"}`, false, "subject"},
		{"ErrLoneHighThenChar", `{"subject":"\ud800a"}`, false, "subject"},
		{"ErrHighHigh", `{"subject":"\ud800\ud800\udc00"}`, false, "subject"},
		{"ErrLoneLow", `{"subject":"\udc00"}`, false, "subject"},
		{"ErrHighThenEscape", `{"subject":"\ud800\n"}`, false, "subject"},
		{"ErrInArrayValue", `{"l":["ok","\udfff"]}`, false, "l[1]"},
		{"ErrDupBeforeInvalidValue", `{"a":1,"a":"\ud800"}`, true, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.in)) {
				t.Fatalf("test input is not JSON: %s", tc.in)
			}
			p := checkJSON([]byte(tc.in))
			if tc.name[:2] == "OK" {
				if p != nil {
					t.Fatalf("checkJSON = %+v, want nothing", *p)
				}
				return
			}
			if p == nil || p.dup != tc.dup || p.path != tc.path {
				t.Fatalf("checkJSON = %+v, want dup=%v path %q", p, tc.dup, tc.path)
			}
			if ref := refCheckJSON([]byte(tc.in)); ref == nil || *ref != *p {
				t.Fatalf("reference says %+v", ref)
			}
		})
	}
}

// TestParseBodyRefused: what parseBody refuses, with the parameter it
// names; every API body goes through it.
func TestParseBodyRefused(t *testing.T) {
	long := strings.Repeat("长", 200)
	tests := []struct {
		name, in, param, msg string
	}{
		{"ErrRepeated", `{"amount":100,"amount":1}`, "amount", "重复"},
		{"ErrRepeatedNested", `{"extra":{"foo":1,"foo":2}}`, "extra[foo]", "重复"},
		{"ErrRepeatedCardNumber", `{"card":{"4242424242424242":1,"4242424242424242":2}}`, "card[***]", "重复"},
		{"ErrRepeatedLongKey", `{"` + long + `":1,"` + long + `":2}`, strings.Repeat("长", 42) + "…", "重复"},
		{"ErrInvalidUTF8", "{\"subject\":\"\xc3\"}", "subject", "UTF-8"},
		{"ErrInvalidUTF8Syntax", "{\"a\":1,\xff}", "", "UTF-8"},
		{"ErrTrailingBrace", `{"amount":1}}`, "", "多余"},
		{"ErrTrailingBracket", `{"amount":1}]`, "", "多余"},
		{"ErrTrailingValue", `{"amount":1} {"amount":2}`, "", "多余"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseBody([]byte(tc.in))
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.param || !strings.Contains(pe.Message, tc.msg) {
				t.Fatalf("parseBody = %v, want EInvalid on %q saying %q", err, tc.param, tc.msg)
			}
		})
	}
}

// TestBodyText: one-line parameters refuse every control character,
// multi-line ones (body, description, metadata values) allow tab, LF and CR.
func TestBodyText(t *testing.T) {
	base := func(k, v string) []byte {
		m := map[string]any{"order_no": "A1", "app": map[string]any{"id": "app_x"}, "channel": "alipay_qr", "amount": 1,
			"client_ip": "::1", "currency": "cny", "subject": "s", "body": "b"}
		var raw json.RawMessage = []byte(v)
		m[k] = raw
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name, key, value, param string // param "" means accepted
	}{
		{"ErrSubjectNUL", "subject", `"a\u0000"`, "subject"},
		{"ErrSubjectUS", "subject", `"a\u001f"`, "subject"},
		{"ErrSubjectTab", "subject", `"a\t"`, "subject"},
		{"ErrSubjectLF", "subject", `"a\n"`, "subject"},
		{"ErrSubjectDEL", "subject", "\"a\x7f\"", "subject"},
		{"ErrSubjectC1First", "subject", `"a\u0080"`, "subject"},
		{"ErrSubjectC1Last", "subject", "\"a\u009f\"", "subject"},
		{"ErrBodyNUL", "body", `"a\u0000b"`, "body"},
		{"ErrBodyVT", "body", `"a\u000bb"`, "body"},
		{"ErrBodyFF", "body", `"a\fb"`, "body"},
		{"ErrBodyDEL", "body", `"a\u007fb"`, "body"},
		{"ErrBodyC1", "body", `"a\u0085b"`, "body"},
		{"ErrDescriptionESC", "description", `"a\u001b[0m"`, "description"},
		{"ErrChannelNUL", "channel", `"alipay_qr\u0000"`, "channel"},
		{"ErrMetadataValue", "metadata", `{"n":"a\u0000"}`, "metadata[n]"},
		{"ErrMetadataKey", "metadata", `{"n\t":"a"}`, "metadata[n\t]"},
		{"OKSubjectNBSPAndWide", "subject", `"a\u00a0b\u3000c"`, ""},
		{"OKSubjectLatin1", "subject", `"é\u00ff"`, ""},
		{"OKBodyLines", "body", `"a\r\nb\tc"`, ""},
		{"OKDescriptionLines", "description", `"a\nb"`, ""},
		{"OKMetadataLines", "metadata", `{"n":"a\nb","m":1,"o":null}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseChargeParams(base(tc.key, tc.value))
			if tc.param == "" {
				if err != nil {
					t.Fatalf("parseChargeParams: %v, want accepted", err)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.param {
				t.Fatalf("parseChargeParams = %v, want EInvalid on %q", err, tc.param)
			}
		})
	}
}

// TestCheckJSONAllocations: the checker stays allocation-light on a
// typical charge body: its two stacks, nothing per key or per string.
func TestCheckJSONAllocations(t *testing.T) {
	body := []byte(`{"order_no":"A1","app":{"id":"app_x"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1",` +
		`"currency":"cny","subject":"商品","body":"b","extra":{"a":[{"b":1},{"c":"d"}]},"metadata":{"k":"v","l":"w"}}`)
	if p := checkJSON(body); p != nil {
		t.Fatalf("checkJSON = %+v", *p)
	}
	if n := testing.AllocsPerRun(100, func() { checkJSON(body) }); n > 2 {
		t.Fatalf("%v allocations per check, want at most 2", n)
	}
}

// FuzzCheckJSON: on any JSON text, checkJSON finds the same first problem
// as a reference built another way (encoding/json's token stream for keys
// and structure, a UTF-16 decoding for strings); on anything else it does
// not panic. parseBody never reports anything but a parameter error, and a
// charge it accepts has no repeated key and clean text.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"amount":100,"amount":1}`, `{"a":{"x":1},"b":{"x":1}}`, `{"a":[{"k":1},{"k":1,"k":2}]}`,
		`{"amount":1,"\u0061mount":2}`, `{"s":"\ud83d\ude00","t":"\ud800"}`, "{\"s\":\"\xff\"}", `[{"a":1,"a":2}]`,
		`{"k0":1,"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"ka":1,"kb":1,"kc":1,"kd":1,"ke":1,"kf":1,"kg":1,"k5":1}`,
		`{"a":1}}`, `"\udc00"`, `{"a":[1,2,{"b":null,"c":true,"d":false,"e":-1.5e3}]}`,
		`{"order_no":"A1","app":{"id":"app_x"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1","currency":"cny","subject":"s","body":"b\tc","description":"d\n"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := checkJSON(data)
		if _, err := parseBody(data); err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("parseBody error %v is not a parameter error", err)
		}
		if p, err := parseChargeParams(data); err == nil {
			if got != nil {
				t.Fatalf("charge accepted despite %+v", *got)
			}
			for _, f := range []struct {
				name string
				s    string
				kind polypay.Text
			}{{"subject", p.Subject, polypay.Line}, {"body", p.Body, polypay.Lines}, {"description", p.Description, polypay.Lines}} {
				if err := polypay.CheckText(f.name, f.s, f.kind); err != nil {
					t.Fatalf("charge accepted with %v", err)
				}
			}
		}
		if !json.Valid(data) {
			return
		}
		want := refCheckJSON(data)
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Fatalf("checkJSON = %+v, reference = %+v", got, want)
		}
	})
}

// refCheckJSON is checkJSON by another road, for valid JSON only.
func refCheckJSON(data []byte) *jsonProblem {
	type frame struct {
		obj     bool
		keys    map[string]bool
		key     string
		index   int
		wantKey bool
	}
	var stack []*frame
	path := func() string {
		var parts []string
		for n, f := range stack {
			p := strconv.Itoa(f.index)
			if f.obj {
				p = f.key
			}
			if n == 0 && f.obj {
				parts = append(parts, p)
			} else {
				parts = append(parts, "["+p+"]")
			}
		}
		return strings.Join(parts, "")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a valid number too large for float64 is still valid JSON
	var prev int64
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			panic(err) // valid JSON only
		}
		raw := data[prev:dec.InputOffset()]
		prev = dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.obj && top.wantKey {
			k := tok.(string)
			top.key, top.wantKey = k, false
			if !refValidString(raw[bytes.IndexByte(raw, '"'):]) {
				return &jsonProblem{path: path()}
			}
			if top.keys[k] {
				return &jsonProblem{dup: true, path: path()}
			}
			top.keys[k] = true
			continue
		}
		if top != nil && !top.obj {
			top.index++
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, &frame{obj: v == '{', keys: map[string]bool{}, index: -1, wantKey: v == '{'})
			continue
		case string:
			if !refValidString(raw[bytes.IndexByte(raw, '"'):]) {
				return &jsonProblem{path: path()}
			}
		}
		if top != nil && top.obj {
			top.wantKey = true
		}
	}
}

// refValidString decodes a JSON string's raw text into UTF-16 code units
// and reports whether they are valid UTF-16 from valid UTF-8.
func refValidString(raw []byte) bool {
	s := raw[1 : len(raw)-1]
	var units []uint16
	for i := 0; i < len(s); {
		if s[i] == '\\' {
			if s[i+1] == 'u' {
				v, _ := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
				units = append(units, uint16(v))
				i += 6
			} else {
				units = append(units, uint16(s[i+1]))
				i += 2
			}
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		units = utf16.AppendRune(units, r)
		i += size
	}
	for i := 0; i < len(units); i++ {
		if u := rune(units[i]); utf16.IsSurrogate(u) {
			if u < 0xdc00 && i+1 < len(units) && units[i+1] >= 0xdc00 && units[i+1] < 0xe000 {
				i++
				continue
			}
			return false
		}
	}
	return true
}

// BenchmarkCheckJSON: a charge body, and a 1 MiB object of distinct keys
// (the linear case a quadratic checker would choke on).
func BenchmarkCheckJSON(b *testing.B) {
	var big strings.Builder
	big.WriteString(`{"k":1`)
	for i := 0; big.Len() < MaxBody-32; i++ {
		big.WriteString(`,"k` + strconv.Itoa(i) + `":1`)
	}
	big.WriteString("}")
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"Charge", []byte(`{"order_no":"A1","app":{"id":"app_x"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1","currency":"cny","subject":"商品","body":"b","metadata":{"k":"v"}}`)},
		{"1MiBKeys", []byte(big.String())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				if checkJSON(bc.body) != nil {
					b.Fatal("problem found")
				}
			}
		})
	}
}

// TestAppIDExactKey: app's id is read by its exact key, never by a
// case-insensitive match that lets a later "ID" win.
func TestAppIDExactKey(t *testing.T) {
	tests := []struct {
		name, app, want string // want "" means refused naming app[id]
	}{
		{"OK", `{"id":"app_x"}`, "app_x"},
		{"OKString", `"app_x"`, "app_x"},
		{"OKOtherCaseIgnored", `{"id":"app_x","ID":"app_y"}`, "app_x"},
		{"ErrOnlyOtherCase", `{"ID":"app_y"}`, ""},
		{"ErrNull", `{"id":null}`, ""},
		{"ErrNumber", `{"id":1}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := `{"order_no":"A1","app":` + tc.app + `,"channel":"alipay_qr","amount":1,"client_ip":"::1","currency":"cny","subject":"s","body":"b"}`
			p, err := parseChargeParams([]byte(raw))
			if tc.want == "" {
				var pe *polypay.Error
				if !errors.As(err, &pe) || pe.Param != "app[id]" {
					t.Fatalf("parseChargeParams = %+v, %v; want an error on app[id]", p.AppID, err)
				}
				return
			}
			if err != nil || p.AppID != tc.want {
				t.Fatalf("app id = %q, %v; want %q", p.AppID, err, tc.want)
			}
		})
	}
}
