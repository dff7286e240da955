package paycode_test

import (
	"encoding/base32"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/paycode"
)

func b32(s string) string { return base32.StdEncoding.EncodeToString([]byte(s)) }

// TestRFC6238: the TOTP digits in a code are RFC 6238's own test vectors
// (Appendix B, 8 digits) for SHA-1 (version 1) and SHA-256 (version 2).
func TestRFC6238(t *testing.T) {
	sha1Key, sha256Key := b32("12345678901234567890"), b32("12345678901234567890123456789012")
	for _, v := range []struct {
		unix    int64
		version int
		want    string
	}{
		{59, 1, "94287082"}, {1111111109, 1, "07081804"}, {1111111111, 1, "14050471"},
		{1234567890, 1, "89005924"}, {2000000000, 1, "69279037"}, {20000000000, 1, "65353130"},
		{59, 2, "46119246"}, {1111111109, 2, "68084774"}, {1111111111, 2, "67062674"},
		{1234567890, 2, "91819424"}, {2000000000, 2, "90698825"}, {20000000000, 2, "77737706"},
	} {
		key := sha1Key
		if v.version == 2 {
			key = sha256Key
		}
		code, err := paycode.Generate(key, 4242, v.version, time.Unix(v.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		c, err := paycode.Parse(code)
		if err != nil || c.OTP != v.want || c.Index != 4242 || c.Version != v.version {
			t.Errorf("v%d at %d: code %s parsed %+v %v, want TOTP %s", v.version, v.unix, code, c, err, v.want)
		}
	}
}

// TestVectors: the published vectors (testdata/vectors.json, also in
// docs/payment-codes.md) are what Generate makes; a client implementing
// the format must reproduce them.
func TestVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Secret  string `json:"secret"`
		Index   uint32 `json:"index"`
		Version int    `json:"version"`
		Unix    int64  `json:"unix"`
		Code    string `json:"code"`
	}
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) < 4 {
		t.Fatalf("vectors: %v (%d)", err, len(vs))
	}
	for _, v := range vs {
		got, err := paycode.Generate(v.Secret, v.Index, v.Version, time.Unix(v.Unix, 0))
		if err != nil || got != v.Code {
			t.Errorf("%+v: got %s %v", v, got, err)
		}
	}
}

func TestParseAndVerify(t *testing.T) {
	key := b32("a device secret of thirty-two b.")
	now := time.Unix(1796650000, 0)
	code, _ := paycode.Generate(key, 99999999, 2, now)
	c, err := paycode.Parse(code)
	if err != nil || c.Index != 99999999 {
		t.Fatalf("parse %s: %+v %v", code, c, err)
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"one step late", now.Add(paycode.Period), true},
		{"one step early", now.Add(-paycode.Period), true},
		{"two steps late", now.Add(2 * paycode.Period), false},
		{"two steps early", now.Add(-2 * paycode.Period), false},
	} {
		if _, ok := paycode.Verify(key, c, tc.at); ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
		}
	}
	if _, ok := paycode.Verify(b32("another secret of thirty-two by."), c, now); ok {
		t.Error("another device's secret verified the code")
	}
	// Every single-digit change is caught by the check digit.
	for i := 0; i < paycode.Length; i++ {
		b := []byte(code)
		b[i] = '0' + (b[i]-'0'+1)%10
		if _, err := paycode.Parse(string(b)); err == nil {
			t.Errorf("digit %d changed: %s parsed", i, b)
		}
	}
	online, _ := paycode.NewOnline("1234567890123456")
	if c, err := paycode.Parse(online); err != nil || c.Version != paycode.Online {
		t.Fatalf("online %s: %+v %v", online, c, err)
	}
	for _, bad := range []string{"", "134567890123456789", "281234567890123456", strings.Repeat("9", 19), "9" + strings.Repeat("a", 18),
		"62" + strings.Repeat("1", 17), online[:18], online + "0"} {
		if _, err := paycode.Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestNoCollisions: two devices' codes in one step differ, whatever their
// TOTPs: equal codes would need equal TOTPs and then equal indexes.
func TestNoCollisions(t *testing.T) {
	now := time.Unix(1796650000, 0)
	seen := map[string]uint32{}
	for i := uint32(0); i < 5000; i++ {
		key := b32(strings.Repeat(string(rune('a'+i%26)), 31) + string(rune('A'+i%26)) + strings.Repeat("x", int(i%7)))
		code, err := paycode.Generate(key, i*19997%100000000, 1, now)
		if err != nil {
			t.Fatal(err)
		}
		if j, dup := seen[code]; dup {
			t.Fatalf("devices %d and %d share code %s", j, i, code)
		}
		seen[code] = i
	}
}

func FuzzParse(f *testing.F) {
	key := b32("fuzz seed secret of 32 bytes....")
	code, _ := paycode.Generate(key, 12345678, 1, time.Unix(1796650000, 0))
	online, _ := paycode.NewOnline("0000000000000000")
	for _, s := range []string{code, online, "", "9", strings.Repeat("9", 19), "281234567890123456", "9\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := paycode.Parse(s)
		if err != nil {
			return
		}
		if !paycode.Is(s) || c.Index >= 100000000 || (c.Version != paycode.Online && len(c.OTP) != 8) {
			t.Fatalf("parsed %q as %+v", s, c)
		}
	})
}
