package channel

import (
	"testing"
	"time"

	"github.com/polypay/polypay"
)

// TestRenewalDue: an authorization is renewed in the RenewBefore window
// before its token expires, while its refresh token works, and never once
// revoked or without a refresh token.
func TestRenewalDue(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	day := int64(24 * 3600)
	at := func(days int64) int64 { return now.Unix() + days*day }
	for _, tc := range []struct {
		name string
		a    polypay.AppAuth
		want bool
	}{
		{"fresh", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(300), ReExpiresAt: at(307)}, false},
		{"just outside the window", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(31), ReExpiresAt: at(38)}, false},
		{"in the window", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(29), ReExpiresAt: at(36)}, true},
		{"token lapsed, refresh token alive", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(-1), ReExpiresAt: at(6)}, true},
		{"both lapsed", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(-8), ReExpiresAt: at(-1)}, false},
		{"revoked", polypay.AppAuth{RefreshToken: "r", ExpiresAt: at(1), ReExpiresAt: at(8), Revoked: true}, false},
		{"no refresh token", polypay.AppAuth{ExpiresAt: at(1), ReExpiresAt: at(8)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := due(tc.a, now); got != tc.want {
				t.Fatalf("due = %v, want %v", got, tc.want)
			}
		})
	}
}
