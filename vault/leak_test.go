package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/apidoc/apidoctest"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/vault"
)

// syncBuffer is a log sink shared by the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// haystacks collects everything that left polypay or stayed on disk.
type haystacks struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (h *haystacks) add(name string, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string][]byte{}
	}
	h.m[name] = append(h.m[name], b...)
	h.m[name] = append(h.m[name], '\n')
}

// needles are the forms a card number could take in a leak: the digits,
// grouped with spaces or dashes as people type them, and the first twelve
// digits (all but the last four, which may legitimately appear).
func needles(number string) []string {
	groups := []int{4, 4, 4, 4}
	if len(number) == 15 {
		groups = []int{4, 6, 5}
	}
	var parts []string
	i := 0
	for _, g := range groups {
		if i+g > len(number) {
			break
		}
		parts = append(parts, number[i:i+g])
		i += g
	}
	if i < len(number) {
		parts = append(parts, number[i:])
	}
	return []string{number, strings.Join(parts, " "), strings.Join(parts, "-"), number[:12]}
}

// findLeaks returns "where: what" for every needle found in a haystack.
func findLeaks(h map[string][]byte, numbers []string) []string {
	var out []string
	for name, b := range h {
		for _, n := range numbers {
			for _, nd := range needles(n) {
				if bytes.Contains(b, []byte(nd)) {
					out = append(out, name+": "+nd[:4]+"…")
				}
			}
		}
	}
	return out
}

// readDir adds every byte of every file under dir.
func readDir(t *testing.T, h *haystacks, dir, label string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.add(label+" file "+rel, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t    *testing.T
	base string
	h    *haystacks
}

// do sends a JSON (or, with form=true, url-encoded) request and records
// the whole reply, headers included.
func (c *client) do(method, path, key string, body any, form bool) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth(key, "")
	// Checked against the API reference (apidoc) as the gateway tests are.
	res, err := apidoctest.Client(c.t).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var hdr bytes.Buffer
	res.Header.Write(&hdr)
	c.h.add("response "+method+" "+path, append(hdr.Bytes(), raw...))
	var m map[string]any
	json.Unmarshal(raw, &m)
	return res.StatusCode, m
}

func spaced(n string) string {
	ns := needles(n)
	return ns[1]
}

// TestNoCardNumberLeaks drives a whole node through tokenization, saved
// cards and charge activity, then searches every log line, API reply,
// event, webhook body and file of the data directory for the card numbers.
func TestNoCardNumberLeaks(t *testing.T) {
	t.Setenv(vault.EnvKeys, "")
	numbers := []string{"4242424242424242", "5555555555554444", "378282246310005", "6200000000000005"}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	n, app := gatewaytest.Start(t, "leak", func(c *gateway.Config) {
		c.DataDir, c.Log = dir, logger
		c.WebhookSchedule = []time.Duration{50 * time.Millisecond}
	})
	h := &haystacks{}
	var hooks []string
	var hookMu sync.Mutex
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var hdr bytes.Buffer
		r.Header.Write(&hdr)
		h.add("webhook", append(hdr.Bytes(), b...))
		var ev struct {
			ID string `json:"id"`
		}
		json.Unmarshal(b, &ev)
		hookMu.Lock()
		hooks = append(hooks, ev.ID)
		hookMu.Unlock()
		w.WriteHeader(200)
	}))
	defer recv.Close()
	c := &client{t: t, base: n.URL, h: h}
	sk, pk := app.SecretKeyTest, app.PublishableKeyTest
	if st, _ := c.do("POST", "/v1/webhook_endpoints", sk, map[string]any{"app": app.AppID, "url": recv.URL}, false); st != 200 {
		t.Fatalf("webhook endpoint: %d", st)
	}

	cus := ""
	for i, num := range numbers {
		cvc := "123"
		if len(num) == 15 {
			cvc = "1234"
		}
		// Half the cards arrive as the browser sends them (a form, the
		// number grouped with spaces), half as JSON.
		var body any = map[string]any{"card": map[string]any{"number": num, "exp_month": 12, "exp_year": 2031, "cvc": cvc, "name": "Li Lei"}}
		if i%2 == 1 {
			body = url.Values{"card[number]": {spaced(num)}, "card[exp_month]": {"12"}, "card[exp_year]": {"2031"}, "card[cvc]": {cvc}}
		}
		st, tok := c.do("POST", "/v1/tokens", pk, body, false)
		if st != 200 || tok["object"] != "token" {
			t.Fatalf("tokenize *%s: %d %v", num[len(num)-4:], st, tok)
		}
		card := tok["card"].(map[string]any)
		if card["last4"] != num[len(num)-4:] {
			t.Fatalf("last4 = %v", card["last4"])
		}
		c.do("GET", "/v1/tokens/"+tok["id"].(string), sk, nil, false)
		if cus == "" {
			st, cu := c.do("POST", "/v1/customers", sk, map[string]any{"source": tok["id"], "email": "leak@example.com", "description": "leak test"}, false)
			if st != 200 {
				t.Fatalf("customer: %d %v", st, cu)
			}
			cus = cu["id"].(string)
			continue
		}
		st, src := c.do("POST", "/v1/customers/"+cus+"/sources", sk, url.Values{"source": {tok["id"].(string)}}, false)
		if st != 200 || src["customer"] != cus {
			t.Fatalf("attach: %d %v", st, src)
		}
		c.do("GET", "/v1/customers/"+cus+"/sources/"+src["id"].(string), sk, nil, false)
		c.do("PUT", "/v1/customers/"+cus, sk, map[string]any{"default_source": src["id"]}, false)
	}
	// Rejected cards: errors must not echo the number either.
	for _, bad := range []map[string]any{
		{"card": map[string]any{"number": numbers[0], "exp_month": 1, "exp_year": 2001, "cvc": "123"}},
		{"card": map[string]any{"number": numbers[1], "exp_month": 12, "exp_year": 2031, "cvc": "12"}},
		{"card": map[string]any{"number": numbers[2], "exp_month": 12, "exp_year": 2031, "cvc": "1234", numbers[3]: "x"}},
		{"card": map[string]any{"number": numbers[3], "exp_month": 12, "exp_year": 2031}, numbers[0]: "oops"},
		{"card": map[string]any{"number": numbers[0][:15] + "3", "exp_month": 12, "exp_year": 2031}},
	} {
		if st, _ := c.do("POST", "/v1/tokens", pk, bad, false); st != 400 {
			t.Fatalf("bad card accepted: %d", st)
		}
	}
	// A number pasted where an id belongs, and a card object where a token
	// belongs.
	c.do("GET", "/v1/customers/"+numbers[1], sk, nil, false)
	c.do("POST", "/v1/customers", sk, map[string]any{"source": map[string]any{"number": numbers[2]}}, false)
	c.do("POST", "/v1/customers", sk, map[string]any{"source": numbers[2]}, false)
	c.do("GET", "/v1/customers?starting_after="+numbers[3], sk, nil, false)
	c.do("GET", "/v1/customers", sk, nil, false)
	c.do("GET", "/v1/customers/"+cus, sk, nil, false)
	c.do("GET", "/v1/customers/"+cus+"/sources", sk, nil, false)

	// Charge activity, so that events and webhooks flow.
	for i, order := range []string{"LEAK0001", "LEAK0002"} {
		st, ch := c.do("POST", "/v1/charges", sk, map[string]any{"order_no": order, "app": map[string]any{"id": app.AppID},
			"channel": "alipay_qr", "amount": 100 + i, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b"}, false)
		if st != 200 {
			t.Fatalf("charge: %d %v", st, ch)
		}
		id := ch["id"].(string)
		if st, _ := c.do("POST", "/v1/test/charges/"+id+"/pay", sk, map[string]any{"result": "success"}, false); st != 200 {
			t.Fatalf("pay: %d", st)
		}
		c.do("POST", "/v1/charges/"+id+"/refunds", sk, map[string]any{"description": "r"}, false)
	}
	// Card charges through the card processor's simulator: a fresh token,
	// and the customer's saved default card held then captured, with their
	// events and webhooks searched like everything else.
	st, tok := c.do("POST", "/v1/tokens", pk, map[string]any{"card": map[string]any{"number": numbers[0], "exp_month": 12, "exp_year": 2031, "cvc": "123"}}, false)
	if st != 200 {
		t.Fatalf("tokenize for a charge: %d", st)
	}
	for i, extra := range []map[string]any{{"source": tok["id"]}, {"customer": cus}} {
		body := map[string]any{"order_no": fmt.Sprintf("LEAKCARD%d", i), "app": map[string]any{"id": app.AppID},
			"channel": "card", "amount": 300 + i, "client_ip": "127.0.0.1", "currency": "usd", "subject": "s", "body": "b", "extra": extra}
		if i == 1 {
			body["capture"] = false
		}
		st, ch := c.do("POST", "/v1/charges", sk, body, false)
		if st != 200 {
			t.Fatalf("card charge %d: %d %v", i, st, ch)
		}
		id := ch["id"].(string)
		if i == 1 {
			if st, ch := c.do("POST", "/v1/charges/"+id+"/capture", sk, map[string]any{"amount": 200}, false); st != 200 || ch["amount_captured"] != float64(200) {
				t.Fatalf("capture: %d %v", st, ch)
			}
		}
		c.do("POST", "/v1/charges/"+id+"/refunds", sk, map[string]any{"description": "r", "amount": 100}, false)
		c.do("GET", "/v1/charges/"+id, sk, nil, false)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		hookMu.Lock()
		got := len(hooks)
		hookMu.Unlock()
		// 2 alipay charges and refunds, 2 card charges (one also authorized
		// and captured) and refunds.
		if got >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks arrived, want 10", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hookMu.Lock()
	for _, id := range hooks {
		c.do("GET", "/v1/events/"+id, sk, nil, false)
	}
	hookMu.Unlock()
	c.do("DELETE", "/v1/customers/"+cus, sk, nil, false)

	readDir(t, h, dir, "running") // the database and its WAL as they are while serving
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	readDir(t, h, dir, "closed")
	h.add("log", logs.Bytes())
	if !bytes.Contains(logs.Bytes(), []byte(`"path":"/v1/tokens"`)) {
		t.Fatal("the log sink saw no requests: the search would prove nothing")
	}
	if _, ok := h.m["closed file "+vault.KeysFile]; !ok {
		t.Fatal("keyring file not searched")
	}
	if leaks := findLeaks(h.m, numbers); len(leaks) > 0 {
		t.Fatalf("card numbers found:\n%s", strings.Join(leaks, "\n"))
	}

	// The search finds what it looks for: a number deliberately written to
	// the log, or grouped into a file, is caught.
	t.Run("DetectorWorks", func(t *testing.T) {
		logger.Debug("careless", "pan", numbers[2])
		os.WriteFile(filepath.Join(dir, "note.txt"), []byte("card "+spaced(numbers[3])), 0o600)
		h2 := &haystacks{}
		readDir(t, h2, dir, "closed")
		h2.add("log", logs.Bytes())
		leaks := findLeaks(h2.m, numbers)
		var inLog, inFile bool
		for _, l := range leaks {
			inLog = inLog || strings.HasPrefix(l, "log: 3782")
			inFile = inFile || strings.HasPrefix(l, "closed file note.txt: 6200")
		}
		if !inLog || !inFile {
			t.Fatalf("detector missed a planted number: %v", leaks)
		}
	})
}
