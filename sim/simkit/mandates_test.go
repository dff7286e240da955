package simkit

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestMandates: the wallet's agreements page lists, shows one with its
// facts and a terminate button while active, ends it on POST, and refuses
// unknown ids and actions.
func TestMandates(t *testing.T) {
	active := true
	m := &Mandates{Title: "钱包", Color: "#07c160", Page: "things", Param: "thing_id", Button: "End", Unknown: "unknown", Ended: "ended",
		List: func() []Mandate { return []Mandate{{ID: "T1", Cells: []string{"a", "b"}}} },
		One: func(id string) *Mandate {
			if id != "T1" {
				return nil
			}
			return &Mandate{ID: "T1", Active: active, Facts: Facts("号", "thing_id", "T1", "空", "empty", "")}
		},
		End: func(context.Context, *Mandate) error { active = false; return nil }}
	for _, c := range []struct {
		name, method, target string
		form                 url.Values
		status               int
		has, lacks           []string
	}{
		{"list", "GET", "/things", nil, 200, []string{`things?thing_id=T1`, "<td>b</td>", "color:#07c160"}, []string{"ZgotmplZ"}},
		{"one", "GET", "/things?thing_id=T1", nil, 200, []string{`id="thing_id">T1<`, `id="unsign"`}, []string{`id="empty"`}},
		{"unknown", "GET", "/things?thing_id=T2", nil, 404, []string{"unknown"}, nil},
		{"bad action", "POST", "/things", url.Values{"thing_id": {"T1"}, "action": {"x"}}, 400, nil, nil},
		{"end", "POST", "/things", url.Values{"thing_id": {"T1"}, "action": {"unsign"}}, 200, []string{"ended"}, []string{`id="unsign"`}},
		{"method", "PUT", "/things", nil, 405, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body *strings.Reader
			if c.form != nil {
				body = strings.NewReader(c.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(c.method, c.target, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			m.ServeHTTP(w, req)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			for _, s := range c.has {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range c.lacks {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
}
