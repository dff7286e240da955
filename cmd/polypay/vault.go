package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/vault"
)

// vaultCmd runs the card vault's operator commands.
func vaultCmd(args []string) error {
	if len(args) < 1 || args[0] != "rotate-key" {
		return errors.New("vault: want rotate-key")
	}
	fs := flag.NewFlagSet("vault rotate-key", flag.ContinueOnError)
	cfg := storeFlags(fs)
	batch := fs.Int("batch", 200, "cards re-wrapped per transaction")
	grace := fs.Duration("grace", 3*time.Second, "wait after publishing the new key so running nodes pick it up")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	keys, err := cfg.OpenVaultKeys()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	r := &vault.Rotator{DB: db, Keys: keys, Out: os.Stdout, Batch: *batch, Grace: *grace}
	if _, err := r.Rotate(ctx); err != nil {
		return fmt.Errorf("vault rotate-key: %w (every card stays readable; run the command again to finish)", err)
	}
	return nil
}
