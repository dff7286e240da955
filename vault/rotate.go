package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/polypay/polypay/store"
)

// Rotation steps, in order, as passed to Rotator.After.
const (
	StepKeyAdded  = "key-added"   // keyring file holds old and new KEKs, new one active
	StepBatch     = "batch"       // one batch of cards re-wrapped and committed
	StepRewrapped = "rewrapped"   // no card uses an old KEK any more
	StepRemoved   = "key-removed" // keyring file holds only the new KEK
)

// Rotator replaces the vault's key-encryption key: it adds a new KEK to
// the keyring file (making it active), re-wraps every card's data key
// under it in batches of transactions, and then removes the old KEKs once
// no card uses them. Every intermediate state is readable: the keyring is
// replaced atomically, each card's wrapped key and key id change together
// in one row update, and an old KEK leaves the keyring only after no card
// names it. Running it again after a crash finishes the job (under one
// more new key).
type Rotator struct {
	DB   *store.DB
	Keys *Keys
	Out  io.Writer // progress; nil discards
	// Batch is how many cards one transaction re-wraps (default 200).
	Batch int
	// Grace is how long to wait after publishing the new key before
	// re-wrapping, so running nodes (which re-read the keyring file at
	// most once a second) seal new cards under it.
	Grace time.Duration
	// After is called after each step; an error stops the rotation there
	// (tests use it to simulate a crash).
	After func(step string) error
}

// RotateResult counts what a rotation did.
type RotateResult struct {
	NewKey    string
	Rewrapped int
	Removed   []string
}

func (r *Rotator) printf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, format, args...)
	}
}

func (r *Rotator) after(step string) error {
	if r.After == nil {
		return nil
	}
	return r.After(step)
}

// Rotate runs the rotation: a new active key, a grace period for running
// nodes to load it, every card re-wrapped under it in batches, then the
// old keys no card names any more removed.
func (r *Rotator) Rotate(ctx context.Context) (*RotateResult, error) {
	if r.Keys.path == "" {
		return nil, errors.New("vault: the keyring comes from $" + EnvKeys + ": rotate the key by hand (add a new key, make it active, restart, re-run with the file keyring) or move the keyring to " + KeysFile)
	}
	ring, err := r.addKey()
	if err != nil {
		return nil, err
	}
	res := &RotateResult{NewKey: ring.Active}
	if err := r.after(StepKeyAdded); err != nil {
		return res, err
	}
	if err := r.grace(ctx); err != nil {
		return res, err
	}
	if err := r.rewrapAll(ctx, ring, res); err != nil {
		return res, err
	}
	if err := r.after(StepRewrapped); err != nil {
		return res, err
	}
	if err := r.removeUnused(ctx, ring, res); err != nil {
		return res, err
	}
	return res, r.after(StepRemoved)
}

// addKey writes the keyring with a new active key and loads it.
func (r *Rotator) addKey() (*keyring, error) {
	old, err := r.Keys.current(true)
	if err != nil {
		return nil, err
	}
	ring := old.clone()
	ring.Active = newKeyID()
	ring.KEKs[ring.Active] = random32()
	if err := writeKeyring(r.Keys.path, ring, false); err != nil {
		return nil, fmt.Errorf("vault: writing keyring: %w", err)
	}
	if err := r.Keys.load(); err != nil {
		return nil, err
	}
	r.printf("vault: new key %s is active in %s (keys now: %s)\n", ring.Active, r.Keys.path, strings.Join(ring.ids(), ", "))
	return ring, nil
}

func (r *Rotator) grace(ctx context.Context) error {
	if r.Grace <= 0 {
		return nil
	}
	r.printf("vault: waiting %s for running nodes to pick up the new key\n", r.Grace)
	select {
	case <-time.After(r.Grace):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rewrapAll re-wraps, batch by batch, every card not under the active key.
func (r *Rotator) rewrapAll(ctx context.Context, ring *keyring, res *RotateResult) error {
	var total int
	if err := r.DB.Read(ctx, func(tx *store.Tx) error {
		counts, err := tx.VaultCardKeys(ctx)
		for k, n := range counts {
			if k != ring.Active {
				total += n
			}
		}
		return err
	}); err != nil {
		return err
	}
	r.printf("vault: %d cards to re-wrap\n", total)
	batch := r.Batch
	if batch <= 0 {
		batch = 200
	}
	for {
		n := 0
		err := r.DB.Write(ctx, func(tx *store.Tx) (err error) {
			n, err = r.rewrapBatch(ctx, tx, ring, batch)
			return err
		})
		if err != nil || n == 0 {
			return err
		}
		res.Rewrapped += n
		r.printf("vault: re-wrapped %d/%d cards\n", res.Rewrapped, total)
		if err := r.after(StepBatch); err != nil {
			return err
		}
	}
}

// rewrapBatch re-wraps up to batch cards' data keys under the active key
// and returns how many it changed.
func (r *Rotator) rewrapBatch(ctx context.Context, tx *store.Tx, ring *keyring, batch int) (int, error) {
	cards, err := tx.VaultCardsNotUnder(ctx, ring.Active, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cards {
		kek, err := r.Keys.kek(c.KeyID)
		if err != nil {
			return n, err
		}
		dk, err := unwrapKey(kek, c.ID, c.KeyID, c.WrappedKey)
		if err != nil {
			return n, fmt.Errorf("card %s: %w", c.ID, err)
		}
		w, err := wrapKey(ring.KEKs[ring.Active], c.ID, ring.Active, dk)
		wipe(dk)
		if err != nil {
			return n, err
		}
		ok, err := tx.RewrapVaultCard(ctx, c.ID, c.KeyID, ring.Active, w)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// removeUnused removes only keys no card names now; a straggler sealed
// under an old key by a node that had not yet seen the new keyring keeps
// its key.
func (r *Rotator) removeUnused(ctx context.Context, ring *keyring, res *RotateResult) error {
	var counts map[string]int
	if err := r.DB.Read(ctx, func(tx *store.Tx) (err error) { counts, err = tx.VaultCardKeys(ctx); return }); err != nil {
		return err
	}
	final := ring.clone()
	for id := range ring.KEKs {
		if id != ring.Active && counts[id] == 0 {
			delete(final.KEKs, id)
			res.Removed = append(res.Removed, id)
		}
	}
	sort.Strings(res.Removed)
	if len(res.Removed) > 0 {
		if err := writeKeyring(r.Keys.path, final, false); err != nil {
			return fmt.Errorf("vault: writing keyring: %w", err)
		}
		if err := r.Keys.load(); err != nil {
			return err
		}
	}
	for id, n := range counts {
		if id != ring.Active && n > 0 {
			r.printf("vault: key %s still wraps %d cards (sealed during the rotation); run rotate-key again\n", id, n)
		}
	}
	r.printf("vault: removed %d old key(s): %s\n", len(res.Removed), strings.Join(res.Removed, ", "))
	r.printf("vault: done: %d cards re-wrapped; %d cards under %s\n", res.Rewrapped, counts[ring.Active], ring.Active)
	return nil
}
