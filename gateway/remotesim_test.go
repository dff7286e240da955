package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sandbox"
)

// TestRemoteSimulators: a node started with SimURL uses the simulators
// another process serves over the same store (polypay sim, the fault
// harness): payments go through that host's pay hook, the trades live
// there and survive the node's restart, and the node's public /sim/ pages
// are the host's, without the hook.
func TestRemoteSimulators(t *testing.T) {
	dir := t.TempDir()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	simURL := "http://" + ln.Addr().String()
	reg, sb, err := gateway.OpenChannels(ctx, db, box, simURL, discard, nil, []sandbox.Option{sandbox.WithPublicURL(simURL)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sb.SimHostHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); sb.Close(); db.Close() })

	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, SimURL: simURL, Log: discard, PollInterval: time.Hour}
	n1, err := gateway.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	app, err := n1.CreateApp(ctx, "remote sim")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, node: n1, app: app}
	id := e.createCharge("RS0001", 300)
	if r := e.pay(id); r.JSON["paid"] != true {
		t.Fatalf("pay through the remote simulator: %s", r.Body)
	}
	mid, err := reg.SandboxMerchantID(ctx, app.AppID, "alipay")
	if err != nil {
		t.Fatal(err)
	}
	var held bool
	for _, tr := range sb.AlipaySim().Trades() {
		held = held || (tr.AppID == mid && tr.OutTradeNo == id && tr.Paid)
	}
	if !held {
		t.Fatal("the simulator host does not hold the paid trade")
	}
	if r := e.do("POST", "/sim/_pay", "", `{}`); r.Status != http.StatusNotFound {
		t.Errorf("pay hook on the public listener: %d, want 404", r.Status)
	}
	if r := e.do("GET", "/sim/alipay/wallet", "", nil); r.Status != http.StatusOK {
		t.Errorf("simulator wallet through the node: %d, want 200", r.Status)
	}

	// The node restarts; the channel still knows the trade and refunds it.
	if err := n1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n2, err := gateway.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.Close(ctx) })
	e.node = n2
	r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), map[string]any{"amount": 100, "description": "after restart"})
	if r.Status != 200 || r.str("status") != "succeeded" {
		t.Fatalf("refund after restart: %d %s", r.Status, r.Body)
	}
	for _, tr := range sb.AlipaySim().Trades() {
		if tr.OutTradeNo == id && (len(tr.Refunds) != 1 || tr.Refunds[0].Amount != 100) {
			t.Fatalf("channel refunds %+v, want one of 100", tr.Refunds)
		}
	}
}

// TestScanUnknownOutcome is the fault harness's first find: an
// alipay_scan payment went through, its answer was lost, and polypay
// recorded the payment from the notification while the connector was
// reversing the trade (the rule for an unknown outcome), which gave the
// money back. polypay kept the charge paid: the merchant would ship goods
// the customer got back the money for. Now the connector asks first
// (QueriedPaid: no reversal), and when it cannot and reverses, the charge
// ends reversed with its payment undone in the ledger.
func TestScanUnknownOutcome(t *testing.T) {
	for _, tc := range []struct {
		name          string
		failQueries   bool
		wantStatus    int
		wantReversed  bool
		wantChanRev   int64
		wantChanTotal int64
		failCancels   bool
	}{
		{"QueriedPaid", false, 200, false, 0, 500, false},
		{"ReversedAfterPaymentApplied", true, 402, true, 500, 0, false},
		// The reversal's answer is lost too, so polypay cannot tell at
		// create time (as when the node dies mid-create): the charge stays
		// in doubt, and the poller settles it once the channel answers.
		{"ReversalUnconfirmedVerifiedLater", true, 402, true, 500, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
			db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			ln := mustListen(t)
			simURL := "http://" + ln.Addr().String()
			reg, sb, err := gateway.OpenChannels(ctx, db, box, simURL, discard, nil, []sandbox.Option{sandbox.WithPublicURL(simURL)})
			if err != nil {
				t.Fatal(err)
			}
			// The first alipay.trade.pay is done, but its answer comes late
			// and as a gateway timeout: long enough for the notification to
			// land. With failQueries, every query fails until the test ends.
			var lost, healed atomic.Bool
			host := sb.SimHostHandler()
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte("method=alipay.trade.pay&")) && lost.CompareAndSwap(false, true) {
					host.ServeHTTP(httptest.NewRecorder(), r)
					time.Sleep(time.Second)
					http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
					return
				}
				if tc.failCancels && !healed.Load() && bytes.Contains(body, []byte("method=alipay.trade.cancel&")) {
					host.ServeHTTP(httptest.NewRecorder(), r) // done, but the answer is lost
					http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
					return
				}
				if tc.failQueries && !healed.Load() && bytes.Contains(body, []byte("method=alipay.trade.query&")) {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return
				}
				host.ServeHTTP(w, r)
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close(); sb.Close(); db.Close() })
			n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, SimURL: simURL, Log: discard, PollInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { n.Close(ctx) })
			app, err := n.CreateApp(ctx, "scan")
			if err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, node: n, app: app}
			body := e.chargeBody("SCANREV1", 500)
			body["channel"] = "alipay_scan"
			body["extra"] = map[string]any{"scan_code": "2800000000000000001", "terminal_id": "T1"}
			if r := e.do("POST", "/v1/charges", e.sk(), body); r.Status != tc.wantStatus {
				t.Fatalf("create: %d %s, want %d", r.Status, r.Body, tc.wantStatus)
			}
			mid, err := reg.SandboxMerchantID(ctx, app.AppID, "alipay")
			if err != nil {
				t.Fatal(err)
			}
			var id string
			for _, tr := range sb.AlipaySim().Trades() {
				if tr.AppID == mid {
					id = tr.OutTradeNo
					if !tr.Paid || tr.Reversed != tc.wantChanRev {
						t.Fatalf("channel trade %+v, want paid, reversed %d", tr, tc.wantChanRev)
					}
				}
			}
			if tc.failCancels {
				if r := e.do("GET", "/v1/charges/"+id, e.sk(), nil); r.JSON["reversed"] != false || r.JSON["paid"] != true {
					t.Fatalf("before verification: %s, want paid as the notification said", r.Body)
				}
				healed.Store(true)
				n.Svc.Now = func() time.Time { return time.Now().Add((core.ScanWindow + core.DoubtGrace + 5) * time.Second) }
				_, err := n.Svc.Poll(ctx)
				n.Svc.Now = nil
				if err != nil {
					t.Fatal(err)
				}
			}
			r := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
			if r.JSON["reversed"] != tc.wantReversed || r.JSON["paid"] != true {
				t.Fatalf("charge: %s, want paid, reversed %v", r.Body, tc.wantReversed)
			}
			sum, probs, err := ledger.Check(ctx, n.DB)
			if err != nil || len(probs) > 0 {
				t.Fatalf("ledger: %v %v", probs, err)
			}
			if bal := sum.Balances[app.AppID+"/test/cny/channel:alipay_scan"]; bal != tc.wantChanTotal {
				t.Fatalf("alipay_scan balance %d, want %d (the channel's books)", bal, tc.wantChanTotal)
			}
		})
	}
}

// holdFirst is a notification transport that holds back the first
// notification whose body contains mark until release is closed.
type holdFirst struct {
	mark    string
	held    atomic.Bool
	release chan struct{}
}

func (h *holdFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(h.mark)) && h.held.CompareAndSwap(false, true) {
		<-h.release
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestRefundNotificationReordered: found by the fault harness. Refund A's
// answer is lost (it stays pending), refund B is answered and applied,
// then A's notification arrives carrying Alipay's cumulative refund_fee as
// it was after A (300), less than what polypay has refunded since plus A
// (200 + 300). The notification is genuine; it was rejected as an amount
// mismatch, and the channel kept retrying it.
func TestRefundNotificationReordered(t *testing.T) {
	dir := t.TempDir()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	simURL := "http://" + ln.Addr().String()
	hold := &holdFirst{mark: "out_biz_no=", release: make(chan struct{})}
	_, sb, err := gateway.OpenChannels(ctx, db, box, simURL, discard, nil, []sandbox.Option{sandbox.WithPublicURL(simURL),
		sandbox.WithSimHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: hold})})
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	host := sb.SimHostHandler()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("method=alipay.trade.refund&")) && lost.CompareAndSwap(false, true) {
			host.ServeHTTP(httptest.NewRecorder(), r) // refunded; the answer is lost
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		host.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); sb.Close(); db.Close() })
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, SimURL: simURL, Log: discard, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(ctx) })
	app, err := n.CreateApp(ctx, "reorder")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, node: n, app: app}
	id := e.createCharge("REORDER1", 1000)
	e.pay(id)
	a := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), map[string]any{"amount": 300, "description": "A"})
	b := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), map[string]any{"amount": 200, "description": "B"})
	if a.str("status") != "pending" || b.str("status") != "succeeded" {
		t.Fatalf("refunds: A %s, B %s; want pending, succeeded", a.Body, b.Body)
	}
	close(hold.release) // A's notification arrives now
	deadline := time.Now().Add(10 * time.Second)
	for e.do("GET", "/v1/charges/"+id+"/refunds/"+a.str("id"), e.sk(), nil).str("status") != "succeeded" {
		if time.Now().After(deadline) {
			t.Fatal("refund A's notification was not applied")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, probs, err := ledger.Check(ctx, n.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", probs, err)
	}
}
