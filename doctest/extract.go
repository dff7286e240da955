// Package doctest runs the documentation: every fenced code block of
// README.md and docs/*.md marked runnable is executed against a live
// polypay node by TestDocs, so a snippet that stops working fails
// `go test ./...`. The convention is described in docs/doc-test.md.
package doctest

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Marker is the line that marks the fenced block right after it as
// runnable. An HTML comment, so GitHub renders nothing for it and the
// block's info string stays a plain language name (which keeps syntax
// highlighting).
const Marker = "<!-- doctest -->"

// Block is one runnable fenced block.
type Block struct {
	Line int    // 1-based line of the opening fence
	Lang string // the info string's first word: sh, js, python, go, java
	Code string
}

// Langs are the languages a runnable block may be written in, mapped to
// how the harness runs it.
var Langs = map[string]string{
	"sh": "sh", "bash": "sh", "shell": "sh",
	"js": "node", "javascript": "node", "node": "node",
	"python": "python", "py": "python", "python3": "python",
	"go": "go", "java": "java",
}

// Extract returns the runnable blocks of a Markdown document in order. A
// marker not followed by a fence, a marked block in a language the harness
// cannot run, or an unclosed marked fence is an error: a block meant to run
// must never be skipped silently.
func Extract(src []byte) ([]Block, error) {
	var out []Block
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n, marked, markLine := 0, false, 0
	var fence string // the open fence's backticks/tildes; "" outside a block
	var cur *Block
	var body strings.Builder
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				if cur != nil {
					cur.Code = body.String()
					out = append(out, *cur)
					cur = nil
				}
				fence = ""
				continue
			}
			if cur != nil {
				body.WriteString(line)
				body.WriteByte('\n')
			}
			continue
		}
		if f, info, ok := openFence(trimmed); ok {
			fence = f
			if marked {
				lang := strings.ToLower(strings.Fields(info + " x")[0])
				if _, ok := Langs[lang]; !ok {
					return nil, fmt.Errorf("line %d: a runnable block's language %q is not one of sh, bash, js, python, go, java", n, info)
				}
				cur = &Block{Line: n, Lang: lang}
				body.Reset()
				marked = false
			}
			continue
		}
		if marked && trimmed != "" {
			return nil, fmt.Errorf("line %d: %s is not followed by a fenced block", markLine, Marker)
		}
		if trimmed == Marker {
			marked, markLine = true, n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: runnable block is never closed", cur.Line)
	}
	if marked {
		return nil, fmt.Errorf("line %d: %s is not followed by a fenced block", markLine, Marker)
	}
	return out, nil
}

// openFence reports whether line opens a fenced block (three or more
// backticks or tildes), returning the fence and the info string.
func openFence(line string) (fence, info string, ok bool) {
	for _, c := range []string{"`", "~"} {
		i := 0
		for i < len(line) && line[i:i+1] == c {
			i++
		}
		if i >= 3 {
			return line[:i], strings.TrimSpace(line[i:]), true
		}
	}
	return "", "", false
}
