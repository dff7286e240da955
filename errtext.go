package polypay

import (
	"errors"
	"fmt"
	"regexp"
	"unicode"
)

// Lang is the language of an error reply. Chinese is the default: Ping++'s
// SDKs and the merchants' code written against them expect its wording.
type Lang string

const (
	LangZH Lang = "zh"
	LangEN Lang = "en"
)

// ParseLang reads an app's error_language setting: "" (follow the
// request), "zh" or "en".
func ParseLang(s string) (Lang, bool) {
	switch Lang(s) {
	case "", LangZH, LangEN:
		return Lang(s), true
	}
	return "", false
}

// Localized is the error's message in lang. It is looked up in the
// catalogue by the message's format (the error kind) and rendered with the
// same values. An English reply never holds Chinese and no reply mixes
// the two: a message that would is replaced by a generic one built from
// the code and parameter. Channel text is handled by ChannelMessage.
func (e *Error) Localized(lang Lang) string {
	if lang != LangEN {
		lang = LangZH
	}
	if e.ChannelMessage != "" {
		return e.channelText(lang)
	}
	src, args := e.source()
	tmpl := src
	if t, ok := catalog[lang][src]; ok {
		tmpl = t
	}
	// The wording must be in one language. A Chinese reply may be all
	// English where the catalogue lacks an internal detail, and may quote
	// values (ids, URLs, a policy's reason) as they are; an English reply
	// never holds Chinese, values included, since its reader may not
	// read it.
	if lang == LangEN && HasHan(tmpl) || Mixed(tmpl) {
		return e.generic(lang)
	}
	out := tmpl
	if args != nil {
		out = fmt.Sprintf(tmpl, localizeArgs(args, lang)...)
	}
	if lang == LangEN && HasHan(out) {
		return e.generic(lang)
	}
	return out
}

// source is the catalogue key and its values: the format when Message
// still is what it produced, else the literal message.
func (e *Error) source() (string, []any) {
	if e.Format != "" && fmt.Sprintf(e.Format, e.Args...) == e.Message {
		return e.Format, e.Args
	}
	return e.Message, nil
}

// localizeArgs renders nested application errors in lang too ("extra 格式错误: %v").
func localizeArgs(args []any, lang Lang) []any {
	out := make([]any, len(args))
	for i, a := range args {
		var pe *Error
		if err, ok := a.(error); ok && errors.As(err, &pe) {
			out[i] = pe.Localized(lang)
			continue
		}
		out[i] = a
	}
	return out
}

// channelText is a channel refusal: zh keeps the channel's Chinese text as
// Ping++ does; en gives the known translation. The original is always sent
// beside it as channel_message.
func (e *Error) channelText(lang Lang) string {
	if lang == LangZH {
		if inLanguage(e.ChannelMessage, LangZH) {
			return e.ChannelMessage
		}
		return fmt.Sprintf("渠道拒绝了请求（渠道代码 %s），渠道原文见 channel_message", orNone(e.ChannelCode))
	}
	if t, ok := channelTexts[e.ChannelMessage]; ok {
		return "The channel refused the request: " + t
	}
	if inLanguage(e.ChannelMessage, LangEN) {
		return "The channel refused the request: " + e.ChannelMessage
	}
	return fmt.Sprintf("The channel refused the request (channel code %s); its own message, untranslated, is in channel_message", orNone(e.ChannelCode))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// generic is the message for an error the catalogue cannot render: it
// says what kind of error it is and names the parameter.
func (e *Error) generic(lang Lang) string {
	g := genericText[lang][e.Code]
	if g[0] == "" {
		g = genericText[lang][EInvalid]
	}
	if e.Param != "" {
		return fmt.Sprintf(g[1], e.Param)
	}
	return g[0]
}

// genericText: per code, the message without and with a parameter.
var genericText = map[Lang]map[string][2]string{
	LangEN: {
		EInvalid:      {"The request is invalid.", "Invalid value for parameter %s."},
		ENotFound:     {"No such object.", "No such object (parameter %s)."},
		EUnauthorized: {"Authentication failed.", "Authentication failed (parameter %s)."},
		EConflict:     {"The request conflicts with an earlier one.", "The request conflicts with an earlier one (parameter %s)."},
		EChannel:      {"The payment channel could not process the request.", "The payment channel could not process the request (parameter %s)."},
		ETooLarge:     {"The request is too large.", "Parameter %s is too large."},
		ERateLimited:  {"Too many requests; retry later.", "Too many requests; retry later (parameter %s)."},
		EInternal:     {"Internal error; retry later.", "Internal error; retry later (parameter %s)."},
		ENotSupported: {"Not supported.", "Not supported (parameter %s)."},
	},
	LangZH: {
		EInvalid:      {"请求无效", "参数 %s 无效"},
		ENotFound:     {"对象不存在", "对象不存在（参数 %s）"},
		EUnauthorized: {"认证失败", "认证失败（参数 %s）"},
		EConflict:     {"请求与之前的请求冲突", "请求与之前的请求冲突（参数 %s）"},
		EChannel:      {"渠道无法处理该请求", "渠道无法处理该请求（参数 %s）"},
		ETooLarge:     {"请求过大", "参数 %s 过大"},
		ERateLimited:  {"请求过于频繁，请稍后重试", "请求过于频繁，请稍后重试（参数 %s）"},
		EInternal:     {"服务器内部错误，请稍后重试", "服务器内部错误，请稍后重试（参数 %s）"},
		ENotSupported: {"不支持该操作", "不支持该操作（参数 %s）"},
	},
}

// HasHan reports whether s holds a Chinese character.
func HasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// englishPhrase is an English clause: words joined by a function word.
// Parameter names, ids, commands and product names ("HTTP Basic",
// "polypay channel set") do not match; "UnionPay has no" does.
var englishPhrase = regexp.MustCompile(`(?i)\b[a-z]+ (the|is|are|was|were|not|must|has|have|had|no|cannot|can|of|to|for|with|this|that|be|an|a|already|yet|on|in|at|from|by)\b`)

// Mixed reports a Chinese text carrying an English clause.
func Mixed(s string) bool {
	return HasHan(s) && englishPhrase.MatchString(s)
}

// inLanguage: Chinese text has Han and no English clause; English has no Han.
func inLanguage(s string, lang Lang) bool {
	if lang == LangEN {
		return !HasHan(s)
	}
	return HasHan(s) && !Mixed(s)
}
