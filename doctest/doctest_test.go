package doctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileTimeout bounds one document's blocks. They take 10-20 s on an idle
// 2-core machine; the margin is for CI running other packages' tests.
const fileTimeout = 2 * time.Minute

// TestDocs builds the real binary, starts `polypay serve` on a free port,
// and runs every runnable block of README.md and docs/*.md against it,
// each document in one bash process (see docs/doc-test.md).
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the doc test builds and runs the binary")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, root)
	if len(docs) == 0 {
		t.Fatal("no runnable blocks found in README.md or docs/*.md")
	}
	tmp := t.TempDir()
	bin := buildPolypay(t, root, tmp)
	api, dataDir := startNode(t, bin, tmp)
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			// Documents are independent (each has its own directory, apps
			// and receiver port) and mostly wait on processes: in parallel.
			t.Parallel()
			runDocument(t, d, docEnv{root: root, bin: filepath.Dir(bin), api: api, data: dataDir, tmp: tmp})
		})
	}
}

type document struct {
	name   string // path relative to the repository
	blocks []Block
}

func documents(t *testing.T, root string) []document {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var out []document
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		blocks, err := Extract(src)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if len(blocks) > 0 {
			out = append(out, document{name: rel, blocks: blocks})
		}
	}
	return out
}

// buildPolypay builds cmd/polypay the way a reader would, so the blocks
// run the real binary.
func buildPolypay(t *testing.T, root, tmp string) string {
	bin := filepath.Join(tmp, "bin", "polypay")
	if prebuilt := os.Getenv("DOCTEST_POLYPAY"); prebuilt != "" {
		// The documents checked against an installed binary (release
		// checks); it is linked in place so that blocks run it as polypay.
		if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(prebuilt, bin); err != nil {
			t.Fatal(err)
		}
		return bin
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/polypay")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/polypay: %v\n%s", err, out)
	}
	return bin
}

// startNode runs `polypay serve` with its defaults except the listen
// address (a free port) and the admin address (off, so that parallel test
// runs do not fight over 127.0.0.1:9464). Its data directory is
// ./polypay-data of its working directory, as in the README.
func startNode(t *testing.T, bin, tmp string) (api, dataDir string) {
	dir := filepath.Join(tmp, "node")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logf, err := os.Create(filepath.Join(tmp, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--admin-addr", "")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("polypay serve log (last 4 kB):\n%s", tail(b, 4096))
		}
	})
	api = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		rsp, err := http.Get(api + "/readyz")
		if err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return api, filepath.Join(dir, "polypay-data")
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("polypay serve is not ready after 20 s (%v)\n%s", err, tail(b, 4096))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freePort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	return port
}

type docEnv struct {
	root, bin, api, data, tmp string
}

// runDocument runs a document's blocks in one bash process, in a fresh
// directory whose ./polypay-data is the node's, so shell variables, files
// and background processes of earlier blocks are there for later ones.
func runDocument(t *testing.T, d document, e docEnv) {
	work := filepath.Join(e.tmp, "work", strings.NewReplacer("/", "_", ".", "_").Replace(d.name))
	scripts := filepath.Join(work, ".doctest")
	if err := os.MkdirAll(scripts, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.data, filepath.Join(work, "polypay-data")); err != nil {
		t.Fatal(err)
	}
	nodeModules := filepath.Join(e.root, "compat", "node", "node_modules")
	script, err := shellScript(t, d, scripts, nodeModules)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(scripts, "output.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Stdout, cmd.Stderr = work, logf, logf
	cmd.Env = append(os.Environ(),
		"PATH="+e.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"API="+e.api,
		"WEBHOOK_PORT="+freePort(t),
		"NODE_PATH="+nodeModules,
		"GOFLAGS=", "GO111MODULE=on",
	)
	// Background processes the blocks start (webhook receivers) share the
	// process group and are ended with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out, _ := os.ReadFile(logPath)
	if runErr == nil && bytes.Contains(out, []byte(doneMark)) {
		t.Logf("%s: %d runnable blocks passed (%s)", d.name, len(d.blocks), blockTimes(out))
		return
	}
	if ctx.Err() != nil {
		runErr = fmt.Errorf("%w (after %s)", runErr, fileTimeout)
	}
	i, blockOut := failedBlock(out)
	if i < 0 {
		t.Fatalf("%s: %v outside any block:\n%s", d.name, runErr, tail(out, 3000))
	}
	b := d.blocks[i]
	// Background processes of earlier blocks (a webhook receiver) print
	// into those blocks' output, so that is shown too.
	earlier := tail(out[:len(out)-len(blockOut)], 3000)
	t.Fatalf("%s:%d: runnable block %d (%s) failed: %v\n--- block ---\n%s--- its output ---\n%s--- earlier output (end) ---\n%s",
		d.name, b.Line, i+1, b.Lang, runErr, b.Code, blockOut, earlier)
}

const doneMark = "\x1edoctest-block done "

var blockMark = regexp.MustCompile("\x1edoctest-block ([0-9]+|done) ([0-9]+)\x1e\n")

// shellScript turns a document's blocks into one bash script. Shell blocks
// are pasted as they are; the others are written to files and run by
// their interpreter from the script, so they see its exported variables.
// Each block is preceded by a mark the failure report splits the output on.
func shellScript(t *testing.T, d document, dir, nodeModules string) (string, error) {
	var s strings.Builder
	s.WriteString("set -euo pipefail\n")
	for i, b := range d.blocks {
		fmt.Fprintf(&s, "printf '\\n\\036doctest-block %d %%s\\036\\n' \"$(date +%%s%%3N)\"\n", i)
		if tool := interpreter[Langs[b.Lang]]; tool != "" {
			if _, err := exec.LookPath(tool); err != nil {
				t.Logf("%s:%d: skipped: %s is not on PATH", d.name, b.Line, tool)
				continue
			}
		}
		switch Langs[b.Lang] {
		case "sh":
			s.WriteString(b.Code)
		case "node":
			if strings.Contains(b.Code, "require('pingpp')") {
				if _, err := os.Stat(filepath.Join(nodeModules, "pingpp")); err != nil {
					t.Logf("%s:%d: skipped: compat/node/node_modules/pingpp is missing (run `cd compat/node && npm ci`)", d.name, b.Line)
					continue
				}
			}
			f, err := blockFile(dir, i, "js", b.Code)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&s, "node %s\n", strconv.Quote(f))
		case "python":
			if strings.Contains(b.Code, "from cryptography") && exec.Command("python3", "-c", "import cryptography").Run() != nil {
				t.Logf("%s:%d: skipped: python3 has no cryptography package (pip install cryptography)", d.name, b.Line)
				continue
			}
			f, err := blockFile(dir, i, "py", b.Code)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&s, "python3 %s\n", strconv.Quote(f))
		case "go":
			f, err := blockFile(filepath.Join(dir, fmt.Sprintf("go%d", i)), i, "go", b.Code)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&s, "go run %s\n", strconv.Quote(f))
		case "java":
			f, err := blockFile(dir, i, "java", b.Code)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&s, "java %s\n", strconv.Quote(f))
		}
		s.WriteString("\n")
	}
	s.WriteString("printf '\\n\\036doctest-block done %s\\036\\n' \"$(date +%s%3N)\"\n")
	return s.String(), nil
}

// interpreter is the program a block's language needs besides bash and go.
var interpreter = map[string]string{"node": "node", "python": "python3", "java": "java"}

func blockFile(dir string, i int, ext, code string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f := filepath.Join(dir, fmt.Sprintf("block%d.%s", i, ext))
	return f, os.WriteFile(f, []byte(code), 0o600)
}

// failedBlock finds the block that was running when the script stopped
// (the last mark) and its output.
func failedBlock(out []byte) (int, []byte) {
	ms := blockMark.FindAllSubmatchIndex(out, -1)
	if len(ms) == 0 {
		return -1, nil
	}
	m := ms[len(ms)-1]
	i, err := strconv.Atoi(string(out[m[2]:m[3]]))
	if err != nil { // "done": every block ran
		return -1, nil
	}
	return i, out[m[1]:]
}

// blockTimes says how long each block took, from the marks' clock.
func blockTimes(out []byte) string {
	ms := blockMark.FindAllSubmatch(out, -1)
	var parts []string
	for i := 0; i+1 < len(ms); i++ {
		start, _ := strconv.ParseInt(string(ms[i][2]), 10, 64)
		end, _ := strconv.ParseInt(string(ms[i+1][2]), 10, 64)
		parts = append(parts, fmt.Sprintf("%s: %d ms", ms[i][1], end-start))
	}
	return strings.Join(parts, ", ")
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
