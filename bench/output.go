package bench

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// printer writes the human-readable report as the run goes, so a long run
// shows progress.
type printer struct{ w io.Writer }

func (p *printer) line(s string)                { fmt.Fprintln(p.w, s) }
func (p *printer) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

func (p *printer) header(rep *Report, o *options) {
	m := rep.Machine
	p.f("polypay bench   %s\n", rep.Date)
	model := ""
	if m.CPUModel != "" {
		model = ", " + m.CPUModel
	}
	p.f("machine   %d CPUs (GOMAXPROCS %d), %s/%s, %s%s\n", m.NumCPU, m.GOMAXPROCS, m.GOOS, m.GOARCH, m.GoVersion, model)
	var ws []string
	for _, w := range []string{wCreate, wLifecycle, wRefund} {
		if o.workloads[w] {
			ws = append(ws, w)
		}
	}
	var cs []string
	for _, c := range o.conc {
		cs = append(cs, strconv.Itoa(c))
	}
	var chs []string
	for _, bc := range o.channels {
		chs = append(chs, bc.Name)
	}
	p.f("run       %v per measurement; concurrency %s; workloads %s; channels %s; durability on\n",
		o.duration, strings.Join(cs, ","), strings.Join(ws, ","), strings.Join(chs, ","))
	if m.LoadAvgStart >= 0 {
		p.f("load      1-min load average %.2f at start\n", m.LoadAvgStart)
	}
}

// othersNote flags a measurement during which other processes took CPU.
func othersNote(others float64) string {
	if others < 0 {
		return ""
	}
	s := fmt.Sprintf("other processes %.0f%% CPU", 100*others)
	if others >= busyOthers {
		s += " (!)"
	}
	return s
}

// busyOthers is the share of the machine other processes may take during a
// measurement before its figure is flagged as understated.
const busyOthers = 0.10

func (p *printer) ceilings(rep *Report, channels []*benchChannel) {
	c := rep.Ceilings
	p.line("")
	p.line("Machine ceilings (measured in this run)")
	p.f("  %-58s %10.1f signs/s    %s\n", fmt.Sprintf("RSA-2048 PKCS#1 v1.5 SHA-256, %d goroutines", c.RSAGoroutines), c.RSASignsPerSec, othersNote(c.RSAOthers))
	p.f("  %-58s %10.1f req/s      %s\n", fmt.Sprintf("loopback HTTP, trivial handler, Connection: close, c=%d", c.HTTPConcurrency), c.HTTPClosePerSec, othersNote(c.HTTPOthers))
	for _, bc := range channels {
		p.f("  %s\n", bc.Name)
		p.f("    signatures per lifecycle: %d\n", len(bc.Lifecycle))
		for _, s := range bc.Lifecycle {
			p.f("        %-8s %s\n", s.Phase, s.What)
		}
		p.f("    %-56s %10.1f lifecycles/s\n", fmt.Sprintf("RSA-bound lifecycle ceiling = %.1f / %d", c.RSASignsPerSec, len(bc.Lifecycle)), bc.LifecycleRSABound)
		p.f("    signatures per create: %d (the create steps above); per refund: %d\n", len(bc.Create), len(bc.Refund))
		for _, s := range bc.Refund {
			p.f("        %-8s %s\n", s.Phase, s.What)
		}
		p.f("    not counted: %s\n", bc.Uncounted)
	}
	p.line("")
	p.line("Columns: ops/s counts completed operations (lifecycle = create + test pay + notification")
	p.line("  + verified charge.succeeded webhook; refund = refunds answered \"succeeded\"); latencies are")
	p.line("  per operation. ×commit = ops/s ÷ the store's single-commit/s. ×RSA = ops/s × the channel's")
	p.line("  signatures per op ÷ RSA signs/s (for lifecycle: the ratio to the channel's RSA-bound")
	p.line("  ceiling). ×HTTP = API requests/s ÷ loopback HTTP ceiling (a lifecycle sends 2). cpu = this")
	p.line("  process's CPU over all cores: server, simulators, receiver and load generator share the")
	p.line("  machine; db = the PostgreSQL backends serving this node (local server only); other = every")
	p.line("  other process (\"!\" from 10%: that figure is understated even after retries). targets: the")
	p.line("  requirement's goals on each row; the Targets section judges each channel's rates at their")
	p.line("  best concurrency. At each concurrency the channels run in turn. Creates run last: the poller")
	p.line("  queries each unpaid charge 5 s, 15 s, 45 s, 2 min… after its creation (up to 100 per 2 s")
	p.line("  pass, 2 signatures each: up to 100 signs/s), so the charges the create workload leaves")
	p.line("  unpaid load the create rows measured after them.")
}

func (p *printer) storeStart(sr *StoreReport) {
	p.line("")
	p.f("== %s ==\n", sr.Name)
}

func (p *printer) durability(sr *StoreReport) {
	p.f("  durability: %s\n", sr.Durability)
}

func (p *printer) commits(sr *StoreReport) {
	note := othersNote(sr.CommitOthers)
	if sr.CommitDB >= 0 && sr.Name == "postgres" {
		note = fmt.Sprintf("server backends %.0f%% CPU, %s", 100*sr.CommitDB, note)
	}
	p.f("  %-58s %10.1f commits/s  %s\n", "store commit ceiling: sequential CommitProbe (single commit)", sr.CommitSingle, note)
	ratio := 0.0
	if sr.CommitSingle > 0 {
		ratio = sr.CommitBatched / sr.CommitSingle
	}
	p.f("  %-58s %10.1f commits/s  (%.1f× single; info)\n", fmt.Sprintf("store commits, %d parallel CommitProbe (batched)", sr.CommitBatchedC), sr.CommitBatched, ratio)
}

const rowFormat = "  %-9s %-9s %4s %7s %5s %9s %8s %8s %5s %5s %6s %8s %6s %6s  %s\n"

func (p *printer) tableHead() {
	p.line("")
	p.tableLine("workload", "channel", "c", "ops", "err", "ops/s", "p50 ms", "p99 ms", "cpu", "db", "other", "×commit", "×RSA", "×HTTP", "targets")
}

func (p *printer) row(store string, r Row) {
	pct := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*v)
	}
	cpu, db := pct(r.CPU), pct(r.DB)
	other := ""
	if r.Others >= 0 {
		other = fmt.Sprintf("%.0f%%", 100*r.Others)
		if r.Others >= busyOthers {
			other += "!"
		}
	}
	errs := strconv.Itoa(r.Errors)
	if r.Other > 0 {
		errs += fmt.Sprintf("+%d", r.Other) // answered, not counted
	}
	p.tableLine(r.Workload, r.Channel, strconv.Itoa(r.Concurrency), strconv.Itoa(r.Ops), errs,
		fmt.Sprintf("%.1f", r.PerSec), fmt.Sprintf("%.1f", r.P50ms), fmt.Sprintf("%.1f", r.P99ms), cpu, db, other,
		fmt.Sprintf("%.2f", r.VsCommit), fmt.Sprintf("%.2f", r.VsRSA), fmt.Sprintf("%.3f", r.VsHTTP), rowTargets(store, r))
}

// rowTargets marks the requirement's targets on the rows they apply to.
func rowTargets(store string, r Row) string {
	mark := func(ok bool) string {
		if ok && r.Errors == 0 {
			return "PASS"
		}
		return "FAIL"
	}
	var ts []string
	switch r.Workload {
	case wLifecycle:
		ts = append(ts, fmt.Sprintf("×RSA≥%.1f %s", targetLifeVsRSA, mark(r.VsRSA >= targetLifeVsRSA)))
	case wCreate:
		if store == "sqlite" {
			ts = append(ts, fmt.Sprintf("×commit≥%.0f %s", targetCreateVsCommit, mark(r.VsCommit >= targetCreateVsCommit)))
		}
		if r.Concurrency == targetP99Conc {
			ts = append(ts, fmt.Sprintf("p99<%.0fms %s", targetP99CreateMS, mark(r.Ops > 0 && r.P99ms < targetP99CreateMS)))
		}
	}
	return strings.Join(ts, ", ")
}

func (p *printer) targets(rep *Report) {
	p.line("")
	p.line("Targets")
	if len(rep.Targets) == 0 {
		p.line("  (none measured)")
	}
	for _, t := range rep.Targets {
		mark := "FAIL"
		if t.Pass {
			mark = "PASS"
		}
		p.f("  %s  %-9s %-9s %-42s %s\n", mark, t.Store, t.Channel, t.Name, t.Detail)
	}
	for _, s := range rep.Skipped {
		p.line("  " + s)
	}
	if n := repeated(rep); n > 0 {
		p.f("  note: %d measurement(s) were repeated because other processes were busy.\n", n)
	}
	if n := busyMeasurements(rep); n > 0 {
		p.f("  note: during %d measurement(s) other processes took ≥%.0f%% of the CPU (marked !);\n", n, 100*busyOthers)
		p.f("        the figures are understated; rerun on a quiet machine (load average %.2f → %.2f).\n",
			rep.Machine.LoadAvgStart, rep.Machine.LoadAvgEnd)
	}
}

func busyMeasurements(rep *Report) int {
	n := 0
	count := func(v float64) {
		if v >= busyOthers {
			n++
		}
	}
	count(rep.Ceilings.RSAOthers)
	count(rep.Ceilings.HTTPOthers)
	for _, sr := range rep.Stores {
		count(sr.CommitOthers)
		for _, r := range sr.Rows {
			count(r.Others)
		}
	}
	return n
}

func (p *printer) errors(rep *Report) {
	var lines []string
	if rep.Ceilings.HTTPErrors > 0 {
		lines = append(lines, fmt.Sprintf("loopback HTTP ceiling: %d failed requests", rep.Ceilings.HTTPErrors))
	}
	for _, sr := range rep.Stores {
		if sr.Error != "" {
			lines = append(lines, fmt.Sprintf("%s: %s", sr.Name, sr.Error))
		}
		if sr.CommitErrors > 0 {
			lines = append(lines, fmt.Sprintf("%s: %d failed commit probes", sr.Name, sr.CommitErrors))
		}
		if sr.WebhooksBadSig > 0 {
			lines = append(lines, fmt.Sprintf("%s: %d webhooks failed signature verification", sr.Name, sr.WebhooksBadSig))
		}
		for _, r := range sr.Rows {
			if r.Errors > 0 {
				lines = append(lines, fmt.Sprintf("%s %s %s c=%d: %d errors, first: %s", sr.Name, r.Workload, r.Channel, r.Concurrency, r.Errors, r.FirstError))
			}
			if r.Other > 0 {
				lines = append(lines, fmt.Sprintf("%s %s %s c=%d: %d answered 200 but not succeeded (not counted)", sr.Name, r.Workload, r.Channel, r.Concurrency, r.Other))
			}
		}
	}
	sort.Strings(lines)
	p.line("")
	if len(lines) == 0 {
		p.line("Errors: none (every API answer was 200, every webhook signature verified)")
		return
	}
	p.line("Errors")
	for _, l := range lines {
		p.line("  " + l)
	}
}

func repeated(rep *Report) int {
	n := 0
	for _, sr := range rep.Stores {
		for _, r := range sr.Rows {
			if r.Attempts > 1 {
				n++
			}
		}
	}
	return n
}

func (p *printer) tableLine(cols ...any) {
	p.line(strings.TrimRight(fmt.Sprintf(rowFormat, cols...), " \n"))
}
