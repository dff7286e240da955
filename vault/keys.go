package vault

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
)

// EnvKeys names the environment variable that may hold the keyring JSON
// instead of the file; nodes sharing one PostgreSQL database must all see
// the same keyring.
const EnvKeys = "POLYPAY_VAULT_KEYS"

// KeysFile is the keyring's file name in the data directory.
const KeysFile = "vault.keys"

// keyring is the vault's key material. The key-encryption keys (KEKs) wrap
// each card's data key; the fingerprint key is separate and never rotated,
// so a card's fingerprint stays the same across KEK rotations.
type keyring struct {
	Version        int               `json:"version"`
	Active         string            `json:"active"`
	KEKs           map[string][]byte `json:"keks"` // base64 in JSON
	FingerprintKey []byte            `json:"fingerprint_key"`
}

func (r *keyring) validate() error {
	if r.Version != 1 {
		return fmt.Errorf("vault keyring: unknown version %d", r.Version)
	}
	if len(r.FingerprintKey) != 32 {
		return errors.New("vault keyring: fingerprint_key must be 32 bytes")
	}
	if len(r.KEKs[r.Active]) != 32 {
		return fmt.Errorf("vault keyring: active key %q missing or not 32 bytes", r.Active)
	}
	for id, k := range r.KEKs {
		if len(k) != 32 {
			return fmt.Errorf("vault keyring: key %q is not 32 bytes", id)
		}
	}
	return nil
}

func (r *keyring) clone() *keyring {
	c := &keyring{Version: r.Version, Active: r.Active, KEKs: map[string][]byte{}, FingerprintKey: r.FingerprintKey}
	for id, k := range r.KEKs {
		c.KEKs[id] = k
	}
	return c
}

func (r *keyring) ids() []string {
	var out []string
	for id := range r.KEKs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func random32() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("vault: crypto/rand failed: " + err.Error())
	}
	return b
}

func newKeyID() string { return polypay.NewID("kek_") }

func newKeyring() *keyring {
	id := newKeyID()
	return &keyring{Version: 1, Active: id, KEKs: map[string][]byte{id: random32()}, FingerprintKey: random32()}
}

// Keys gives the vault its keyring, from $POLYPAY_VAULT_KEYS or from
// <data dir>/vault.keys. A file keyring is re-read when it changes on disk
// (checked at most once a second, and at once when a card names a key this
// node does not know), so running nodes follow a rotation.
type Keys struct {
	path string // "" when the keyring comes from the environment

	mu      sync.Mutex
	ring    *keyring
	stat    fileStamp
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// OpenKeys loads the keyring from $POLYPAY_VAULT_KEYS, or from
// dataDir/vault.keys, creating that file (mode 0600) on first use.
func OpenKeys(dataDir string) (*Keys, error) {
	return OpenKeysFile(filepath.Join(dataDir, KeysFile))
}

// OpenKeysFile is OpenKeys with the keyring file's path given, so the
// keyring can live away from the database.
func OpenKeysFile(path string) (*Keys, error) {
	if v := os.Getenv(EnvKeys); strings.TrimSpace(v) != "" {
		var r keyring
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("vault: %s is not keyring JSON", EnvKeys)
		}
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("vault: %s: %w", EnvKeys, err)
		}
		return &Keys{ring: &r}, nil
	}
	k := &Keys{path: path}
	if err := k.load(); err == nil {
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := createKeyring(path, newKeyring()); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	// Either ours or another process's (created first): read what won.
	return k, k.load()
}

// KeysFromJSON builds Keys from keyring JSON (tests, tools).
func KeysFromJSON(b []byte) (*Keys, error) {
	var r keyring
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errors.New("vault: not keyring JSON")
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &Keys{ring: &r}, nil
}

// Path is the keyring file, or "" when it comes from the environment.
func (k *Keys) Path() string { return k.path }

func (k *Keys) load() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(k.path)
	if err != nil {
		return err
	}
	var r keyring
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("vault: %s is not keyring JSON", k.path)
	}
	if err := r.validate(); err != nil {
		return fmt.Errorf("vault: %s: %w", k.path, err)
	}
	k.mu.Lock()
	k.ring, k.stat, k.checked = &r, fileStamp{fi.ModTime(), fi.Size()}, time.Now()
	k.mu.Unlock()
	return nil
}

// current returns the keyring, re-reading the file if it changed; force
// skips the once-a-second limit.
func (k *Keys) current(force bool) (*keyring, error) {
	k.mu.Lock()
	r := k.ring
	fresh := k.path == "" || (!force && time.Since(k.checked) < time.Second)
	stamp := k.stat
	k.mu.Unlock()
	if fresh {
		return r, nil
	}
	fi, err := os.Stat(k.path)
	if err != nil {
		return nil, fmt.Errorf("vault: keyring: %w", err)
	}
	if fi.ModTime().Equal(stamp.mod) && fi.Size() == stamp.size {
		k.mu.Lock()
		k.checked = time.Now()
		k.mu.Unlock()
		return r, nil
	}
	if err := k.load(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ring, nil
}

// kek returns key id's bytes, reloading the keyring once if it is unknown.
func (k *Keys) kek(id string) ([]byte, error) {
	r, err := k.current(false)
	if err != nil {
		return nil, err
	}
	if key, ok := r.KEKs[id]; ok {
		return key, nil
	}
	if r, err = k.current(true); err != nil {
		return nil, err
	}
	if key, ok := r.KEKs[id]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("vault: the keyring has no key %s (nodes sharing a database must share the vault keyring)", id)
}

// createKeyring writes a new keyring file; os.ErrExist if there is one.
func createKeyring(path string, r *keyring) error {
	if _, err := os.Stat(path); err == nil {
		return os.ErrExist
	}
	return writeKeyring(path, r, true)
}

// writeKeyring replaces the keyring file atomically: the new content goes
// to a temporary file in the same directory, is flushed to disk, and is
// renamed over the old one; then the directory is flushed so the rename
// itself survives a crash. A crash at any point leaves either the old or
// the new file, never a mix. exclusive refuses to replace an existing file.
func writeKeyring(path string, r *keyring, exclusive bool) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".vault.keys.tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if exclusive {
		// link fails if path exists: two first starts cannot both win.
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, os.ErrExist) {
				return os.ErrExist
			}
			return err
		}
	} else if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
