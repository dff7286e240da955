//go:build faultharness && linux

package faultharness

import "syscall"

// childAttr makes polypay die with the harness: a harness killed by
// -timeout or ^C must not leave a polypay running on its port.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
