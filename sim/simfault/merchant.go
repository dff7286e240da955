package simfault

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Fault is what goes wrong for a merchant's API calls.
type Fault struct {
	// Down answers every call 503 Service Unavailable, before processing.
	Down bool
	// FailRate answers that fraction of calls 503 (flaky), 0..1.
	FailRate float64
	// Latency delays every answer (slow).
	Latency time.Duration
}

// MerchantFaults makes a simulated channel slow, flaky or down for one
// merchant, as real channels sometimes are (the health tests), where Faults
// shakes a whole simulator at random. The zero value has none. Safe for
// concurrent use.
type MerchantFaults struct {
	mu sync.Mutex
	m  map[string]Fault
}

// Set installs (or with the zero Fault, clears) a merchant's fault.
func (f *MerchantFaults) Set(merchantID string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]Fault{}
	}
	if fault == (Fault{}) {
		delete(f.m, merchantID)
		return
	}
	f.m[merchantID] = fault
}

// Apply runs a merchant's fault for one call: it sleeps for the latency,
// and answers 503 and returns true when the call fails.
func (f *MerchantFaults) Apply(w http.ResponseWriter, r *http.Request, merchantID string) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	fault, ok := f.m[merchantID]
	f.mu.Unlock()
	if !ok {
		return false
	}
	if fault.Latency > 0 {
		select {
		case <-time.After(fault.Latency):
		case <-r.Context().Done():
			return true
		}
	}
	if fault.Down || fault.FailRate > 0 && rand.Float64() < fault.FailRate {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
		return true
	}
	return false
}
