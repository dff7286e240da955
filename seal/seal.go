// Package seal encrypts secrets at rest (channel private keys, the webhook
// signing key) with the master key, so that a copy of the database alone
// reveals none of them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Box seals and opens values with one AES-256-GCM key, and MACs values
// with a key derived from it.
type Box struct {
	aead   cipher.AEAD
	macKey []byte
}

// New makes a Box from a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: master key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("polypay seal: mac key"))
	return &Box{aead: aead, macKey: mac.Sum(nil)}, nil
}

// MAC is a keyed digest of data under name (hex): equal inputs give equal
// digests on every node with the master key, and a copy of the database
// alone cannot test guesses against it (a card number in a request body,
// say), as it could an unkeyed hash.
func (b *Box) MAC(name string, data []byte) string {
	m := hmac.New(sha256.New, b.macKey)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encrypts plaintext; the name is bound as associated data so a sealed
// value cannot be moved to another slot.
func (b *Box) Seal(name string, plaintext []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("seal: crypto/rand: " + err.Error())
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(name))
	return "v1:" + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a value sealed under the same name.
func (b *Box) Open(name, sealed string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, errors.New("seal: unknown format")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	n := b.aead.NonceSize()
	if len(data) < n {
		return nil, errors.New("seal: value too short")
	}
	pt, err := b.aead.Open(nil, data[:n], data[n:], []byte(name))
	if err != nil {
		return nil, errors.New("seal: cannot open (wrong master key?)")
	}
	return pt, nil
}

// EnvMasterKey names the environment variable holding the base64 master key.
// Nodes sharing one PostgreSQL database must all be given the same key.
const EnvMasterKey = "POLYPAY_MASTER_KEY"

// LoadMasterKey returns the master key from $POLYPAY_MASTER_KEY, or from
// dir/master.key, creating that file (mode 0600) with a random key when
// create is true and it does not exist yet.
func LoadMasterKey(dir string, create bool) ([]byte, error) {
	return LoadMasterKeyFile(filepath.Join(dir, "master.key"), create)
}

// LoadMasterKeyFile is LoadMasterKey with the key file's path given, so the
// key can live away from the database (another disk, a secrets mount): a
// copy of the data directory alone then stays sealed.
func LoadMasterKeyFile(path string, create bool) ([]byte, error) {
	if v := os.Getenv(EnvMasterKey); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("seal: %s must be 32 bytes in base64", EnvMasterKey)
		}
		return k, nil
	}
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("seal: %s is not a 32-byte base64 key", path)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("seal: no master key: set %s or provide %s: %w", EnvMasterKey, path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadMasterKeyFile(path, false) // another process made it first
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}
