package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// notifyProxy stands between the simulators and polypay's notification
// endpoints: it records every notification and can drop them, so a test
// can lose, replay, tamper with or redirect real signed notifications.
type notifyProxy struct {
	mu      sync.Mutex
	target  string
	drop    bool
	records []recorded
	srv     *httptest.Server
}

type recorded struct {
	path   string
	header http.Header
	body   []byte
}

func newNotifyProxy(t *testing.T, target string) *notifyProxy {
	p := &notifyProxy{target: target}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.records = append(p.records, recorded{r.URL.Path, r.Header.Clone(), body})
		drop := p.drop
		p.mu.Unlock()
		if drop {
			w.WriteHeader(http.StatusServiceUnavailable) // neither Alipay's "success" nor a WeChat 2xx
			return
		}
		status, resp := p.send(t, recorded{r.URL.Path, r.Header, body})
		w.WriteHeader(status)
		w.Write(resp)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *notifyProxy) send(t *testing.T, rec recorded) (int, []byte) {
	req, _ := http.NewRequest("POST", p.target+rec.path, bytes.NewReader(rec.body))
	for k, v := range rec.header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("forwarding notification: %v", err)
		return 502, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (p *notifyProxy) last(t *testing.T) recorded {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.records) == 0 {
		t.Fatal("no notification was sent")
	}
	return p.records[len(p.records)-1]
}

// acked reports whether a notification reply acknowledges it, in the
// channels' conventions (WeChat's: 2xx, with v2's SUCCESS XML).
func acked(status int, body []byte) bool {
	return status == 204 || (status == 200 && (len(body) == 0 || string(body) == "success" ||
		strings.Contains(string(body), "<return_code><![CDATA[SUCCESS]]></return_code>")))
}

func (rc *receiver) count(chargeID, typ string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, ev := range rc.events {
		obj := ev["data"].(map[string]any)["object"].(map[string]any)
		id := obj["id"]
		if obj["object"] == "refund" {
			id = obj["charge"]
		}
		if ev["type"] == typ && id == chargeID {
			n++
		}
	}
	return n
}

// TestFaultMatrix: for every channel and scene the customer pays in a
// browser or app, the faults a gateway must survive.
func TestFaultMatrix(t *testing.T) {
	channels := []struct {
		name  string
		extra map[string]any
	}{
		{"alipay_qr", nil}, {"alipay", nil}, {"alipay_wap", map[string]any{"success_url": "https://shop.example/ok"}},
		{"alipay_pc_direct", map[string]any{"success_url": "https://shop.example/ok"}}, {"alipay_lite", map[string]any{"buyer_id": "2088000000000001"}},
		{"wx_pub_qr", map[string]any{"product_id": "P1"}}, {"wx", nil}, {"wx_pub", map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}},
		{"wx_lite", map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}, {"wx_wap", nil},
	}
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		other, err := e.node.CreateApp(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		proxy := newNotifyProxy(t, e.node.URL)
		e.node.Svc.BaseURL = proxy.srv.URL // channels now notify through the proxy
		seq := 0
		create := func(t *testing.T, ch string, extra map[string]any) string {
			t.Helper()
			seq++
			body := e.chargeBody(fmt.Sprintf("FM%06d", seq), 300)
			body["channel"] = ch
			if extra != nil {
				body["extra"] = extra
			}
			r := e.do("POST", "/v1/charges", e.sk(), body)
			if r.Status != 200 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			return r.str("id")
		}
		paid := func(id string) bool { return e.do("GET", "/v1/charges/"+id, e.sk(), nil).JSON["paid"] == true }
		waitWebhook := func(t *testing.T, id string) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); rc.count(id, "charge.succeeded") == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no charge.succeeded webhook for %s", id)
				}
			}
		}
		setDrop := func(d bool) { proxy.mu.Lock(); proxy.drop = d; proxy.mu.Unlock() }
		for _, ch := range channels {
			t.Run(ch.name, func(t *testing.T) {
				t.Run("Decline", func(t *testing.T) {
					id := create(t, ch.name, ch.extra)
					if r := e.do("POST", "/v1/test/charges/"+id+"/pay", e.sk(), `{"result":"fail"}`); r.Status != 200 || r.JSON["paid"] != false {
						t.Fatalf("declined pay: %d %s", r.Status, r.Body)
					}
					if paid(id) {
						t.Fatal("declined charge is paid")
					}
				})
				t.Run("NoNotificationThenQuery", func(t *testing.T) {
					setDrop(true)
					defer setDrop(false)
					id := create(t, ch.name, ch.extra)
					e.pay(id)
					if paid(id) {
						t.Fatal("paid without a notification")
					}
					e.node.Svc.Now = func() time.Time { return time.Now().Add(20 * time.Second) }
					defer func() { e.node.Svc.Now = nil }()
					if _, err := e.node.Svc.Poll(ctx); err != nil {
						t.Fatal(err)
					}
					if !paid(id) {
						t.Fatal("active query did not find the payment")
					}
					waitWebhook(t, id)
				})
				t.Run("DuplicateForgedForeign", func(t *testing.T) {
					id := create(t, ch.name, ch.extra)
					e.pay(id)
					waitWebhook(t, id)
					rec := proxy.last(t)
					if status, body := proxy.send(t, rec); !acked(status, body) {
						t.Fatalf("duplicate not acknowledged: %d %s", status, body)
					}
					forged := recorded{rec.path, rec.header, bytes.Replace(rec.body, []byte("3.00"), []byte("0.03"), 1)}
					if bytes.Equal(forged.body, rec.body) { // WeChat: the amount is inside the ciphertext
						forged.body = append([]byte(nil), rec.body...)
						forged.body[len(forged.body)/2] ^= 1
					}
					if status, body := proxy.send(t, forged); acked(status, body) {
						t.Fatalf("tampered notification acknowledged: %d %s", status, body)
					}
					foreign := recorded{"/notify/" + e.node.Registry.Family(ch.name) + "/" + other.AppID + "/test", rec.header, rec.body}
					if status, body := proxy.send(t, foreign); acked(status, body) {
						t.Fatalf("notification accepted for another app: %d %s", status, body)
					}
					time.Sleep(100 * time.Millisecond)
					if n := rc.count(id, "charge.succeeded"); n != 1 {
						t.Fatalf("%d charge.succeeded webhooks, want 1", n)
					}
				})
				t.Run("LatePaymentAfterClose", func(t *testing.T) {
					setDrop(true)
					id := create(t, ch.name, ch.extra)
					e.pay(id)
					setDrop(false)
					// polypay closed the charge on its side (say its close call
					// raced the payment); the channel's signed word still counts.
					if err := e.node.DB.Write(ctx, func(tx *store.Tx) error {
						c, err := tx.LockCharge(ctx, id)
						if err != nil {
							return err
						}
						c.Status = polypay.ChargeClosed
						return tx.UpdateCharge(ctx, c)
					}); err != nil {
						t.Fatal(err)
					}
					if status, body := proxy.send(t, proxy.last(t)); !acked(status, body) {
						t.Fatalf("late notification not acknowledged: %d %s", status, body)
					}
					if !paid(id) {
						t.Fatal("late payment lost")
					}
					waitWebhook(t, id)
					var outcomes []string
					e.node.DB.Read(ctx, func(tx *store.Tx) (err error) { outcomes, err = tx.NotificationOutcomes(ctx, e.app.AppID); return })
					if outcomes[len(outcomes)-1] != "applied_after_close" {
						t.Fatalf("late payment not flagged: %v", outcomes[len(outcomes)-3:])
					}
				})
			})
		}
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}
