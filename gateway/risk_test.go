package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store/storetest"
)

// client is a goroutine-safe caller of a node's API for the attack test:
// it reports instead of failing the test.
type client struct {
	url string
	app *core.NewApp
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (c client) call(method, path, key, forwardedFor string, body any) answer {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(b))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{status: -1, raw: err.Error()}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) code() string {
	if e, ok := a.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// pay is a shop's card checkout: the browser tokenizes the card from ip
// (through the shop's proxy), the shop's server charges it naming ip.
func (c client) pay(orderNo, ip, number string) (token, charge answer) {
	token = c.call("POST", "/v1/tokens", c.app.PublishableKeyTest, ip, map[string]any{"card": map[string]any{
		"number": number, "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if token.status != 200 {
		return token, answer{}
	}
	charge = c.call("POST", "/v1/charges", c.app.SecretKeyTest, "", map[string]any{"order_no": orderNo, "app": map[string]any{"id": c.app.AppID},
		"channel": "card", "amount": 1000, "currency": "usd", "client_ip": ip, "subject": "s", "body": "b",
		"extra": map[string]any{"source": token.body["id"]}})
	return token, charge
}

// stolenCards are a card tester's list: the simulator's decline cards, then
// numbers generated from a BIN, which mostly fail the check digit.
func stolenCards(n int) []string {
	cards := []string{"4000000000000002", "4000000000009995", "4000000000009987", "4000000000009979", "4000000000000069", "4000000000000127"}
	for i := 0; len(cards) < n; i++ {
		cards = append(cards, fmt.Sprintf("400000%09d9", 123456+i*7919)) // check digit not computed
	}
	return cards[:n]
}

// TestCardTestingAttack: from one IP, 50 stolen cards at full speed against
// one app on two nodes sharing PostgreSQL, while 20 honest customers on
// other IPs pay at the same time. The attacker is blocked after at most the
// threshold (plus what its concurrent requests had in flight), on both
// nodes; every honest payment succeeds; another app is untouched; after the
// block ends the IP may try again.
func TestCardTestingAttack(t *testing.T) {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skipf("set %s to run the two-node attack test", storetest.EnvPostgres)
	}
	dsn := storetest.FreshSchema(t, base)
	dir := t.TempDir()
	rules := risk.Config{CardTesting: risk.Threshold{Distinct: 5, Window: 8 * time.Second, FailedPercent: 60, BlockFor: 9 * time.Second}}
	var nodes []client
	var app, other *core.NewApp
	for i := 0; i < 2; i++ {
		n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dsn, Risk: rules,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, FailedAuthLimit: -1,
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), PollInterval: time.Hour, AdminAddr: ""})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(ctx) })
		if i == 0 {
			if app, err = n.CreateApp(ctx, "attacked"); err != nil {
				t.Fatal(err)
			}
			if other, err = n.CreateApp(ctx, "other"); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, client{url: n.URL, app: app})
	}
	const attacker, workers = "203.0.113.66", 4
	var reached, blocked atomic.Int64
	var wg sync.WaitGroup
	var honestFail sync.Map
	cards := make(chan string)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for number := range cards {
				c := nodes[int(reached.Load()+blocked.Load())%2]
				tok, ch := c.pay(fmt.Sprintf("ATK%s", number[8:]), attacker, number)
				switch {
				case tok.code() == "risk_blocked" || ch.code() == "risk_blocked":
					blocked.Add(1)
				default:
					reached.Add(1) // refused as invalid, declined, or (a card that worked) paid
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			number := []string{"4242424242424242", "5555555555554444"}[i%2]
			_, ch := nodes[i%2].pay(fmt.Sprintf("HONEST%02d", i), ip, number)
			if ch.status != 200 || ch.body["paid"] != true {
				honestFail.Store(ip, fmt.Sprintf("%d %s", ch.status, ch.raw))
			}
		}()
	}
	for _, n := range stolenCards(50) {
		cards <- n
	}
	close(cards)
	wg.Wait()
	honestFail.Range(func(k, v any) bool {
		t.Errorf("honest customer at %v failed: %v", k, v)
		return true
	})
	if got := reached.Load(); got > int64(rules.CardTesting.Distinct+workers) {
		t.Errorf("%d of the attacker's cards reached the gateway's checks, want at most %d", got, rules.CardTesting.Distinct+workers)
	}
	if blocked.Load() < 50-int64(rules.CardTesting.Distinct+workers) {
		t.Errorf("only %d attempts blocked", blocked.Load())
	}
	t.Logf("attacker: %d attempts reached the channel or the card check, %d blocked", reached.Load(), blocked.Load())

	// Blocked on both nodes: the browser hears nothing of the rule, the
	// merchant's server is told which rule refused.
	for i, c := range nodes {
		tok, _ := c.pay(fmt.Sprintf("ATKAFTER%d", i), attacker, "4242424242424242")
		if tok.status != 402 || tok.code() != "risk_blocked" || strings.Contains(tok.raw, "card_testing") {
			t.Errorf("node %d: attacker's token = %d %s, want a neutral 402 risk_blocked", i+1, tok.status, tok.raw)
		}
		ch := c.call("POST", "/v1/charges", app.SecretKeyTest, "", map[string]any{"order_no": fmt.Sprintf("ATKSRV%d", i),
			"app": map[string]any{"id": app.AppID}, "channel": "alipay_qr", "amount": 100, "currency": "cny", "client_ip": attacker,
			"subject": "s", "body": "b"})
		if ch.status != 402 || ch.code() != "risk_blocked" || !strings.Contains(ch.raw, "card_testing") {
			t.Errorf("node %d: attacker's charge = %d %s, want 402 naming card_testing", i+1, ch.status, ch.raw)
		}
	}
	// Another app's customers at the same address are not this app's attacker.
	o := client{url: nodes[1].url, app: other}
	if _, ch := o.pay("OTHER01", attacker, "4242424242424242"); ch.status != 200 || ch.body["paid"] != true {
		t.Errorf("another app's payment from the address = %d %s", ch.status, ch.raw)
	}
	// The block shows in the API, and after it ends the address may pay.
	bl := nodes[0].call("GET", "/v1/apps/"+app.AppID+"/risk_blocks", app.SecretKeyTest, "", nil)
	if !strings.Contains(bl.raw, attacker) || !strings.Contains(bl.raw, risk.RuleCardTesting) {
		t.Errorf("risk_blocks = %s", bl.raw)
	}
	time.Sleep(rules.CardTesting.BlockFor + time.Second)
	if _, ch := nodes[1].pay("ATKLATER", attacker, "4242424242424242"); ch.status != 200 || ch.body["paid"] != true {
		t.Errorf("after the block ended: %d %s", ch.status, ch.raw)
	}
}
