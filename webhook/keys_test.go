package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

var ctx = context.Background()

// fakeClock is a settable clock for Keys.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keysEnv is one store with apps, a master key, and a Keys per "node"
// (each with its own cache, sharing the store and the clock).
type keysEnv struct {
	db    *store.DB
	box   *seal.Box
	clock *fakeClock
}

func newKeysEnv(t *testing.T, b storetest.Backend, apps ...string) *keysEnv {
	t.Helper()
	db := b.Open(t)
	mk := make([]byte, 32)
	rand.Read(mk)
	box, err := seal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range apps {
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.InsertApp(ctx, &polypay.App{ID: id, Name: id, Created: tx.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	return &keysEnv{db: db, box: box, clock: &fakeClock{t: time.Unix(1_800_000_000, 0)}}
}

func (e *keysEnv) node() *webhook.Keys { return &webhook.Keys{DB: e.db, Box: e.box, Now: e.clock.Now} }

// signs reports whether a body signed by k's current key for app/mode
// verifies with pub.
func signs(t *testing.T, k *webhook.Keys, app string, live bool, pub []byte) bool {
	t.Helper()
	s, err := k.Signer(ctx, app, live)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_1","type":"charge.succeeded"}`)
	return webhook.Verify(body, s.Sign(body), pub) == nil
}

func published(t *testing.T, k *webhook.Keys, app string, live bool) *webhook.Published {
	t.Helper()
	p, err := k.Published(ctx, app, live)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWebhookKeysPerAppAndMode: each app and mode signs with a key of its
// own, which a second node on the same store uses too; a signature made for
// one app or mode never verifies with another's published key.
func TestWebhookKeysPerAppAndMode(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newKeysEnv(t, b, "app_A", "app_B")
			n1, n2 := e.node(), e.node()
			type slot struct {
				app  string
				live bool
			}
			slots := []slot{{"app_A", false}, {"app_A", true}, {"app_B", false}, {"app_B", true}}
			for _, signer := range slots {
				for _, verifier := range slots {
					name := signer.app + map[bool]string{false: "Test", true: "Live"}[signer.live] + "/" +
						verifier.app + map[bool]string{false: "Test", true: "Live"}[verifier.live]
					t.Run(name, func(t *testing.T) {
						pub := published(t, n2, verifier.app, verifier.live).Newest
						got := signs(t, n1, signer.app, signer.live, pub)
						if want := signer == verifier; got != want {
							t.Fatalf("signature of %v verifies with %v's key: got %v, want %v", signer, verifier, got, want)
						}
					})
				}
			}
		})
	}
}

// TestWebhookKeyCreationRace: nodes sharing a store that all make an
// app's first key at once end up with one key.
func TestWebhookKeyCreationRace(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newKeysEnv(t, b, "app_A")
			nodes := []*webhook.Keys{e.node(), e.node(), e.node()}
			pems := make([][]byte, 6)
			var wg sync.WaitGroup
			for i := range pems {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p, err := nodes[i%len(nodes)].Published(ctx, "app_A", true)
					if err != nil {
						t.Error(err)
						return
					}
					pems[i] = p.Newest
				}()
			}
			wg.Wait()
			for i, p := range pems {
				if !bytes.Equal(p, pems[0]) {
					t.Fatalf("caller %d got another key than caller 0", i)
				}
			}
			if !signs(t, nodes[1], "app_A", true, pems[0]) {
				t.Fatal("the agreed key does not sign")
			}
		})
	}
}

// TestRotateWebhookKey: a rotation publishes the new key at once, the old
// key signs until the overlap ends, then the new one signs; every node
// agrees, by the stored switch time.
func TestRotateWebhookKey(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newKeysEnv(t, b, "app_A")
			n1, n2 := e.node(), e.node()
			old := published(t, n1, "app_A", false).Newest
			start := e.clock.Now()
			rot, err := n1.Rotate(ctx, "app_A", false, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if rot.Generation != 2 || !rot.SwitchAt.Equal(start.Add(time.Hour)) || bytes.Equal(rot.PublicKeyPEM, old) {
				t.Fatalf("rotation = generation %d, switch %v; want 2, %v, a new key", rot.Generation, rot.SwitchAt, start.Add(time.Hour))
			}
			if _, err := n2.Rotate(ctx, "app_A", false, time.Hour); polypay.ErrorCode(err) != polypay.EConflict {
				t.Fatalf("second rotation during the overlap: err %v, want %s", err, polypay.EConflict)
			}
			tests := []struct {
				name      string
				advance   time.Duration
				signer    []byte // the key that must sign
				notSigner []byte
				all       [][]byte
				switchAt  time.Time
			}{
				{"DuringOverlap", 0, old, rot.PublicKeyPEM, [][]byte{rot.PublicKeyPEM, old}, rot.SwitchAt},
				{"LastMillisecond", time.Hour - time.Millisecond, old, rot.PublicKeyPEM, [][]byte{rot.PublicKeyPEM, old}, rot.SwitchAt},
				{"AfterOverlap", time.Millisecond, rot.PublicKeyPEM, old, [][]byte{rot.PublicKeyPEM}, time.Time{}},
			}
			for _, tc := range tests {
				e.clock.Add(tc.advance)
				t.Run(tc.name, func(t *testing.T) {
					for i, n := range []*webhook.Keys{n1, n2} {
						if !signs(t, n, "app_A", false, tc.signer) || signs(t, n, "app_A", false, tc.notSigner) {
							t.Fatalf("node %d: wrong key signs", i+1)
						}
						p := published(t, n, "app_A", false)
						if !bytes.Equal(p.Newest, rot.PublicKeyPEM) {
							t.Fatalf("node %d: published key is not the new one", i+1)
						}
						if !p.SwitchAt.Equal(tc.switchAt) {
							t.Fatalf("node %d: SwitchAt = %v, want %v", i+1, p.SwitchAt, tc.switchAt)
						}
						if got := p.All(); !equalPEMs(got, tc.all) {
							t.Fatalf("node %d: All() has %d keys, want %d (newest first)", i+1, len(got), len(tc.all))
						}
					}
				})
			}
			// After the switch, the next rotation is allowed.
			if r3, err := n2.Rotate(ctx, "app_A", false, 0); err != nil || r3.Generation != 3 || !signs(t, n1, "app_A", false, r3.PublicKeyPEM) {
				t.Fatalf("rotation with no overlap: %+v %v; want generation 3 signing at once", r3, err)
			}
		})
	}
}

func TestRotateWebhookKeyErrors(t *testing.T) {
	e := newKeysEnv(t, storetest.Backends(t)[0], "app_A")
	k := e.node()
	tests := []struct {
		name    string
		app     string
		overlap time.Duration
		want    string
	}{
		{"ErrUnknownApp", "app_nope", time.Hour, polypay.ENotFound},
		{"ErrNegativeOverlap", "app_A", -time.Second, polypay.EInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := k.Rotate(ctx, tc.app, false, tc.overlap); polypay.ErrorCode(err) != tc.want {
				t.Fatalf("Rotate: err %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := k.Published(ctx, "app_nope", false); polypay.ErrorCode(err) != polypay.ENotFound {
		t.Fatalf("Published for an unknown app: err %v, want %s", err, polypay.ENotFound)
	}
}

// TestWebhookKeySealedPerSlot: a sealed key copied into another app's
// series does not open there (the seal binds app, mode and generation).
func TestWebhookKeySealedPerSlot(t *testing.T) {
	e := newKeysEnv(t, storetest.Backends(t)[0], "app_A", "app_B")
	k := e.node()
	if _, err := k.Signer(ctx, "app_A", false); err != nil {
		t.Fatal(err)
	}
	var ks []store.WebhookKey
	if err := e.db.Read(ctx, func(tx *store.Tx) (err error) {
		ks, err = tx.LatestWebhookKeys(ctx, "app_A", false, 1)
		return err
	}); err != nil || len(ks) != 1 {
		t.Fatalf("app_A's key: %v %v", ks, err)
	}
	for _, dst := range []struct {
		name string
		app  string
		live bool
	}{{"OtherApp", "app_B", false}, {"OtherMode", "app_A", true}} {
		t.Run(dst.name, func(t *testing.T) {
			if err := e.db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.InsertWebhookKeyIfAbsent(ctx, store.WebhookKey{AppID: dst.app, Live: dst.live, Generation: 1, Sealed: ks[0].Sealed})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if s, err := e.node().Signer(ctx, dst.app, dst.live); err == nil {
				t.Fatalf("a key sealed for app_A/test opened as %s: %v", dst.name, s)
			}
		})
	}
}

func equalPEMs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestRotateWebhookKeySwitchTime: an announced switch falls on a whole
// second (rounded up, so the old key never stops early), a switch with no
// overlap is immediate.
func TestRotateWebhookKeySwitchTime(t *testing.T) {
	e := newKeysEnv(t, storetest.Backends(t)[0], "app_A")
	k := e.node()
	e.clock.Add(1500 * time.Millisecond)
	base := e.clock.Now()
	tests := []struct {
		name    string
		live    bool
		overlap time.Duration
		want    time.Time
	}{
		{"RoundedUp", false, time.Hour, base.Add(time.Hour + 500*time.Millisecond)},
		{"Immediate", true, 0, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := k.Rotate(ctx, "app_A", tc.live, tc.overlap)
			if err != nil {
				t.Fatal(err)
			}
			if !r.SwitchAt.Equal(tc.want) {
				t.Fatalf("SwitchAt = %v, want %v", r.SwitchAt, tc.want)
			}
		})
	}
}
