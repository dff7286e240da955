package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// sealedCard is what the data key encrypts: everything sensitive about
// the card except the CVC, which is never stored.
type sealedCard struct {
	Number   string `json:"n"`
	ExpMonth int    `json:"m"`
	ExpYear  int    `json:"y"`
	Name     string `json:"h,omitempty"`
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func nonce(a cipher.AEAD) []byte {
	n := make([]byte, a.NonceSize())
	if _, err := rand.Read(n); err != nil {
		panic("vault: crypto/rand failed: " + err.Error())
	}
	return n
}

// wrapAAD binds a wrapped data key to its card and to the KEK that wraps
// it: a wrapped key copied to another card row, or relabelled with another
// key id, does not open.
func wrapAAD(cardID, keyID string) []byte { return []byte(cardID + "\x00" + keyID) }

func wrapKey(kek []byte, cardID, keyID string, dataKey []byte) (string, error) {
	a, err := gcm(kek)
	if err != nil {
		return "", err
	}
	n := nonce(a)
	return base64.StdEncoding.EncodeToString(a.Seal(n, n, dataKey, wrapAAD(cardID, keyID))), nil
}

func unwrapKey(kek []byte, cardID, keyID, wrapped string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return nil, errors.New("vault: wrapped key is not base64")
	}
	a, err := gcm(kek)
	if err != nil {
		return nil, err
	}
	if len(raw) < a.NonceSize() {
		return nil, errors.New("vault: wrapped key too short")
	}
	dk, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], wrapAAD(cardID, keyID))
	if err != nil {
		return nil, errors.New("vault: cannot unwrap the card's data key (wrong key-encryption key?)")
	}
	return dk, nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// FingerprintVersion is how fingerprints are keyed now (store.VaultCard
// FingerprintVersion): 2, a key per app and mode. Version 1 used the
// keyring's fingerprint key itself for every app, so two tenants holding
// the same card saw the same fingerprint.
const FingerprintVersion = 2

// fingerprintKey derives an app's key for one mode from the keyring's
// fingerprint key with HKDF-SHA256; the info string names the purpose,
// the app and the mode, NUL-separated, so no two (app, mode) pairs, and
// no other use of the root key, share a derived key.
func fingerprintKey(root []byte, appID string, live bool) ([]byte, error) {
	mode := "test"
	if live {
		mode = "live"
	}
	return hkdf.Key(sha256.New, root, nil, "polypay vault card fingerprint v2\x00"+appID+"\x00"+mode, 32)
}

// fingerprint identifies a card number within one app and mode without
// revealing it: an HMAC under the app's derived key (see fingerprintKey),
// which is not in the database, so the 10^15-odd possible numbers cannot
// be tried offline, and the same number has unrelated fingerprints in
// other apps and modes.
func fingerprint(root []byte, appID string, live bool, number string) (string, error) {
	k, err := fingerprintKey(root, appID, live)
	if err != nil {
		return "", err
	}
	defer wipe(k)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// seal fills c's sealed fields from in under the keyring's active KEK,
// and its fingerprint under the key of c's app and mode.
func (v *Vault) seal(c *store.VaultCard, in *CardInput) error {
	r, err := v.Keys.current(false)
	if err != nil {
		return err
	}
	dk := random32()
	defer wipe(dk)
	pt, err := json.Marshal(sealedCard{Number: in.Number, ExpMonth: in.ExpMonth, ExpYear: in.ExpYear, Name: in.Name})
	if err != nil {
		return err
	}
	defer wipe(pt)
	a, err := gcm(dk)
	if err != nil {
		return err
	}
	n := nonce(a)
	c.Ciphertext = base64.StdEncoding.EncodeToString(a.Seal(nil, n, pt, []byte(c.ID)))
	c.Nonce = base64.StdEncoding.EncodeToString(n)
	c.KeyID = r.Active
	if c.WrappedKey, err = wrapKey(r.KEKs[r.Active], c.ID, r.Active, dk); err != nil {
		return err
	}
	if c.Fingerprint, err = fingerprint(r.FingerprintKey, c.AppID, c.Live, in.Number); err != nil {
		return err
	}
	c.FingerprintVersion = FingerprintVersion
	return nil
}

// open decrypts a card row. Errors never contain card data.
func (v *Vault) open(c *store.VaultCard) (*polypay.CardData, error) {
	kek, err := v.Keys.kek(c.KeyID)
	if err != nil {
		return nil, err
	}
	dk, err := unwrapKey(kek, c.ID, c.KeyID, c.WrappedKey)
	if err != nil {
		return nil, err
	}
	defer wipe(dk)
	ct, err1 := base64.StdEncoding.DecodeString(c.Ciphertext)
	n, err2 := base64.StdEncoding.DecodeString(c.Nonce)
	if err1 != nil || err2 != nil {
		return nil, errors.New("vault: card ciphertext is not base64")
	}
	a, err := gcm(dk)
	if err != nil {
		return nil, err
	}
	if len(n) != a.NonceSize() {
		return nil, errors.New("vault: bad card nonce")
	}
	pt, err := a.Open(nil, n, ct, []byte(c.ID))
	if err != nil {
		return nil, errors.New("vault: cannot decrypt card " + c.ID)
	}
	defer wipe(pt)
	var s sealedCard
	if err := json.Unmarshal(pt, &s); err != nil {
		return nil, errors.New("vault: sealed card is malformed")
	}
	return &polypay.CardData{Number: s.Number, ExpMonth: s.ExpMonth, ExpYear: s.ExpYear, Name: s.Name}, nil
}

// NumberFingerprint is the fingerprint of a card number as typed, digits
// only, even when it is not a valid number ("" without digits or without
// the vault's keys): the risk engine counts card tests by it, invalid
// numbers included.
func (v *Vault) NumberFingerprint(appID string, live bool, raw string) string {
	digits := Digits(raw)
	if digits == "" {
		return ""
	}
	r, err := v.Keys.current(false)
	if err != nil {
		return ""
	}
	fp, err := fingerprint(r.FingerprintKey, appID, live, digits)
	if err != nil {
		return ""
	}
	return fp
}

// Digits keeps the digits of a card number as typed, at most 19 (the
// longest PAN): what identifies a number before it is validated.
func Digits(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw) && b.Len() < 19; i++ {
		if c := raw[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
