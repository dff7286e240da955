package console

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
)

// safeCell defuses spreadsheet formulas (CSV injection): a cell starting
// with = + - @, or with a tab or carriage return that some spreadsheets
// skip before reading a formula, gets a leading apostrophe. Quoting and
// escaping of commas, quotes and newlines is encoding/csv's job.
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// csvWriter streams rows, defusing every cell.
type csvWriter struct {
	w   *csv.Writer
	f   http.Flusher
	n   int
	row []string
}

// newCSV starts a CSV download: UTF-8 with a byte-order mark so that Excel
// reads Chinese text correctly.
func newCSV(w http.ResponseWriter, filename string) *csvWriter {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, filename)+`"`)
	h.Set("Cache-Control", "no-store")
	io.WriteString(w, "\ufeff")
	f, _ := w.(http.Flusher)
	return &csvWriter{w: csv.NewWriter(w), f: f}
}

func newCSVTo(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

// Write writes one row.
func (c *csvWriter) Write(cells ...string) error {
	c.row = c.row[:0]
	for _, s := range cells {
		c.row = append(c.row, safeCell(s))
	}
	if err := c.w.Write(c.row); err != nil {
		return err
	}
	c.n++
	if c.n%500 == 0 {
		return c.Flush()
	}
	return nil
}

// Flush sends what is buffered to the client.
func (c *csvWriter) Flush() error {
	c.w.Flush()
	if c.f != nil {
		c.f.Flush()
	}
	return c.w.Error()
}
