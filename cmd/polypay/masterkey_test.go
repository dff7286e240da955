package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polypay/polypay/gateway"
)

// TestAppCreateWrongMasterKey: `app create` on a store whose secrets it
// cannot open names the key file or variable it tried, and never leaves a
// new master key beside a store sealed with another.
func TestAppCreateWrongMasterKey(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	t.Setenv("POLYPAY_MASTER_KEY", "")
	dir := t.TempDir()
	ctx := context.Background()
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n.Close(ctx)
	// The operator moved the key off the data disk, as the docs advise.
	moved := filepath.Join(t.TempDir(), "master.key")
	if err := os.Rename(filepath.Join(dir, "master.key"), moved); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	k := make([]byte, 32)
	rand.Read(k)
	otherKey := base64.StdEncoding.EncodeToString(k)
	os.WriteFile(other, []byte(otherKey+"\n"), 0o600)

	tests := []struct {
		name  string
		env   string
		args  []string
		wants []string // in the error; none: success
	}{
		{"ErrKeyFileMissing", "", nil, []string{filepath.Join(dir, "master.key"), "does not exist", "--master-key-file"}},
		{"ErrOtherKeyFile", "", []string{"--master-key-file", other}, []string{"key file " + other, "sealed with another key"}},
		{"ErrOtherKeyEnv", otherKey, []string{"--master-key-file", moved}, []string{"$POLYPAY_MASTER_KEY", "sealed with another key"}},
		{"ErrBadEnv", "not base64!", nil, []string{"$POLYPAY_MASTER_KEY", "32 bytes"}},
		{"ErrBadKeyFile", "", []string{"--master-key-file", filepath.Join(dir, "polypay.db")}, []string{"polypay.db", "not a 32-byte"}},
		{"OK", "", []string{"--master-key-file", moved}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("POLYPAY_MASTER_KEY", tt.env)
			out, err := capture(t, func() error {
				return appCmd(append([]string{"create", "--name", "mk", "--data", dir}, tt.args...))
			})
			if tt.wants == nil {
				if err != nil || !strings.Contains(out, `"app_id"`) && !strings.Contains(out, "app_") {
					t.Fatalf("app create: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("app create succeeded:\n%s", out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, serr := os.Stat(filepath.Join(dir, "master.key")); serr == nil {
				t.Fatal("a new master.key was created beside a store sealed with another key")
			}
		})
	}
}
