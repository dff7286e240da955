package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version and commit are stamped at build time:
//
//	go build -ldflags "-X main.version=v0.4.0 -X main.commit=abc123" ./cmd/polypay
//
// The Dockerfile sets exactly these two names. A plain `go build` leaves
// version "dev" and takes the commit from the VCS stamp Go embeds.
var (
	version = "dev"
	commit  = ""
)

// buildCommit is the stamped commit, else the vcs.revision (with
// "-dirty" for a modified tree) Go records, else "unknown".
func buildCommit(info func() (*debug.BuildInfo, bool)) string {
	if commit != "" {
		return commit
	}
	bi, ok := info()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "polypay %s (commit %s)\n", version, buildCommit(debug.ReadBuildInfo))
}
