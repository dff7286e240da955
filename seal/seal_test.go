package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	sealed := b.Seal("slot", []byte("private key"))
	if bytes.Contains([]byte(sealed), []byte("private")) {
		t.Fatal("plaintext visible in sealed value")
	}
	tests := []struct {
		name string
		box  *Box
		slot string
		val  string
		ok   bool
	}{
		{"OK", b, "slot", sealed, true},
		{"ErrOtherSlot", b, "other", sealed, false},
		{"ErrOtherKey", other, "slot", sealed, false},
		{"ErrTampered", b, "slot", sealed[:len(sealed)-4] + "AAA=", false},
		{"ErrFormat", b, "slot", "plain", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Open(tc.slot, tc.val)
			if (err == nil) != tc.ok || (tc.ok && string(got) != "private key") {
				t.Fatalf("Open = %q, %v; want ok=%v", got, err, tc.ok)
			}
		})
	}
}

func TestLoadMasterKeyCreatesOnce(t *testing.T) {
	t.Setenv(EnvMasterKey, "")
	dir := t.TempDir()
	k1, err := LoadMasterKey(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadMasterKey(dir, false)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want %x", k2, err, k1)
	}
	st, _ := os.Stat(filepath.Join(dir, "master.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := LoadMasterKey(t.TempDir(), false); err == nil {
		t.Fatal("missing key without create: no error")
	}
}

// TestMAC: a MAC is stable for one key and name, differs across names and
// keys, and is not the unkeyed SHA-256 a copied database could test
// guesses against.
func TestMAC(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	k2[0] = 1
	b1, _ := New(k1)
	b2, _ := New(k2)
	data := []byte(`{"card_number":"6216261000000000018"}`)
	sum := sha256.Sum256(data)
	tests := []struct {
		name      string
		a, b      string
		wantEqual bool
	}{
		{"Stable", b1.MAC("x", data), b1.MAC("x", data), true},
		{"OtherName", b1.MAC("x", data), b1.MAC("y", data), false},
		{"OtherKey", b1.MAC("x", data), b2.MAC("x", data), false},
		{"NotUnkeyed", b1.MAC("x", data), hex.EncodeToString(sum[:]), false},
	}
	for _, tc := range tests {
		if (tc.a == tc.b) != tc.wantEqual {
			t.Errorf("%s: %s vs %s", tc.name, tc.a, tc.b)
		}
	}
}
