package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// jsonProblem is what encoding/json lets through silently in a body it
// accepts: a key repeated in one object, whose last value wins (so
// {"amount":100,"amount":1} would be a 1-fen charge), or a string that is
// not valid Unicode (invalid UTF-8, or an unpaired UTF-16 surrogate escape
// such as "\ud800"), which it turns into U+FFFD.
type jsonProblem struct {
	dup  bool   // a repeated key; otherwise an invalid string
	path string // the parameter as Ping++ names it: amount, extra[foo], accounts[0][weight]
}

// maxParamEcho bounds how much of a request's own key names an error repeats.
const maxParamEcho = 128

// err is the Ping++ parameter error for the problem. Digit runs in key names
// are hidden, as everywhere a request's input is echoed (a card number
// typed as a key), and long names are cut.
func (p *jsonProblem) err() error {
	param := redactDigits(p.path)
	if len(param) > maxParamEcho {
		cut := maxParamEcho
		for cut > 0 && !utf8.RuneStart(param[cut]) {
			cut--
		}
		param = param[:cut] + "…"
	}
	if p.dup {
		return polypay.ParamError(param, "参数 %s 重复出现（同一对象中的键不能重复）", param)
	}
	return polypay.ParamError(param, "参数 %s 不是有效的 UTF-8 文本", param)
}

// smallObject is how many keys an object may have before its keys are put
// in a set rather than compared one by one.
const smallObject = 16

type jsonFrame struct {
	obj   bool
	key   []byte // object: the key of the member being read, unescaped
	index int    // array: the index of the element being read
	start int    // object: where its keys begin in jsonScanner.keys
	set   map[string]struct{}
}

type jsonScanner struct {
	data  []byte
	i     int
	stack []jsonFrame
	keys  [][]byte // the keys of every open small object, innermost last
}

// checkJSON finds the first repeated key or invalid string in data, at any
// depth, in one pass: linear in len(data), allocating only for escaped keys,
// objects of more than smallObject keys, and the nesting stack. It expects
// what json.Valid accepts; on anything else it stops without a finding,
// never panics, and its answer means nothing.
func checkJSON(data []byte) *jsonProblem {
	// Enough for typical bodies: two allocations however many keys they have.
	var frames [8]jsonFrame
	var keys [32][]byte
	s := &jsonScanner{data: data, stack: frames[:0], keys: keys[:0]}
	state := stValue
	for {
		s.ws()
		if s.i >= len(s.data) {
			return nil
		}
		var p *jsonProblem
		switch state {
		case stValue:
			state, p = s.value()
		case stKey:
			state, p = s.key()
		case stAfter:
			state = s.after()
		}
		if p != nil || state == stStop {
			return p
		}
	}
}

// The scanner's states: expecting a value, an object key, or what follows
// a value; stStop ends the scan (a finding, or input that is not JSON).
type scanState int

const (
	stValue scanState = iota
	stKey
	stAfter
	stStop
)

// value reads a value's start: it opens an object or array, or reads a
// whole string or literal.
func (s *jsonScanner) value() (scanState, *jsonProblem) {
	switch s.data[s.i] {
	case '{', '[':
		obj := s.data[s.i] == '{'
		end := byte(']')
		if obj {
			end = '}'
		}
		s.i++
		s.stack = append(s.stack, jsonFrame{obj: obj, start: len(s.keys)})
		if s.ws(); s.i < len(s.data) && s.data[s.i] == end {
			s.i++
			s.pop()
			return stAfter, nil
		}
		if obj {
			return stKey, nil
		}
		return stValue, nil
	case '"':
		_, _, valid, ok := s.str()
		if !ok {
			return stStop, nil
		}
		if !valid {
			return stStop, &jsonProblem{path: s.path()}
		}
		return stAfter, nil
	default: // number, true, false, null
		s.literal()
		return stAfter, nil
	}
}

// key reads an object key and its colon, reporting a repeated or invalid
// key.
func (s *jsonScanner) key() (scanState, *jsonProblem) {
	if s.data[s.i] != '"' {
		return stStop, nil
	}
	raw, escaped, valid, ok := s.str()
	if !ok {
		return stStop, nil
	}
	top := &s.stack[len(s.stack)-1]
	k := raw
	if escaped || !valid {
		var u string
		if json.Unmarshal(s.data[s.i-len(raw)-2:s.i], &u) != nil {
			return stStop, nil
		}
		k = []byte(u)
	}
	top.key = k
	if !valid {
		return stStop, &jsonProblem{path: s.path()}
	}
	if s.seen(top, k) {
		return stStop, &jsonProblem{dup: true, path: s.path()}
	}
	if s.ws(); s.i >= len(s.data) || s.data[s.i] != ':' {
		return stStop, nil
	}
	s.i++
	return stValue, nil
}

// after reads what follows a value: a comma or the end of its container.
func (s *jsonScanner) after() scanState {
	if len(s.stack) == 0 {
		return stStop
	}
	top := &s.stack[len(s.stack)-1]
	switch c := s.data[s.i]; {
	case c == ',':
		s.i++
		if top.obj {
			return stKey
		}
		top.index++
		return stValue
	case c == '}' && top.obj, c == ']' && !top.obj:
		s.i++
		s.pop()
		return stAfter
	default:
		return stStop
	}
}

func (s *jsonScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// literal skips a number, true, false or null.
func (s *jsonScanner) literal() {
	for ; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return
		}
	}
}

func (s *jsonScanner) pop() {
	top := s.stack[len(s.stack)-1]
	if top.obj {
		clear(s.keys[top.start:])
		s.keys = s.keys[:top.start]
	}
	s.stack = s.stack[:len(s.stack)-1]
}

// seen records k as a key of the object f and reports whether it already
// was one.
func (s *jsonScanner) seen(f *jsonFrame, k []byte) bool {
	if f.set != nil {
		if _, ok := f.set[string(k)]; ok {
			return true
		}
		f.set[string(k)] = struct{}{}
		return false
	}
	mine := s.keys[f.start:]
	for _, o := range mine {
		if bytes.Equal(o, k) {
			return true
		}
	}
	if len(mine) < smallObject {
		s.keys = append(s.keys, k)
		return false
	}
	f.set = make(map[string]struct{}, 2*smallObject)
	for _, o := range mine {
		f.set[string(o)] = struct{}{}
	}
	f.set[string(k)] = struct{}{}
	// Only the innermost open object adds keys, so its keys are the
	// stack's last ones.
	clear(mine)
	s.keys = s.keys[:f.start]
	return false
}

// str reads the string at s.i (its opening quote) and returns its raw
// content; escaped says it holds backslash escapes, valid that it is
// valid UTF-8 with every \uD800-\uDBFF escape followed at once by a
// \uDC00-\uDFFF one, and no low surrogate escape alone.
func (s *jsonScanner) str() (raw []byte, escaped, valid, ok bool) {
	d := s.data
	start := s.i + 1
	valid = true
	high, nonASCII := false, false
	for j := start; j < len(d); j++ {
		switch c := d[j]; {
		case c == '"':
			if high {
				valid = false
			}
			if valid && nonASCII {
				valid = utf8.Valid(d[start:j])
			}
			s.i = j + 1
			return d[start:j], escaped, valid, true
		case c == '\\':
			escaped = true
			if j+1 >= len(d) {
				return nil, false, false, false
			}
			if d[j+1] != 'u' {
				valid = valid && !high
				high = false
				j++
				continue
			}
			if j+6 > len(d) {
				return nil, false, false, false
			}
			r, isHex := hex4(d[j+2 : j+6])
			if !isHex {
				return nil, false, false, false
			}
			switch {
			case r >= 0xd800 && r < 0xdc00:
				valid = valid && !high
				high = true
			case r >= 0xdc00 && r < 0xe000:
				valid = valid && high
				high = false
			default:
				valid = valid && !high
				high = false
			}
			j += 5
		default:
			valid = valid && !high
			high = false
			if c >= utf8.RuneSelf {
				nonASCII = true
			}
		}
	}
	return nil, false, false, false
}

func hex4(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// path names the member being read: the keys and indexes of the open
// frames, as amount, extra[foo], accounts[0][weight].
func (s *jsonScanner) path() string {
	var b strings.Builder
	for n, f := range s.stack {
		part := strconv.Itoa(f.index)
		if f.obj {
			part = string(f.key)
		}
		if n == 0 && f.obj {
			b.WriteString(part)
			continue
		}
		b.WriteByte('[')
		b.WriteString(part)
		b.WriteByte(']')
	}
	return b.String()
}
