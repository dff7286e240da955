package gateway_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/store/storetest"
)

// healthOf returns the health API's entry for a channel account.
func (e *env) healthOf(channel string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1/channels/health", e.sk(), nil)
	if r.Status != 200 {
		e.t.Fatalf("health: %d %s", r.Status, r.Body)
	}
	for _, d := range r.JSON["data"].([]any) {
		if m := d.(map[string]any); m["channel"] == channel {
			return m
		}
	}
	e.t.Fatalf("health lists no %s: %s", channel, r.Body)
	return nil
}

func (e *env) waitHealth(channel, status string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := e.healthOf(channel)
		if h["status"] == status {
			return h
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s stayed %v (want %s): %v", channel, h["status"], status, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) scrape() string {
	e.t.Helper()
	res, err := http.Get(e.node.AdminURL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		e.t.Fatalf("/metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// metricValue returns the value of the series whose line starts with
// name and contains every label pair, or -1.
func metricValue(text, name string, labels ...string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			var v float64
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			return v
		}
	}
	return -1
}

type attempt struct {
	Processor, Outcome, Health, Code string
}

func attemptsOf(r *resp) []attempt {
	var out []attempt
	b, _ := json.Marshal(r.JSON["processor_attempts"])
	json.Unmarshal(b, &out)
	return out
}

// TestAlipayAccountDownMidLoad: an app routes Alipay over two accounts;
// one goes down in the simulator in the middle of a load. Every charge
// still succeeds (through the other account), the breaker opens and no
// charge tries the down account any more, the health API, metrics,
// events and SLA report show it, and a probe brings it back. With both
// accounts down the API answers channel_unavailable with the channels
// that are up.
func TestAlipayAccountDownMidLoad(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) {
		c.Health = health.Config{OpenTimeout: 400 * time.Millisecond, ProbeInterval: 150 * time.Millisecond,
			MinRequests: 4, TripConsecutive: 3}
	})
	rc := e.listen()
	if r := e.do("POST", "/v1/apps/"+e.app.AppID+"/channels", e.sk(), `{"channel":"alipay@second","params":{"sandbox":true}}`); r.Status != 200 {
		t.Fatalf("configure second account: %d %s", r.Status, r.Body)
	}
	routes := `{"channel":"alipay","accounts":[{"account":"default","priority":0,"weight":1},{"account":"second","priority":0,"weight":1}]}`
	if r := e.do("POST", "/v1/apps/"+e.app.AppID+"/routes", e.sk(), routes); r.Status != 200 || len(r.JSON["accounts"].([]any)) != 2 {
		t.Fatalf("routes: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/apps/"+e.app.AppID+"/routes", e.sk(), nil); r.Status != 200 || !strings.Contains(string(r.Body), `"second"`) {
		t.Fatalf("list routes: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	second, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "alipay@second")
	if err != nil {
		t.Fatal(err)
	}
	faults := e.node.Sandbox.SimFaults("alipay")

	var mu sync.Mutex
	used := map[string]int{} // accepting account -> charges
	var failures []string
	load := func(prefix string, n int) []*resp {
		var wg sync.WaitGroup
		out := make([]*resp, n)
		sem := make(chan struct{}, 6)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r := e.do("POST", "/v1/charges", e.sk(), e.chargeBody(fmt.Sprintf("%s%04d", prefix, i), 100+int64(i)))
				out[i] = r
				mu.Lock()
				defer mu.Unlock()
				if r.Status != 200 {
					failures = append(failures, fmt.Sprintf("%s: %d %s", prefix, r.Status, r.Body))
					return
				}
				at := attemptsOf(r)
				if len(at) == 0 || at[len(at)-1].Outcome != "accepted" {
					failures = append(failures, fmt.Sprintf("%s: attempts %+v", prefix, at))
					return
				}
				used[at[len(at)-1].Processor]++
			}()
		}
		wg.Wait()
		return out
	}
	load("UP", 24)
	if used["default"] == 0 || used["second"] == 0 {
		t.Fatalf("weights 1:1 sent charges to %v", used)
	}
	// Mid-load, the second account goes down.
	var downLoad sync.WaitGroup
	downLoad.Add(1)
	go func() { defer downLoad.Done(); load("MID", 30) }()
	time.Sleep(20 * time.Millisecond)
	faults.Set(second, simfault.Fault{Down: true})
	downLoad.Wait()
	if len(failures) > 0 {
		t.Fatalf("merchant-visible errors while an account went down: %v", failures)
	}
	h := e.waitHealth("alipay@second", "down")
	if h["breaker"] != "open" && h["breaker"] != "half-open" {
		t.Fatalf("down account's breaker: %v", h)
	}
	if e.healthOf("alipay")["status"] != "healthy" {
		t.Fatalf("default account: %v", e.healthOf("alipay"))
	}
	// After the breaker opened, charges go straight to the healthy account.
	for _, r := range load("AFTER", 12) {
		if at := attemptsOf(r); len(at) != 1 || at[0].Processor != "default" || at[0].Health != "healthy" {
			t.Fatalf("after the breaker opened: attempts %+v", at)
		}
	}
	if len(failures) > 0 {
		t.Fatalf("errors after the breaker opened: %v", failures)
	}
	// A charge on the healthy account is paid end to end.
	paidID := e.createCharge("PAYME", 500)
	e.pay(paidID)

	m := e.scrape()
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"polypay_channel_health", []string{`account="second"`, `app="` + e.app.AppID + `"`, `state="down"`}},
		{"polypay_channel_health", []string{`account="default"`, `family="alipay"`, `app="` + e.app.AppID + `"`, `state="healthy"`}},
		{"polypay_channel_requests_total", []string{`account="second"`, `family="alipay"`, `operation="create_charge"`, `result="error"`}},
		{"polypay_routing_fallbacks_total", []string{`family="alipay"`, `from_account="second"`}},
		{"polypay_channel_probes_total", []string{`account="second"`, `family="alipay"`}},
	} {
		if v := metricValue(m, c.name, c.labels...); v < 1 {
			t.Errorf("metric %s%v = %v, want ≥ 1", c.name, c.labels, v)
		}
	}
	if v := metricValue(m, "polypay_channel_breaker_state", `account="second"`, `app="`+e.app.AppID+`"`); v < 1 {
		t.Errorf("breaker gauge of the down account = %v", v)
	}

	// Recovery: the simulator comes back, a probe closes the breaker.
	faults.Set(second, simfault.Fault{})
	e.waitHealth("alipay@second", "healthy")
	if v := metricValue(e.scrape(), "polypay_channel_health", `account="second"`, `app="`+e.app.AppID+`"`, `state="healthy"`); v != 1 {
		t.Errorf("healthy gauge after recovery = %v", v)
	}

	// Both accounts down: a clear channel_unavailable naming what is up.
	faults.Set(second, simfault.Fault{Down: true})
	def, _ := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "alipay")
	faults.Set(def, simfault.Fault{Down: true})
	var last *resp
	for i := 0; i < 20; i++ {
		last = e.do("POST", "/v1/charges", e.sk(), e.chargeBody(fmt.Sprintf("BOTH%02d", i), 100))
		if last.Status != 402 || last.str("error", "code") != "channel_unavailable" || last.str("error", "type") != "channel_error" {
			t.Fatalf("both down: %d %s", last.Status, last.Body)
		}
		if e.healthOf("alipay")["status"] == "down" && e.healthOf("alipay@second")["status"] == "down" {
			last = e.do("POST", "/v1/charges", e.sk(), e.chargeBody("BOTHLAST", 100))
			break
		}
	}
	av := fmt.Sprint(last.JSON["error"].(map[string]any)["available_channels"])
	if last.Status != 402 || !strings.Contains(av, "wx_pub_qr") || strings.Contains(av, "alipay_qr") {
		t.Fatalf("channel_unavailable lists %s: %s", av, last.Body)
	}
	faults.Set(second, simfault.Fault{})
	faults.Set(def, simfault.Fault{})
	e.waitHealth("alipay", "healthy")
	e.waitHealth("alipay@second", "healthy")

	// Merchants heard of every change of the second account, in order.
	deadline := time.Now().Add(10 * time.Second)
	var changes []string
	for time.Now().Before(deadline) {
		changes = changes[:0]
		rc.mu.Lock()
		for _, ev := range rc.events {
			if ev["type"] == "channel.health_changed" {
				o := ev["data"].(map[string]any)["object"].(map[string]any)
				if o["channel"] == "alipay@second" {
					changes = append(changes, fmt.Sprint(o["status"]))
				}
			}
		}
		rc.mu.Unlock()
		if len(changes) >= 4 && changes[len(changes)-1] == "healthy" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(changes) < 4 || !contains(changes, "down") || changes[len(changes)-1] != "healthy" {
		t.Fatalf("channel.health_changed events for alipay@second: %v", changes)
	}

	// The SLA report shows the outage on the second account only.
	day := time.Now().UTC().Format(time.DateOnly)
	r := e.do("GET", "/v1/channels/sla?date="+day, e.sk(), nil)
	if r.Status != 200 {
		t.Fatalf("sla: %d %s", r.Status, r.Body)
	}
	rows := map[string]map[string]any{}
	for _, d := range r.JSON["data"].([]any) {
		m := d.(map[string]any)
		rows[m["channel"].(string)+"/"+m["source"].(string)] = m
	}
	for _, c := range []struct {
		key          string
		minFailures  float64
		availability func(float64) bool
	}{
		{"alipay@second/traffic", 1, func(a float64) bool { return a < 1 && a > 0 }},
		{"alipay@second/probe", 1, func(a float64) bool { return a < 1 && a > 0 }},
		{"alipay@second/all", 2, func(a float64) bool { return a < 1 && a > 0 }},
	} {
		row := rows[c.key]
		if row == nil {
			t.Errorf("SLA has no %s: %s", c.key, r.Body)
			continue
		}
		if row["failures"].(float64) < c.minFailures || !c.availability(row["availability"].(float64)) || row["latency_p95_ms"].(float64) <= 0 ||
			row["latency_p99_ms"].(float64) < row["latency_p50_ms"].(float64) {
			t.Errorf("SLA %s = %v", c.key, row)
		}
	}
	if row := rows["alipay/traffic"]; row == nil || row["requests"].(float64) < 30 {
		t.Errorf("SLA alipay/traffic = %v", row)
	}
	res, err := http.NewRequest("GET", e.node.URL+"/v1/channels/sla?format=csv&date="+day, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.SetBasicAuth(e.sk(), "")
	hr, err := http.DefaultClient.Do(res)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(hr.Body).ReadAll()
	hr.Body.Close()
	if err != nil || len(recs) != len(rows)+1 || recs[0][0] != "date" || recs[0][9] != "availability" {
		t.Fatalf("csv: %v %v", err, recs)
	}
	if r := e.do("GET", "/v1/channels/sla?date=2026-13-01", e.sk(), nil); r.Status != 400 || r.str("error", "param") != "date" {
		t.Fatalf("bad date: %d %s", r.Status, r.Body)
	}

	// Every metric the dashboard and alerts use is exported.
	checkMonitoringMetrics(t, e.scrape())
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

var metricRef = regexp.MustCompile(`polypay_[a-z_]+`)

// checkMonitoringMetrics checks that monitoring/'s dashboard and alert
// rules only use exported metrics, and runs promtool on the rules when it
// is installed (Debian: apt-get install prometheus).
func checkMonitoringMetrics(t *testing.T, exported string) {
	t.Helper()
	have := map[string]bool{}
	for _, line := range strings.Split(exported, "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			have[f[2]] = true
			if f[3] == "histogram" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					have[f[2]+s] = true
				}
			}
		}
	}
	for _, file := range []string{"../monitoring/grafana-dashboard.json", "../monitoring/alerts.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		refs := metricRef.FindAllString(string(b), -1)
		if len(refs) < 10 {
			t.Fatalf("%s references only %v", file, refs)
		}
		for _, m := range refs {
			if !have[m] {
				t.Errorf("%s uses %s, which /metrics does not export", file, m)
			}
		}
	}
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Log("promtool not installed: rule syntax not checked")
		return
	}
	out, err := exec.Command("promtool", "check", "rules", "../monitoring/alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
