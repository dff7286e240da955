//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package bench

import "time"

// processCPU is unknown here: the cpu column stays empty.
func processCPU() (time.Duration, bool) { return 0, false }
