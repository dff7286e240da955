package main

import "time"

// harnessClock, set only in binaries built with the faultharness tag
// (clock_faultharness.go), gives serve a clock the fault harness moves.
// Release builds have none: nil.
var harnessClock func() func() time.Time
