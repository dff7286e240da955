package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store"
)

func capture(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	err := fn()
	w.Close()
	os.Stdout = old
	out, _ := io.ReadAll(r)
	return string(out), err
}

// TestAppCreateWhileServing: `polypay app create` on the data directory of
// a running server, and the key it prints works against that server at once.
func TestAppCreateWhileServing(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	dir := t.TempDir()
	ctx := context.Background()
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	out, err := capture(t, func() error { return appCmd([]string{"create", "--name", "cli", "--data", dir}) })
	if err != nil {
		t.Fatal(err)
	}
	var a core.NewApp
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []struct{ v, prefix string }{{a.SecretKeyTest, "sk_test_"}, {a.SecretKeyLive, "sk_live_"},
		{a.PublishableKeyTest, "pk_test_"}, {a.PublishableKeyLive, "pk_live_"}, {a.AppID, "app_"}} {
		if !strings.HasPrefix(k.v, k.prefix) || (k.prefix != "app_" && len(k.v) != 32) {
			t.Errorf("key %q: want %s prefix and 32 characters", k.v, k.prefix)
		}
	}
	body := `{"order_no":"CLI001","app":{"id":"` + a.AppID + `"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1","currency":"cny","subject":"s","body":"b"}`
	req, _ := http.NewRequest("POST", n.URL+"/v1/charges", strings.NewReader(body))
	req.SetBasicAuth(a.SecretKeyTest, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ch map[string]any
	json.NewDecoder(res.Body).Decode(&ch)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("charge with the new key: %d %v", res.StatusCode, ch)
	}
	pay, _ := http.NewRequest("POST", n.URL+"/v1/test/charges/"+ch["id"].(string)+"/pay", strings.NewReader(`{"result":"success"}`))
	pay.SetBasicAuth(a.SecretKeyTest, "")
	if res, err := http.DefaultClient.Do(pay); err != nil || res.StatusCode != 200 {
		t.Fatalf("pay: %v %v", res, err)
	}
	out, err = capture(t, func() error { return ledgerCmd([]string{"check", "--data", dir}) })
	if err != nil || !strings.Contains(out, "ledger: OK") || !strings.Contains(out, "1 charges") {
		t.Fatalf("ledger check: %v\n%s", err, out)
	}
	// Keys are stored only as hashes.
	raw, _ := os.ReadFile(dir + "/polypay.db")
	wal, _ := os.ReadFile(dir + "/polypay.db-wal")
	if bytes.Contains(append(raw, wal...), []byte(a.SecretKeyTest)) {
		t.Fatal("secret key stored in plaintext")
	}
}

// TestConsoleUserAdd: the first owner is created from the CLI with the
// password on stdin (or in the environment), never as a flag.
func TestConsoleUserAdd(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	dir := t.TempDir()
	tests := []struct {
		name  string
		env   string
		stdin string
		args  []string
		ok    bool
	}{
		{"Stdin", "", "a long enough password\n", []string{"--email", "Owner@Example.com", "--role", "owner"}, true},
		{"Env", "another long password", "", []string{"--email", "fin@example.com", "--role", "finance"}, true},
		{"Duplicate", "", "a long enough password\n", []string{"--email", "owner@example.com", "--role", "admin"}, false},
		{"BadRole", "", "a long enough password\n", []string{"--email", "x@example.com", "--role", "root"}, false},
		{"ShortPassword", "", "short\n", []string{"--email", "y@example.com", "--role", "admin"}, false},
		{"NoPassword", "", "", []string{"--email", "z@example.com", "--role", "admin"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("POLYPAY_CONSOLE_PASSWORD", tt.env)
			args := append([]string{"user", "add", "--data", dir}, tt.args...)
			var stderr bytes.Buffer
			err := consoleCmd(args, strings.NewReader(tt.stdin), &stderr)
			if (err == nil) != tt.ok {
				t.Fatalf("consoleCmd: %v, want ok=%v", err, tt.ok)
			}
		})
	}
	db, _, err := gateway.OpenStore(context.Background(), gateway.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users []*store.ConsoleUser
	db.Read(context.Background(), func(tx *store.Tx) (err error) { users, err = tx.ListConsoleUsers(context.Background()); return })
	if len(users) != 2 || users[0].Email != "fin@example.com" || users[1].Email != "owner@example.com" || users[1].Role != "owner" {
		t.Fatalf("users %+v", users)
	}
	if !console.CheckPassword(users[1].Password, "a long enough password") || strings.Contains(users[1].Password, "a long enough") {
		t.Fatal("stored password hash does not verify, or holds the password")
	}
}
