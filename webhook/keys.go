package webhook

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
)

// Signers gives the key that signs an app's webhooks in a mode now.
type Signers interface {
	// Signer returns the signing key of the app and mode, making the
	// app's first key when it has none; ENotFound when the app is unknown.
	Signer(ctx context.Context, appID string, live bool) (*Signer, error)
}

var _ Signers = (*Keys)(nil)

// Keys keeps the webhook signing keys: one series per app and mode, so
// that a signature made for one app or mode never verifies for another.
// The private keys are sealed in the store with the master key, so every
// node sharing the store signs with the same key and agrees on when a
// rotation switches over. Parsed keys are cached (a stored generation never
// changes; parsing an RSA key is slow); which generation signs is read from
// the store each time.
type Keys struct {
	DB  *store.DB
	Box *seal.Box
	// Now is the clock deciding whether a rotation has switched over;
	// default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	cache  map[string]*Signer // by sealName
	create sync.Mutex         // one first key made at a time in this process
}

// Published is what an app's webhook receivers should trust in one mode.
type Published struct {
	// Newest is the newest key's SPKI PEM, what
	// GET /v1/webhook_endpoints/public_key serves. During a rotation's
	// overlap it does not sign yet.
	Newest []byte
	// Signing is the public PEM of the key signing now; the same as Newest
	// outside a rotation's overlap.
	Signing []byte
	// SwitchAt is when Newest starts signing; zero when it already does.
	SwitchAt time.Time
}

// All lists the keys a receiver should accept now, newest first.
func (p *Published) All() [][]byte {
	if p.SwitchAt.IsZero() {
		return [][]byte{p.Newest}
	}
	return [][]byte{p.Newest, p.Signing}
}

// Rotation is a new key generation and when it starts signing.
type Rotation struct {
	Generation   int
	PublicKeyPEM []byte
	SwitchAt     time.Time
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// sealName binds a sealed key to its app, mode and generation: a sealed
// value copied into another app's row does not open.
func sealName(appID string, live bool, gen int) string {
	mode := "test"
	if live {
		mode = "live"
	}
	return fmt.Sprintf("webhook.key/%s/%s/%d", appID, mode, gen)
}

// Signer implements Signers.
func (k *Keys) Signer(ctx context.Context, appID string, live bool) (*Signer, error) {
	ks, err := k.series(ctx, appID, live)
	if err != nil {
		return nil, err
	}
	return k.open(signing(ks, k.now().UnixMilli()))
}

// Published returns the app's public keys in a mode, making its first key
// when it has none; ENotFound when the app is unknown.
func (k *Keys) Published(ctx context.Context, appID string, live bool) (*Published, error) {
	ks, err := k.series(ctx, appID, live)
	if err != nil {
		return nil, err
	}
	newest, err := k.open(ks[0])
	if err != nil {
		return nil, err
	}
	cur := signing(ks, k.now().UnixMilli())
	sg, err := k.open(cur)
	if err != nil {
		return nil, err
	}
	p := &Published{Newest: newest.PublicKeyPEM(), Signing: sg.PublicKeyPEM()}
	if cur.Generation != ks[0].Generation {
		p.SwitchAt = time.UnixMilli(ks[0].ActiveFrom)
	}
	return p, nil
}

// Rotate adds a new key for the app and mode. It is published at once and
// signs once overlap has passed; until then the current key keeps signing,
// so receivers can add the new key first. ENotFound when the app is
// unknown; EInvalid for a negative overlap; EConflict while an earlier
// rotation has not switched over yet, or when another rotation of the same
// series won a race.
func (k *Keys) Rotate(ctx context.Context, appID string, live bool, overlap time.Duration) (*Rotation, error) {
	if overlap < 0 {
		return nil, polypay.Errorf(polypay.EInvalid, "overlap must not be negative")
	}
	if _, err := k.series(ctx, appID, live); err != nil { // the key being replaced
		return nil, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sg, err := NewSigner(priv)
	if err != nil {
		return nil, err
	}
	der := x509.MarshalPKCS1PrivateKey(priv)
	now := k.now()
	switchAt := now.Add(overlap)
	if overlap > 0 && !switchAt.Equal(switchAt.Truncate(time.Second)) {
		// A whole second, so that the time announced in RFC 3339 is exact.
		switchAt = switchAt.Truncate(time.Second).Add(time.Second)
	}
	at := switchAt.UnixMilli()
	var gen int
	err = k.DB.Write(ctx, func(tx *store.Tx) error {
		ks, err := tx.LatestWebhookKeys(ctx, appID, live, 1)
		if err != nil {
			return err
		}
		if len(ks) == 0 {
			return errors.New("webhook: key series vanished")
		}
		if ks[0].ActiveFrom > now.UnixMilli() {
			return polypay.Errorf(polypay.EConflict, "webhook key generation %d of %s starts signing at %s; rotate again after that",
				ks[0].Generation, appID, time.UnixMilli(ks[0].ActiveFrom).UTC().Format(time.RFC3339))
		}
		gen = ks[0].Generation + 1
		ok, err := tx.InsertWebhookKeyIfAbsent(ctx, store.WebhookKey{AppID: appID, Live: live, Generation: gen,
			Sealed: k.Box.Seal(sealName(appID, live, gen), der), ActiveFrom: at})
		if err == nil && !ok {
			err = polypay.Errorf(polypay.EConflict, "another rotation of %s's webhook key happened at the same time", appID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Rotation{Generation: gen, PublicKeyPEM: sg.PublicKeyPEM(), SwitchAt: time.UnixMilli(at)}, nil
}

// signing picks, from the newest generations (newest first), the one that
// signs at now (unix ms): the newest whose time has come.
func signing(ks []store.WebhookKey, now int64) store.WebhookKey {
	for _, x := range ks {
		if x.ActiveFrom <= now {
			return x
		}
	}
	return ks[len(ks)-1]
}

// series returns the newest two generations, newest first, making the
// first one when there is none.
func (k *Keys) series(ctx context.Context, appID string, live bool) ([]store.WebhookKey, error) {
	ks, err := k.latest(ctx, appID, live)
	if err != nil || len(ks) > 0 {
		return ks, err
	}
	if err := k.createFirst(ctx, appID, live); err != nil {
		return nil, err
	}
	if ks, err = k.latest(ctx, appID, live); err == nil && len(ks) == 0 {
		err = errors.New("webhook: first key not found after creating it")
	}
	return ks, err
}

func (k *Keys) latest(ctx context.Context, appID string, live bool) ([]store.WebhookKey, error) {
	var ks []store.WebhookKey
	err := k.DB.Read(ctx, func(tx *store.Tx) (err error) {
		ks, err = tx.LatestWebhookKeys(ctx, appID, live, 2)
		return err
	})
	return ks, err
}

// createFirst stores generation 1, signing from the start. Nodes racing
// to make it insert if absent: the first writer's key is the one everybody
// then reads.
func (k *Keys) createFirst(ctx context.Context, appID string, live bool) error {
	k.create.Lock()
	defer k.create.Unlock()
	if ks, err := k.latest(ctx, appID, live); err != nil || len(ks) > 0 {
		return err // made meanwhile by another caller in this process
	}
	if err := k.DB.Read(ctx, func(tx *store.Tx) error { // before the slow part
		_, err := tx.GetApp(ctx, appID)
		return err
	}); err != nil {
		return err
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(priv)
	return k.DB.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetApp(ctx, appID); err != nil {
			return err
		}
		_, err := tx.InsertWebhookKeyIfAbsent(ctx, store.WebhookKey{AppID: appID, Live: live, Generation: 1,
			Sealed: k.Box.Seal(sealName(appID, live, 1), der)})
		return err
	})
}

// open unseals and parses a stored generation, once per process.
func (k *Keys) open(w store.WebhookKey) (*Signer, error) {
	name := sealName(w.AppID, w.Live, w.Generation)
	k.mu.Lock()
	s := k.cache[name]
	k.mu.Unlock()
	if s != nil {
		return s, nil
	}
	der, err := k.Box.Open(name, w.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	priv, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s, err = NewSigner(priv); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cache == nil {
		k.cache = map[string]*Signer{}
	}
	if c := k.cache[name]; c != nil {
		return c, nil
	}
	k.cache[name] = s
	return s, nil
}
