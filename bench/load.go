package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// loopResult is what a closed loop measured.
type loopResult struct {
	ok, other, errors int
	elapsed           time.Duration
	latencies         []time.Duration // of the ok operations
	firstErr          error
	// CPU shares of the whole machine (all cores) during the loop; -1 when
	// unknown. cpu is this process (server, simulator, receiver and load
	// generator), db the database server's backends serving this run,
	// others everything else.
	cpu, db, others float64
	attempts        int
}

func (r loopResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// percentile returns the q-quantile (nearest rank) in milliseconds.
func (r loopResult) percentile(q float64) float64 {
	n := len(r.latencies)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	i = max(0, min(i, n-1))
	return float64(r.latencies[i].Microseconds()) / 1000
}

// meter runs measurements. Other work on a small machine takes CPU from
// them, so a meter can wait for the machine to be quiet first and repeat a
// measurement that other processes disturbed, keeping the least disturbed.
type meter struct {
	// dbCPU samples the CPU time of the database server processes serving
	// this run, by pid (nil: none, or not on this machine).
	dbCPU func() map[int]time.Duration
	// quietWait bounds the wait for a quiet machine before a measurement.
	quietWait time.Duration
	// retries is how many times a disturbed measurement is repeated.
	retries int
	// settle runs after each attempt (let trailing work finish).
	settle func()
}

// loop measures op with conc workers for d.
func (m *meter) loop(conc int, d time.Duration, op func(worker, seq int) (bool, error)) loopResult {
	var best loopResult
	for attempt := 0; ; attempt++ {
		m.waitQuiet()
		res := closedLoop(conc, d, m.dbCPU, op)
		if m.settle != nil {
			m.settle()
		}
		if attempt == 0 || (res.others >= 0 && res.others < best.others) {
			best = res
		}
		best.attempts = attempt + 1
		if best.others < busyOthers || attempt >= m.retries || res.errors > 0 {
			return best
		}
	}
}

// waitQuiet waits, up to quietWait, until other processes use less than
// busyOthers of the machine over a short window.
func (m *meter) waitQuiet() {
	if m.quietWait <= 0 {
		return
	}
	deadline := time.Now().Add(m.quietWait)
	for time.Now().Before(deadline) {
		s0 := takeSample(m.dbCPU)
		time.Sleep(300 * time.Millisecond)
		_, _, others := s0.shares(m.dbCPU)
		if others < busyOthers {
			return
		}
	}
}

func sample(f func() map[int]time.Duration) map[int]time.Duration {
	if f == nil {
		return nil
	}
	return f()
}

// cpuSample is the CPU time used so far by this process, by the database
// backends serving it, and by every other process.
type cpuSample struct {
	at     time.Time
	self   time.Duration
	selfOK bool
	db     map[int]time.Duration
	others map[int]time.Duration
}

func takeSample(dbCPU func() map[int]time.Duration) cpuSample {
	s := cpuSample{db: sample(dbCPU)}
	s.others, _ = otherProcsCPU()
	s.self, s.selfOK = processCPU()
	s.at = time.Now()
	return s
}

// shares computes the CPU shares of the machine since s, -1 when unknown.
func (s cpuSample) shares(dbCPU func() map[int]time.Duration) (cpu, db, others float64) {
	cpu, db, others = -1, -1, -1
	wall := time.Since(s.at).Seconds() * float64(numCPU())
	self, ok := processCPU()
	if !ok || !s.selfOK || wall <= 0 {
		return
	}
	cpu = (self - s.self).Seconds() / wall
	var dbPids map[int]time.Duration
	if dbCPU != nil {
		dbPids = dbCPU()
		var sum time.Duration
		for pid, t := range dbPids {
			sum += t - s.db[pid] // a backend born meanwhile counts in full
		}
		db = sum.Seconds() / wall
	}
	if s.others == nil {
		return
	}
	now, ok := otherProcsCPU()
	if !ok {
		return
	}
	mine := func(pid int) bool {
		_, a := dbPids[pid]
		_, b := s.db[pid]
		return a || b
	}
	var sum time.Duration
	for pid, t := range now {
		if mine(pid) {
			continue
		}
		if t0, ok := s.others[pid]; ok {
			sum += t - t0
		} else {
			sum += t // started meanwhile
		}
	}
	// A process that ended meanwhile reappears in full in its parent's
	// cutime/cstime once reaped: take back what it had used before.
	for pid, t0 := range s.others {
		if _, ok := now[pid]; !ok && !mine(pid) {
			sum -= t0
		}
	}
	others = min(max(sum.Seconds()/wall, 0), 1)
	return
}

// closedLoop runs conc workers, each starting op again as soon as the last
// one finished, until d has passed; operations in flight at the deadline
// finish and count. op reports whether the operation counts (ok), or an
// error; neither means it was answered but not counted.
func closedLoop(conc int, d time.Duration, dbCPU func() map[int]time.Duration, op func(worker, seq int) (bool, error)) loopResult {
	type part struct {
		ok, other, errors int
		lat               []time.Duration
		err               error
	}
	parts := make([]part, conc)
	s0 := takeSample(dbCPU)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[w]
			for seq := 0; time.Now().Before(deadline); seq++ {
				t0 := time.Now()
				ok, err := op(w, seq)
				lat := time.Since(t0)
				switch {
				case err != nil:
					p.errors++
					if p.err == nil {
						p.err = err
					}
				case ok:
					p.ok++
					p.lat = append(p.lat, lat)
				default:
					p.other++
				}
			}
		}()
	}
	wg.Wait()
	var res loopResult
	res.elapsed = time.Since(start)
	res.cpu, res.db, res.others = s0.shares(dbCPU)
	for _, p := range parts {
		res.ok += p.ok
		res.other += p.other
		res.errors += p.errors
		res.latencies = append(res.latencies, p.lat...)
		if res.firstErr == nil {
			res.firstErr = p.err
		}
	}
	slices.Sort(res.latencies)
	return res
}

// newClient is the load generator's shared client. polypay closes every API
// connection, so each request dials afresh.
func newClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}

// apiClient calls polypay's API with a secret key.
type apiClient struct {
	base string
	key  string
	hc   *http.Client
}

// statusError is a non-200 answer.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// post sends a JSON body and decodes the 200 answer into out (when non-nil).
func (a *apiClient) post(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(a.key, "")
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("POST %s: reading reply: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		s := strings.TrimSpace(string(b))
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return &statusError{method: "POST", path: path, status: resp.StatusCode, body: s}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("POST %s: decoding reply: %w", path, err)
		}
	}
	return nil
}
