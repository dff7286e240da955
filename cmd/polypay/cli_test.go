package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestPreflight(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		done     bool
		stdout   string // substring wanted on stdout
		stderr   string // substring wanted on stderr
		noStdout bool
	}{
		{"Bare", nil, 2, true, "", "Usage:", true},
		{"Version", []string{"version"}, 0, true, "polypay dev (commit ", "", false},
		{"DashDashVersion", []string{"--version"}, 0, true, "polypay dev (commit ", "", false},
		{"AppHelp", []string{"app", "--help"}, 0, true, "polypay app create", "", false},
		{"ConsoleH", []string{"console", "-h"}, 0, true, "Usage:", "", false},
		{"ServeRuns", []string{"serve", "--help"}, 0, false, "", "", true},
		{"AppCreateRuns", []string{"app", "create", "--help"}, 0, false, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code, done := preflight(tt.args, &out, &errOut)
			if code != tt.code || done != tt.done {
				t.Fatalf("got code %d done %v, want %d %v", code, done, tt.code, tt.done)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
			if tt.noStdout && out.Len() > 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestBuildCommit(t *testing.T) {
	info := func(settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Settings: settings}, true }
	}
	tests := []struct {
		name, stamped string
		info          func() (*debug.BuildInfo, bool)
		want          string
	}{
		{"Stamped", "abc", info(debug.BuildSetting{Key: "vcs.revision", Value: "fff"}), "abc"},
		{"VCS", "", info(debug.BuildSetting{Key: "vcs.revision", Value: "fff"}), "fff"},
		{"VCSDirty", "", info(debug.BuildSetting{Key: "vcs.revision", Value: "fff"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "fff-dirty"},
		{"NoVCS", "", info(), "unknown"},
		{"NoBuildInfo", "", func() (*debug.BuildInfo, bool) { return nil, false }, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := commit
			commit = tt.stamped
			defer func() { commit = old }()
			if got := buildCommit(tt.info); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSubcommandHelp: --help on every command answers (exit 0) before
// opening any store.
func TestSubcommandHelp(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		run  func() error
	}{
		{"serve", func() error { return serve([]string{"--help"}) }},
		{"sim", func() error { return simCmd([]string{"-h"}) }},
		{"app create", func() error { return appCmd([]string{"create", "--help", "--data", dir}) }},
		{"app set-public-key", func() error { return appCmd([]string{"set-public-key", "--help"}) }},
		{"app rotate-webhook-key", func() error { return appCmd([]string{"rotate-webhook-key", "--help"}) }},
		{"channel set", func() error { return channelCmd([]string{"set", "--help"}) }},
		{"ledger check", func() error { return ledgerCmd([]string{"check", "--help"}) }},
		{"vault rotate-key", func() error { return vaultCmd([]string{"rotate-key", "--help"}) }},
		{"reconcile", func() error { return reconcileCmd([]string{"--help"}) }},
		{"console user add", func() error { return consoleCmd([]string{"user", "add", "--help"}, strings.NewReader(""), io.Discard) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, _ := os.Pipe()
			old := os.Stderr
			os.Stderr = w
			err := tt.run()
			w.Close()
			os.Stderr = old
			help, _ := io.ReadAll(r)
			if code := exitCode(err); code != 0 || !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err %v (exit %d), want flag.ErrHelp and exit 0", err, code)
			}
			if !bytes.Contains(help, []byte("Usage of")) {
				t.Errorf("no flag usage printed:\n%s", help)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("--help created %d files in the data directory", len(entries))
	}
	if exitCode(errors.New("boom")) != 1 {
		t.Error("a real error must exit 1")
	}
}

// TestBinary builds polypay with the version stamped as the Dockerfile
// does and checks what a shell sees: output and exit status.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "polypay")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=v0.4.0 -X main.commit=abc123", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"Version", []string{"version"}, 0, "polypay v0.4.0 (commit abc123)\n", ""},
		{"DashDashVersion", []string{"--version"}, 0, "polypay v0.4.0 (commit abc123)\n", ""},
		{"Bare", nil, 2, "", "Usage:"},
		{"ServeHelp", []string{"serve", "--help"}, 0, "", "-config"},
		{"AppHelp", []string{"app", "--help"}, 0, "Usage:", ""},
		{"Help", []string{"help"}, 0, "Usage:", ""},
		{"Unknown", []string{"frobnicate"}, 1, "", `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			cmd.Dir = t.TempDir()
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
			if strings.Contains(errOut.String(), "help requested") {
				t.Errorf("stderr still says %q", errOut.String())
			}
		})
	}
}
