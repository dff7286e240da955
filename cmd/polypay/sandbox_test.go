package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// cliNode is a node started as "polypay serve" starts it, with the store
// flags every command of the test passes.
type cliNode struct {
	n     *gateway.Node
	flags []string
	sk    string
	app   string
}

func startCLINode(t *testing.T, b storetest.Backend) *cliNode {
	t.Helper()
	t.Setenv("POLYPAY_DATABASE", "")
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: b.DataDir, DatabaseURL: b.DatabaseURL,
		SimTodaysBills: true, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	recordSandboxHost(ctx, n.DB, n.Sandbox.URL(), log)
	c := &cliNode{n: n, flags: []string{"--data", b.DataDir, "--database", b.DatabaseURL}}
	out, err := capture(t, func() error { return appCmd(append([]string{"create", "--name", "cli"}, c.flags...)) })
	if err != nil {
		t.Fatal(err)
	}
	var a core.NewApp
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("app create: %v\n%s", err, out)
	}
	c.sk, c.app = a.SecretKeyTest, a.AppID
	return c
}

func (c *cliNode) do(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, c.n.URL+path, strings.NewReader(body))
	req.SetBasicAuth(c.sk, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, m)
	}
	return m
}

// payCharge creates a test charge, pays it in the node's simulator and
// waits until the channel's notification made it paid.
func (c *cliNode) payCharge(t *testing.T, orderNo, channel, extra string) string {
	t.Helper()
	ch := c.do(t, "POST", "/v1/charges", `{"order_no":"`+orderNo+`","app":{"id":"`+c.app+`"},"channel":"`+channel+
		`","amount":1234,"client_ip":"127.0.0.1","currency":"cny","subject":"s","body":"b","extra":`+extra+`}`)
	id := ch["id"].(string)
	c.do(t, "POST", "/v1/test/charges/"+id+"/pay", `{"result":"success"}`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c.do(t, "GET", "/v1/charges/"+id, "")["paid"] == true {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("charge %s not paid after 20s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReconcileTestModeReadsNodeBooks: test payments taken by a running
// node, then "polypay reconcile --date <today>" in test mode finds every
// one of them in the statements and no discrepancy. Before, the command
// started simulators of its own with empty books and reported every
// payment as missing from the channel (only_polypay).
func TestReconcileTestModeReadsNodeBooks(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := startCLINode(t, b)
			want := map[string]int{"alipay": 2, "wx": 1}
			c.payCharge(t, "RECA1", "alipay_qr", "{}")
			c.payCharge(t, "RECA2", "alipay_qr", "{}")
			c.payCharge(t, "RECW1", "wx_pub_qr", `{"product_id":"P1"}`)
			day := time.Now().In(reconcile.Shanghai).Format("2006-01-02")
			out, err := capture(t, func() error {
				return reconcileCmd(append([]string{"--date", day, "--app", c.app}, c.flags...))
			})
			if err != nil {
				t.Fatalf("reconcile: %v\n%s", err, out)
			}
			runs := reconRuns(t, c.n.DB, c.app, day)
			for fam, n := range want {
				r, ok := runs[fam]
				if !ok {
					t.Fatalf("no %s run for %s; output:\n%s", fam, day, out)
				}
				if r.Matched != int64(n) || r.Open != 0 || r.OnlyPolypay != 0 || r.OnlyChannel != 0 {
					t.Errorf("%s: got matched %d, open %d, only_polypay %d, only_channel %d; want matched %d and nothing open",
						fam, r.Matched, r.Open, r.OnlyPolypay, r.OnlyChannel, n)
				}
			}
		})
	}
}

func reconRuns(t *testing.T, db *store.DB, app, day string) map[string]*reconcile.Run {
	t.Helper()
	live := false
	var runs []*reconcile.Run
	if err := db.Read(context.Background(), func(tx *store.Tx) (err error) {
		runs, err = tx.ListReconRuns(context.Background(), reconcile.RunFilter{AppID: app, Live: &live, Day: day})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]*reconcile.Run{}
	for _, r := range runs {
		if _, seen := out[r.Family]; !seen { // newest first
			out[r.Family] = r
		}
	}
	return out
}

// TestReconcileTestModeWithoutBooks: with no simulators to read, the
// command says so instead of reporting false discrepancies.
func TestReconcileTestModeWithoutBooks(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	day := time.Now().In(reconcile.Shanghai).Format("2006-01-02")
	stopped := func(t *testing.T, dir string) {
		n, err := gateway.Start(context.Background(), gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		recordSandboxHost(context.Background(), n.DB, n.Sandbox.URL(), slog.Default())
		n.Close(context.Background())
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		want  string
	}{
		{"NothingRecorded", func(*testing.T, string) {}, nil, "no node has served simulators"},
		{"NodeStopped", stopped, nil, "do not answer"},
		{"ExplicitURLDown", func(*testing.T, string) {}, []string{"--sim-url", "http://127.0.0.1:1"}, "do not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			err := reconcileCmd(append([]string{"--date", day, "--data", dir}, tt.args...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestSandboxResetCommand: counting changes nothing, --live is refused,
// --yes deletes the app's test charges while the ledger stays balanced.
func TestSandboxResetCommand(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := startCLINode(t, b)
			id := c.payCharge(t, "RST1", "alipay_qr", "{}")
			var out bytes.Buffer
			if err := sandboxCmd(append([]string{"reset", "--app", c.app, "--live"}, c.flags...), &out); err == nil {
				t.Fatal("reset --live: got nil error, want a refusal")
			}
			if err := sandboxCmd(append([]string{"reset", "--app", c.app}, c.flags...), &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "would delete") || !strings.Contains(out.String(), "charges") {
				t.Fatalf("dry run output:\n%s", out.String())
			}
			c.do(t, "GET", "/v1/charges/"+id, "") // still there
			out.Reset()
			if err := sandboxCmd(append([]string{"reset", "--app", c.app, "--yes"}, c.flags...), &out); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", c.n.URL+"/v1/charges/"+id, nil)
			req.SetBasicAuth(c.sk, "")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("charge after reset: got %d, want 404\n%s", res.StatusCode, out.String())
			}
			lout, err := capture(t, func() error { return ledgerCmd(append([]string{"check"}, c.flags...)) })
			if err != nil || !strings.Contains(lout, "ledger: OK") {
				t.Fatalf("ledger check after reset: %v\n%s", err, lout)
			}
			// The app and its test key still work.
			c.payCharge(t, "RST2", "alipay_qr", "{}")
		})
	}
}
