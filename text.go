package polypay

import "unicode/utf8"

// Text is how much of the control range a free-text parameter may use.
type Text int

const (
	// Line is one line of text: a subject, a name, an id, a URL. No
	// control character at all, tab and newline included.
	Line Text = iota
	// Lines is text that may span lines: a charge's body, a description,
	// a metadata value. Tab, line feed and carriage return are allowed;
	// every other control character is not.
	Lines
)

// CheckText refuses what must not reach a channel, a bill, a log or a
// cashier page inside merchant text: invalid UTF-8, the C0 controls (NUL
// included; tab, LF and CR only for Lines), DEL and the C1 controls
// U+0080-U+009F. The error is EInvalid naming param.
func CheckText(param, s string, kind Text) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			return ParamError(param, "参数 %s 不是有效的 UTF-8 文本", param)
		case kind == Lines && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return ParamError(param, "参数 %s 不能包含控制字符 %U", param, r)
		}
	}
	return nil
}

// isInvalidAt tells a decoding error at s[i] from a real U+FFFD.
func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}
