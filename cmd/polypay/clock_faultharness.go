//go:build faultharness

package main

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// In binaries built for the fault harness (go build -tags faultharness),
// $POLYPAY_FAULTHARNESS_CLOCK names a file holding a number of seconds the
// node's clock runs ahead of the wall clock; the harness rewrites it to
// move every node through a year of billing. Without the variable the
// clock is the wall clock.
func init() {
	path := os.Getenv("POLYPAY_FAULTHARNESS_CLOCK")
	if path == "" {
		return
	}
	harnessClock = func() func() time.Time { return fileClock(path) }
}

// fileClock reads the offset at most every 10 ms.
func fileClock(path string) func() time.Time {
	var mu sync.Mutex
	var offset time.Duration
	var read time.Time
	return func() time.Time {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if now.Sub(read) > 10*time.Millisecond {
			if b, err := os.ReadFile(path); err == nil {
				if s, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
					offset = time.Duration(s) * time.Second
				}
			}
			read = now
		}
		return now.Add(offset)
	}
}
