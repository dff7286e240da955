package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// body is a decoded JSON request object that remembers which parameters
// were read, so that anything left over is reported as unknown.
type body struct {
	m    map[string]json.RawMessage
	used map[string]bool
}

// parseBody accepts what the Ping++ SDKs send for "no parameters" (empty,
// null, {}, and PHP's []) and otherwise requires one JSON object. It is the
// one place every API request body is decoded, so it also refuses, at any
// depth, what encoding/json would let through silently: a repeated key and
// a string that is not valid Unicode (checkJSON), naming the parameter.
func parseBody(raw []byte) (*body, error) {
	b := &body{m: map[string]json.RawMessage{}, used: map[string]bool{}}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" || string(t) == "[]" {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(&b.m); err != nil {
		if !utf8.Valid(t) {
			return nil, polypay.ParamError("", "请求体不是有效的 UTF-8")
		}
		return nil, polypay.ParamError("", "请求体不是有效的 JSON 对象: %s", jsonErr(err))
	}
	if dec.InputOffset() != int64(len(t)) {
		return nil, polypay.ParamError("", "请求体 JSON 之后还有多余内容")
	}
	if p := checkJSON(t); p != nil {
		return nil, p.err()
	}
	if b.m == nil {
		b.m = map[string]json.RawMessage{}
	}
	return b, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return fmt.Sprintf("语法错误，位置 %d", se.Offset)
	case asErr(err, &te):
		return "需要一个 JSON 对象"
	}
	return err.Error()
}

func asErr[T error](err error, target *T) bool {
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}

func (b *body) raw(name string) (json.RawMessage, bool) {
	b.used[name] = true
	v, ok := b.m[name]
	if ok && string(v) == "null" {
		return nil, false
	}
	return v, ok
}

// str reads a one-line string parameter (no control characters, tab and
// newline included; polypay.CheckText); maxRunes 0 means unlimited.
func (b *body) str(name string, required bool, maxRunes int) (string, error) {
	return b.string(name, required, maxRunes, polypay.Line)
}

// text reads a free-text parameter that may span lines (body,
// description): tab, LF and CR are allowed, other control characters not.
func (b *body) text(name string, required bool, maxRunes int) (string, error) {
	return b.string(name, required, maxRunes, polypay.Lines)
}

func (b *body) string(name string, required bool, maxRunes int, kind polypay.Text) (string, error) {
	v, ok := b.raw(name)
	if !ok {
		if required {
			return "", polypay.ParamError(name, "缺少参数: %s", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", polypay.ParamError(name, "参数 %s 必须是字符串", name)
	}
	if required && s == "" {
		return "", polypay.ParamError(name, "参数 %s 不能为空", name)
	}
	if maxRunes > 0 && utf8.RuneCountInString(s) > maxRunes {
		return "", polypay.ParamError(name, "参数 %s 不能超过 %d 个字符", name, maxRunes)
	}
	if err := polypay.CheckText(name, s, kind); err != nil {
		return "", err
	}
	return s, nil
}

// int reads an integer parameter: a JSON integer, not a float or a string.
func (b *body) int(name string, required bool) (int64, bool, error) {
	v, ok := b.raw(name)
	if !ok {
		if required {
			return 0, false, polypay.ParamError(name, "缺少参数: %s", name)
		}
		return 0, false, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, polypay.ParamError(name, "参数 %s 必须是整数", name)
	}
	return n, true, nil
}

// bool reads a boolean parameter: JSON true/false, or the strings
// "true"/"false" that form-encoding SDKs send; def when absent.
func (b *body) bool(name string, def bool) (bool, error) {
	v, ok := b.raw(name)
	if !ok {
		return def, nil
	}
	switch string(v) {
	case "true", `"true"`:
		return true, nil
	case "false", `"false"`:
		return false, nil
	}
	return false, polypay.ParamError(name, "参数 %s 必须是 true 或 false", name)
}

// object reads a JSON object parameter (PHP's [] counts as {}); flat
// (metadata) requires scalar values, one-line keys and string values free
// of control characters other than tab, LF and CR, and at most maxKeys keys.
func (b *body) object(name string, flat bool, maxKeys int) (json.RawMessage, error) {
	v, ok := b.raw(name)
	if !ok || string(bytes.TrimSpace(v)) == "[]" {
		return json.RawMessage("{}"), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, polypay.ParamError(name, "参数 %s 必须是 JSON 对象", name)
	}
	if maxKeys > 0 && len(m) > maxKeys {
		return nil, polypay.ParamError(name, "参数 %s 最多 %d 个键", name, maxKeys)
	}
	if flat {
		for k, x := range m {
			t := bytes.TrimSpace(x)
			if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
				return nil, polypay.ParamError(name+"["+k+"]", "参数 %s 的值不能嵌套", name)
			}
			if err := polypay.CheckText(name+"["+k+"]", k, polypay.Line); err != nil {
				return nil, err
			}
			var str string
			if json.Unmarshal(t, &str) == nil {
				if err := polypay.CheckText(name+"["+k+"]", str, polypay.Lines); err != nil {
					return nil, err
				}
			}
		}
	}
	// Re-encode compactly with sorted keys: a stable form for storage and
	// for comparing repeated requests.
	out, err := json.Marshal(m)
	if err != nil {
		return nil, polypay.ParamError(name, "参数 %s 无效", name)
	}
	return out, nil
}

// unknown reports the first parameter nobody read.
// onlyStr reads a body that holds one string parameter and nothing else.
func onlyStr(raw []byte, name string, required bool, maxRunes int) (string, error) {
	b, err := parseBody(raw)
	if err != nil {
		return "", err
	}
	v, err := b.str(name, required, maxRunes)
	if err != nil {
		return "", err
	}
	return v, b.unknown()
}

func (b *body) unknown() error {
	var extra []string
	for k := range b.m {
		if !b.used[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return polypay.ParamError(extra[0], "未知参数: %s", strings.Join(extra, ", "))
}

// appID reads "app" as Ping++'s {"id": ...} object or a bare id string.
func (b *body) appID() (string, error) {
	v, ok := b.raw("app")
	if !ok {
		return "", polypay.ParamError("app", "缺少参数: app")
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, so {"id":"app_a","ID":"app_b"} would read app_b.
	var o map[string]json.RawMessage
	if err := json.Unmarshal(v, &o); err != nil || json.Unmarshal(o["id"], &s) != nil || s == "" {
		return "", polypay.ParamError("app[id]", "参数 app 必须是 {\"id\": \"app_...\"}")
	}
	return s, nil
}
