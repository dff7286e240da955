package vault

import (
	"context"
	"fmt"

	"github.com/polypay/polypay/store"
)

// ScopeFingerprints re-derives the fingerprints of cards sealed before
// fingerprints were keyed per app and mode (FingerprintVersion 1), under
// the key of each card's app and mode, decrypting each card to do so; the
// gateway runs it when a node starts. It works in batches of transactions,
// can run on several nodes at once (a card another node got to first is
// left alone) and again after a crash, and returns how many cards it
// changed. A card it cannot open (its key-encryption key is not in the
// keyring) stops it with an error naming the card and nothing else of it.
func (v *Vault) ScopeFingerprints(ctx context.Context) (int, error) {
	const batch = 200
	total := 0
	for {
		seen, n := 0, 0
		err := v.DB.Write(ctx, func(tx *store.Tx) error {
			seen, n = 0, 0
			cards, err := tx.VaultCardsFingerprintedBefore(ctx, FingerprintVersion, batch)
			if err != nil {
				return err
			}
			seen = len(cards)
			if seen == 0 {
				return nil
			}
			r, err := v.Keys.current(false)
			if err != nil {
				return err
			}
			for _, c := range cards {
				cd, err := v.open(c)
				if err != nil {
					return fmt.Errorf("vault: re-deriving the fingerprint of card %s: %w", c.ID, err)
				}
				fp, err := fingerprint(r.FingerprintKey, c.AppID, c.Live, cd.Number)
				if err != nil {
					return err
				}
				ok, err := tx.RefingerprintVaultCard(ctx, c.ID, fp, FingerprintVersion)
				if err != nil {
					return err
				}
				if ok {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if seen == 0 {
			return total, nil
		}
	}
}
