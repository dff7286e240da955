package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// testFlags is a small serve-like flag set: one flag of each kind serve has.
type testFlags struct {
	addr  string
	poll  time.Duration
	demo  bool
	rate  float64
	conns int
	nets  []string
	db    string
}

func newTestFlags() (*flag.FlagSet, *testFlags) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v := &testFlags{}
	fs.StringVar(&v.addr, "addr", "default:1", "")
	fs.DurationVar(&v.poll, "poll-interval", 2*time.Second, "")
	fs.BoolVar(&v.demo, "demo", false, "")
	fs.Float64Var(&v.rate, "rate-limit", 1000, "")
	fs.IntVar(&v.conns, "max-conns", 4096, "")
	fs.StringVar(&v.db, "database", "", "")
	fs.Func("allow-webhook-net", "", func(s string) error { v.nets = append(v.nets, strings.Split(s, ",")...); return nil })
	return fs, v
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "polypay.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, `
addr = "file:3"
poll-interval = "7s"
demo = true
rate-limit = 5
max-conns = 10
allow-webhook-net = ["10.0.0.0/8", "192.168.0.0/16"]
`)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want testFlags
	}{
		{"Default", nil, nil, testFlags{addr: "default:1", poll: 2 * time.Second, rate: 1000, conns: 4096}},
		{"File", []string{"--config", file}, nil,
			testFlags{addr: "file:3", poll: 7 * time.Second, demo: true, rate: 5, conns: 10, nets: []string{"10.0.0.0/8", "192.168.0.0/16"}}},
		{"EnvOverFile", []string{"--config", file}, map[string]string{"POLYPAY_ADDR": "env:2", "POLYPAY_DEMO": "false", "POLYPAY_POLL_INTERVAL": "9s"},
			testFlags{addr: "env:2", poll: 9 * time.Second, rate: 5, conns: 10, nets: []string{"10.0.0.0/8", "192.168.0.0/16"}}},
		{"EnvOverDefault", nil, map[string]string{"POLYPAY_MAX_CONNS": "3"},
			testFlags{addr: "default:1", poll: 2 * time.Second, rate: 1000, conns: 3}},
		{"FlagOverEnvAndFile", []string{"--config", file, "--addr", "flag:1", "--demo=false"}, map[string]string{"POLYPAY_ADDR": "env:2"},
			testFlags{addr: "flag:1", poll: 7 * time.Second, rate: 5, conns: 10, nets: []string{"10.0.0.0/8", "192.168.0.0/16"}}},
		{"EnvAliasDatabaseURL", nil, map[string]string{"POLYPAY_DATABASE_URL": "postgres://alias"},
			testFlags{addr: "default:1", poll: 2 * time.Second, rate: 1000, conns: 4096, db: "postgres://alias"}},
		{"EnvOwnNameBeatsAlias", nil, map[string]string{"POLYPAY_DATABASE_URL": "postgres://alias", "POLYPAY_DATABASE": "postgres://own"},
			testFlags{addr: "default:1", poll: 2 * time.Second, rate: 1000, conns: 4096, db: "postgres://own"}},
		{"ConfigFromEnv", nil, map[string]string{"POLYPAY_CONFIG": file, "POLYPAY_RATE_LIMIT": "-1"},
			testFlags{addr: "file:3", poll: 7 * time.Second, demo: true, rate: -1, conns: 10, nets: []string{"10.0.0.0/8", "192.168.0.0/16"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, got := newTestFlags()
			if err := parseLayered(fs, tt.args, envOf(tt.env)); err != nil {
				t.Fatal(err)
			}
			if got.addr != tt.want.addr || got.poll != tt.want.poll || got.demo != tt.want.demo ||
				got.rate != tt.want.rate || got.conns != tt.want.conns || got.db != tt.want.db || strings.Join(got.nets, " ") != strings.Join(tt.want.nets, " ") {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		wants []string // substrings of the error
	}{
		{"ErrUnknownKey", "addr = \"x:1\"\nlisten = \"y\"\n", nil, []string{`unknown key "listen"`}},
		{"ErrTable", "[server]\naddr = \"x:1\"\n", nil, []string{`unknown key "server"`}},
		{"ErrConfigKey", "config = \"other.toml\"\n", nil, []string{`unknown key "config"`}},
		{"ErrBadDuration", "poll-interval = \"soon\"\n", nil, []string{`key "poll-interval"`, "soon"}},
		{"ErrBadBool", "demo = \"maybe\"\n", nil, []string{`key "demo"`}},
		{"ErrBadInt", "max-conns = 1.5\n", nil, []string{`key "max-conns"`}},
		{"ErrBadType", "addr = 2026-12-07\n", nil, []string{`key "addr"`, "not a flag value"}},
		{"ErrBadEnv", "", map[string]string{"POLYPAY_POLL_INTERVAL": "later"}, []string{"$POLYPAY_POLL_INTERVAL", "later"}},
		{"ErrSyntax", "addr = \n", nil, []string{"polypay.toml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := newTestFlags()
			err := parseLayered(fs, []string{"--config", writeFile(t, tt.file)}, envOf(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	t.Run("ErrMissingFile", func(t *testing.T) {
		fs, _ := newTestFlags()
		err := parseLayered(fs, []string{"--config", "/nonexistent/polypay.toml"}, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/polypay.toml") {
			t.Fatalf("got %v, want the path named", err)
		}
	})
}

// serveFlagNames lists serve's flags as its --help prints them.
func serveFlagNames(t *testing.T) []string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stderr
	os.Stderr = w
	err := serve([]string{"--help"})
	w.Close()
	os.Stderr = old
	out, _ := io.ReadAll(r)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		if m[1] != "config" {
			names = append(names, m[1])
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d flags in serve --help:\n%s", len(names), out)
	}
	return names
}

// TestExampleConfig: docs/polypay.example.toml sets every serve flag, each
// with a comment, and serve accepts it as written.
func TestExampleConfig(t *testing.T) {
	const path = "../../docs/polypay.example.toml"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		t.Fatal(err)
	}
	names := serveFlagNames(t)
	sort.Strings(names)
	lines := strings.Split(string(raw), "\n")
	for _, n := range names {
		if _, ok := doc[n]; !ok {
			t.Errorf("serve flag --%s missing from %s", n, path)
			continue
		}
		for i, l := range lines {
			if strings.HasPrefix(l, n+" ") && (i == 0 || !strings.HasPrefix(lines[i-1], "#")) {
				t.Errorf("key %s has no comment above it", n)
			}
		}
	}
	// serve parses every value with its real flags and gets as far as
	// listening, which the unusable --addr given on the command line stops.
	err = serve([]string{"--config", path, "--addr", "256.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "256.0.0.1") {
		t.Fatalf("serve with the example file: %v, want it to reach listening on 256.0.0.1", err)
	}
}

// TestServeConfigRefused: serve itself stops before opening anything on a
// bad file, naming the key.
func TestServeConfigRefused(t *testing.T) {
	for _, tt := range []struct{ name, file, want string }{
		{"ErrUnknownKey", "adress = \"127.0.0.1:0\"\n", `unknown key "adress"`},
		{"ErrBadValue", "read-timeout = \"fast\"\n", `key "read-timeout"`},
		{"ErrBadNet", "allow-webhook-net = [\"not-a-cidr\"]\n", `key "allow-webhook-net"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := serve([]string{"--config", writeFile(t, tt.file), "--data", t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}
