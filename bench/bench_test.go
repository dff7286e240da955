package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and measures for a few seconds")
	}
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out bytes.Buffer
	err := Main([]string{"--duration", "200ms", "--concurrency", "1,4", "--stores", "sqlite", "--json", jsonPath, "--quiet-wait", "0", "--retries", "0"}, &out)
	text := out.String()
	t.Log("\n" + text)
	if err != nil {
		t.Fatalf("Main: %v", err)
	}
	for _, want := range []string{
		"RSA-2048 PKCS#1 v1.5 SHA-256",
		"loopback HTTP, trivial handler, Connection: close",
		"RSA-bound lifecycle ceiling",
		"store commit ceiling: sequential CommitProbe",
		"parallel CommitProbe (batched)",
		"signatures per lifecycle: 6",
		"simulator TRANSACTION.SUCCESS notification signature",
		"channels alipay_qr,wx_pub_qr",
		"Errors: none",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	channels := []string{"alipay_qr", "wx_pub_qr"}
	for _, ch := range channels {
		for _, w := range []string{"create", "lifecycle", "refund"} {
			for _, c := range []string{"1", "4"} {
				found := false
				for _, l := range strings.Split(text, "\n") {
					f := strings.Fields(l)
					if len(f) > 3 && f[0] == w && f[1] == ch && f[2] == c {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s %s row at c=%s", w, ch, c)
				}
			}
		}
		// The targets section judges each channel.
		n := 0
		for _, l := range strings.Split(text, "\n") {
			f := strings.Fields(l)
			if len(f) > 3 && (f[0] == "PASS" || f[0] == "FAIL") && f[1] == "sqlite" && f[2] == ch {
				n++
			}
		}
		if n != 2 { // lifecycles vs RSA, creates vs commits (no c=16 here)
			t.Errorf("%d targets judged for %s, want 2", n, ch)
		}
	}
	if strings.Contains(text, "PostgreSQL skipped") {
		t.Errorf("postgres was not asked for, yet reported as skipped")
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if len(rep.Stores) != 1 || rep.Stores[0].Name != "sqlite" {
		t.Fatalf("JSON stores = %+v", rep.Stores)
	}
	sr := rep.Stores[0]
	if sr.CommitSingle <= 0 || rep.Ceilings.RSASignsPerSec <= 0 || rep.Ceilings.HTTPClosePerSec <= 0 {
		t.Errorf("ceilings missing: commit %v, rsa %v, http %v", sr.CommitSingle, rep.Ceilings.RSASignsPerSec, rep.Ceilings.HTTPClosePerSec)
	}
	if len(sr.Rows) != 12 {
		t.Errorf("%d rows, want 12", len(sr.Rows))
	}
	perChannel := map[string]int{}
	for _, r := range sr.Rows {
		perChannel[r.Channel]++
		if r.Errors != 0 || r.Ops == 0 {
			t.Errorf("%s %s c=%d: %d ops, %d errors (%s)", r.Workload, r.Channel, r.Concurrency, r.Ops, r.Errors, r.FirstError)
		}
	}
	if perChannel["alipay_qr"] != 6 || perChannel["wx_pub_qr"] != 6 {
		t.Errorf("rows per channel: %v", perChannel)
	}
	if len(rep.Signs) != 2 || rep.Signs[0].Name != "alipay_qr" || rep.Signs[1].Name != "wx_pub_qr" {
		t.Fatalf("JSON signs = %+v", rep.Signs)
	}
	for _, bc := range rep.Signs {
		if len(bc.Create) != 3 || len(bc.Lifecycle) != 6 || len(bc.Refund) != 5 || bc.LifecycleRSABound <= 0 {
			t.Errorf("%s: %d/%d/%d signatures, bound %v", bc.Name, len(bc.Create), len(bc.Lifecycle), len(bc.Refund), bc.LifecycleRSABound)
		}
	}
	for _, tg := range rep.Targets {
		if tg.Channel == "" {
			t.Errorf("target %q has no channel", tg.Name)
		}
	}
	if sr.WebhooksReceived == 0 || sr.WebhooksBadSig != 0 {
		t.Errorf("webhooks: %d received, %d bad signatures", sr.WebhooksReceived, sr.WebhooksBadSig)
	}
}

func TestFlags(t *testing.T) {
	t.Setenv(EnvPostgres, "")
	t.Setenv(EnvTestPostgres, "postgres://x@127.0.0.1/db")
	var out bytes.Buffer
	o, err := parseFlags(nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	if o.pgURL != "postgres://x@127.0.0.1/db" || len(o.conc) != 4 || o.conc[3] != 64 || len(o.stores) != 2 {
		t.Errorf("defaults: %+v", o)
	}
	if len(o.channels) != 2 || o.channels[0].Name != "alipay_qr" || o.channels[1].Name != "wx_pub_qr" {
		t.Errorf("default channels: %+v", o.channels)
	}
	if o, err := parseFlags([]string{"--channels", "wx_pub_qr, wx_pub_qr"}, &out); err != nil || len(o.channels) != 1 || o.channels[0].Name != "wx_pub_qr" {
		t.Errorf("--channels wx_pub_qr: %v", err)
	}
	t.Setenv(EnvPostgres, "postgres://y@127.0.0.1/db")
	if o, _ = parseFlags(nil, &out); o.pgURL != "postgres://y@127.0.0.1/db" {
		t.Errorf("%s should win over %s: got %q", EnvPostgres, EnvTestPostgres, o.pgURL)
	}
	for _, bad := range [][]string{{"--concurrency", "0"}, {"--concurrency", "a"}, {"--stores", "mysql"}, {"--duration", "0s"}, {"extra"}, {"--channels", "wx_pub"}, {"--channels", ","}} {
		if _, err := parseFlags(bad, &out); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	out.Reset()
	if err := Main([]string{"--help"}, &out); err != nil {
		t.Errorf("--help: %v", err)
	}
	if strings.Contains(out.String(), "cpuprofile") {
		t.Errorf("--help shows the hidden --cpuprofile:\n%s", out.String())
	}
}

func TestSkipPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the machine ceilings")
	}
	t.Setenv(EnvPostgres, "")
	t.Setenv(EnvTestPostgres, "")
	var out bytes.Buffer
	if err := Main([]string{"--duration", "50ms", "--stores", "postgres", "--quiet-wait", "0"}, &out); err != nil {
		t.Fatalf("Main: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "PostgreSQL skipped") || !strings.Contains(out.String(), EnvPostgres) {
		t.Errorf("no skip line naming %s:\n%s", EnvPostgres, out.String())
	}
}
