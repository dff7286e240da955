package ratelimit

import (
	"strconv"
	"testing"
)

// TestLimiterNeverForgetsBusyKey: a throttled key stays throttled however
// many other keys pass through the limiter meanwhile (the old map was
// reset after 10,000 keys, handing the busy key a fresh bucket).
func TestLimiterNeverForgetsBusyKey(t *testing.T) {
	l := New(0.001, 2) // no refill during the test
	for l.Allow("busy") {
	}
	for i := range 3 * Size {
		l.Allow("made-up-" + strconv.Itoa(i))
		if i%1000 == 0 && l.Allow("busy") {
			t.Fatalf("busy key allowed again after %d other keys", i)
		}
	}
	if l.Allow("busy") {
		t.Fatal("busy key allowed again")
	}
	if got := l.cache.Len(); got > Size {
		t.Fatalf("limiter holds %d buckets, want at most %d", got, Size)
	}
}

func TestLimiterExhaustedTakesNoToken(t *testing.T) {
	tests := []struct {
		name  string
		taken int
		want  bool
	}{
		{"OKFresh", 0, false},
		{"OKOneLeft", 2, false},
		{"ErrNoneLeft", 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New(0.001, 3)
			for range tc.taken {
				l.Allow("ip")
			}
			for range 5 { // asking repeatedly must not spend tokens
				if got := l.Exhausted("ip"); got != tc.want {
					t.Fatalf("exhausted after %d: got %v, want %v", tc.taken, got, tc.want)
				}
			}
		})
	}
}

func TestLimiterUnlimited(t *testing.T) {
	l := New(0, 0)
	for range 1000 {
		if !l.Allow("k") || l.Exhausted("k") {
			t.Fatal("a zero limit refused")
		}
	}
}
