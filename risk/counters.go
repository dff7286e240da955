package risk

import (
	"context"
	"strings"
	"time"
)

// counters reads the velocity counters of the facts present: over the
// app's window for rules (ip_cards, card_ips, ...), and over each built-in
// rule's own window (suffix _t for card testing, _s for card spread) when
// it differs. Each is one indexed count in the store, so every node on one
// database sees the same numbers.
func counters(ctx context.Context, tx Tx, f Facts, cfg Config, now int64, need needs) (Counters, error) {
	c := Counters{}
	since := func(w time.Duration) int64 { return now*1000 - w.Milliseconds() }
	type q struct {
		kind, value, prefix, distinct string
		window                        time.Duration
	}
	qs := []q{
		{"ip", f.IP, "ip", "cards", cfg.Window},
		{"card", f.Card, "card", "ips", cfg.Window},
		{"email", key(f.AppID, "email", f.Email), "email", "cards", cfg.Window},
		{"device", key(f.AppID, "device", f.Device), "device", "cards", cfg.Window},
		{"customer", key(f.AppID, "customer", f.Customer), "customer", "cards", cfg.Window},
	}
	for _, x := range qs {
		if x.value == "" || !need[x.kind] {
			continue
		}
		n, err := tx.RiskCounts(ctx, f.AppID, f.Live, x.kind, x.value, since(x.window))
		if err != nil {
			return nil, err
		}
		c[x.prefix+"_attempts"], c[x.prefix+"_failures"], c[x.prefix+"_"+x.distinct] = n.Attempts, n.Failures, n.Distinct
	}
	for _, b := range []struct {
		kind, value, distinct, suffix string
		t                             Threshold
	}{{"ip", f.IP, "cards", "_t", cfg.CardTesting}, {"card", f.Card, "ips", "_s", cfg.CardSpread}} {
		if b.value == "" {
			continue
		}
		n := struct{ a, f, d int64 }{c[b.kind+"_attempts"], c[b.kind+"_failures"], c[b.kind+"_"+b.distinct]}
		if b.t.Window != cfg.Window {
			got, err := tx.RiskCounts(ctx, f.AppID, f.Live, b.kind, b.value, since(b.t.Window))
			if err != nil {
				return nil, err
			}
			n.a, n.f, n.d = got.Attempts, got.Failures, got.Distinct
		}
		c[b.kind+"_attempts"+b.suffix], c[b.kind+"_failures"+b.suffix], c[b.kind+"_"+b.distinct+b.suffix] = n.a, n.f, n.d
	}
	return c, nil
}

func equalFold(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// needs says which counters to read: by IP and card always (the built-in
// rules), by email, device and customer only when a merchant rule reads
// them (each is a query on the hot path).
type needs map[string]bool

func needsOf(conditions []string) needs {
	n := needs{"ip": true, "card": true}
	for _, c := range conditions {
		for _, k := range []string{"email", "device", "customer"} {
			if strings.Contains(c, k+"_") {
				n[k] = true
			}
		}
	}
	return n
}

// allNeeds reads every counter (dry runs, where cost is no concern).
var allNeeds = needs{"ip": true, "card": true, "email": true, "device": true, "customer": true}
