package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/vault"
)

// TestVaultRotateKeyWhileServing: `polypay vault rotate-key` on the data
// directory of a running server re-wraps every card; the server keeps
// reading them (it follows the keyring file).
func TestVaultRotateKeyWhileServing(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	t.Setenv(vault.EnvKeys, "")
	dir := t.TempDir()
	ctx := context.Background()
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	a, err := n.CreateApp(ctx, "rotate")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, num := range []string{"4242424242424242", "5555555555554444", "6200000000000005"} {
		tok, err := n.Vault.Tokenize(ctx, a.AppID, false, vault.CardInput{Number: num, ExpMonth: 12, ExpYear: 2040}, "")
		if err != nil {
			t.Fatal(err)
		}
		cus, err := n.Vault.CreateCustomer(ctx, a.AppID, false, vault.CustomerParams{Source: tok.ID})
		if err != nil {
			t.Fatal(err)
		}
		want[cus.ID] = num
	}
	for run := 1; run <= 2; run++ {
		out, err := capture(t, func() error {
			return vaultCmd([]string{"rotate-key", "--data", dir, "--grace", "0", "--batch", "2"})
		})
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		for _, s := range []string{"3 cards to re-wrap", "re-wrapped 2/3 cards", "re-wrapped 3/3 cards", "removed 1 old key(s)", "done: 3 cards re-wrapped"} {
			if !strings.Contains(out, s) {
				t.Fatalf("run %d: output lacks %q:\n%s", run, s, out)
			}
		}
		for cus, num := range want {
			cd, _, err := n.Vault.PeekCard(ctx, a.AppID, false, "", cus)
			if err != nil || cd.Number != num {
				t.Fatalf("run %d: the server cannot read %s's card: %v", run, cus, err)
			}
		}
	}
	if err := vaultCmd([]string{"nope"}); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}
