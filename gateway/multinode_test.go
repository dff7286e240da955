package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

// TestThreeNodesOnePostgres: three polypay nodes share one PostgreSQL;
// requests are spread across them and one stops mid-run. Every payment is
// applied once, every event is delivered exactly once, and the books balance.
func TestThreeNodesOnePostgres(t *testing.T) {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skipf("set %s to run the multi-node test", storetest.EnvPostgres)
	}
	dsn := storetest.FreshSchema(t, base)
	dir := t.TempDir() // holds the master key all three share
	var envs []*env
	for i := 0; i < 3; i++ {
		n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dsn,
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), PollInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, node: n}
		if i == 2 {
			// node 3 is stopped mid-run by the test itself
		} else {
			t.Cleanup(func() { n.Close(ctx) })
		}
		envs = append(envs, e)
	}
	app, err := envs[0].node.CreateApp(ctx, "multi")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		e.app = app
	}
	rc := envs[1].listen()
	var ids []string
	for i := 0; i < 30; i++ {
		if i == 15 {
			if err := envs[2].node.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		e := envs[i%3]
		if i >= 15 {
			e = envs[i%2]
		}
		// A sandbox charge is paid through the node that created it: the
		// simulators keep their trades in memory per process.
		id := e.createCharge(fmt.Sprintf("MN%05d", i), 100)
		e.pay(id)
		ids = append(ids, id)
	}
	rc.waitEvents(t, len(ids))
	time.Sleep(time.Second) // let any duplicate delivery arrive
	for _, id := range ids {
		if n := rc.count(id, "charge.succeeded"); n != 1 {
			t.Errorf("charge %s: %d charge.succeeded deliveries, want 1", id, n)
		}
		if r := envs[0].do("GET", "/v1/charges/"+id, app.SecretKeyTest, nil); r.JSON["paid"] != true {
			t.Errorf("charge %s not paid as seen from node 1", id)
		}
	}
	// Expiries are closed once, by whichever node claims them.
	body := envs[0].chargeBody("MNEXP01", 100)
	// Soon, but not so soon that a loaded CI machine reaches it before the
	// simulator has the trade (it refuses a time_expire already past).
	body["time_expire"] = time.Now().Unix() + 3
	r := envs[0].do("POST", "/v1/charges", app.SecretKeyTest, body)
	if r.Status != 200 {
		t.Fatalf("create: %s", r.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for envs[1].do("GET", "/v1/charges/"+r.str("id"), app.SecretKeyTest, nil).str("credential", "object") == "credential" {
		if time.Now().After(deadline) {
			t.Fatal("expired charge never closed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, probs, err := ledger.Check(ctx, envs[0].node.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", probs, err)
	}
}
