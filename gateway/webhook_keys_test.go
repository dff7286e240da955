package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/polypay/polypay/api"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

// rawHook is one delivery as the merchant received it.
type rawHook struct {
	body []byte
	sig  string
	typ  string
}

// listenRaw registers a webhook endpoint for e's app in test mode that
// keeps every delivery's raw body and signature, verifying nothing.
func (e *env) listenRaw() chan rawHook {
	e.t.Helper()
	ch := make(chan rawHook, 100)
	ln := mustListen(e.t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		ch <- rawHook{body: body, sig: r.Header.Get(webhook.SignatureHeader), typ: ev.Type}
	})}
	go srv.Serve(ln)
	e.t.Cleanup(func() { srv.Close() })
	r := e.do("POST", "/v1/webhook_endpoints", e.sk(), map[string]any{"app": e.app.AppID, "url": "http://" + ln.Addr().String() + "/hook"})
	if r.Status != 200 {
		e.t.Fatalf("register webhook: %d %s", r.Status, r.Body)
	}
	return ch
}

func nextHook(t *testing.T, ch chan rawHook, typ string) rawHook {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case h := <-ch:
			if h.typ == typ {
				return h
			}
		case <-deadline:
			t.Fatalf("no %s webhook within 10 s", typ)
		}
	}
}

func (e *env) webhookKey(appID string, live bool) []byte {
	e.t.Helper()
	p, err := e.node.WebhookPublicKey(ctx, appID, live)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestWebhookPublicKeyEndpoint: the public key is served only to a secret
// key, and it is that key's app and mode's own.
func TestWebhookPublicKeyEndpoint(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	aTest, aLive, bTest := e.webhookKey(e.app.AppID, false), e.webhookKey(e.app.AppID, true), e.webhookKey(other.AppID, false)
	if bytes.Equal(aTest, aLive) || bytes.Equal(aTest, bTest) || bytes.Equal(aLive, bTest) {
		t.Fatal("two apps or modes share a webhook key")
	}
	if _, err := webhook.ParsePublicKey(aTest); err != nil || !bytes.HasPrefix(aTest, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Fatalf("not an SPKI PEM: %v\n%s", err, aTest)
	}
	tests := []struct {
		name   string
		query  string
		key    string
		status int
		want   []byte
	}{
		{"ErrNoKey", "", "", 401, nil},
		{"ErrPublishableKey", "", e.app.PublishableKeyTest, 401, nil},
		{"ErrUnknownKey", "", "sk_test_0000000000000000000000ab", 401, nil},
		{"OKTest", "", e.app.SecretKeyTest, 200, aTest},
		{"OKLive", "", e.app.SecretKeyLive, 200, aLive},
		{"OKOtherApp", "", other.SecretKeyTest, 200, bTest},
		{"OKAllWithoutRotation", "?all=1", e.app.SecretKeyTest, 200, aTest},
		{"ErrBadAll", "?all=yes", e.app.SecretKeyTest, 400, nil},
		{"ErrUnknownParam", "?app=" + other.AppID, e.app.SecretKeyTest, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v1/webhook_endpoints/public_key"+tc.query, tc.key, nil)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.want == nil {
				if bytes.Contains(r.Body, []byte("PUBLIC KEY")) {
					t.Fatalf("error reply carries a key: %s", r.Body)
				}
				return
			}
			if !bytes.Equal(r.Body, tc.want) {
				t.Fatalf("body = %s, want %s", r.Body, tc.want)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-pem-file" {
				t.Fatalf("Content-Type = %q, want application/x-pem-file", ct)
			}
			if h := r.Header.Get(api.KeySwitchHeader); h != "" {
				t.Fatalf("%s = %q outside a rotation", api.KeySwitchHeader, h)
			}
		})
	}
}

// TestWebhookSignaturesDoNotCross is the regression test for one key
// signing everything: a test-mode event fetched through the API (a signed
// reply) must not pass as a webhook of any app or mode, and an app's
// webhook must not verify with another app's or mode's key.
func TestWebhookSignaturesDoNotCross(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		hooks := e.listenRaw()
		other, err := e.node.CreateApp(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		e.pay(e.createCharge("XS0001", 4200))
		hook := nextHook(t, hooks, "charge.succeeded")
		var ev struct{ ID string }
		if err := json.Unmarshal(hook.body, &ev); err != nil || ev.ID == "" {
			t.Fatalf("webhook body: %v %s", err, hook.body)
		}
		reply := e.do("GET", "/v1/events/"+ev.ID, e.sk(), nil)
		if reply.Status != 200 || reply.str("type") != "charge.succeeded" {
			t.Fatalf("GET event: %d %s", reply.Status, reply.Body)
		}
		replySig := reply.Header.Get(webhook.SignatureHeader)
		replyKey := e.node.ReplySigner.PublicKeyPEM()
		aTest, aLive := e.webhookKey(e.app.AppID, false), e.webhookKey(e.app.AppID, true)
		bTest, bLive := e.webhookKey(other.AppID, false), e.webhookKey(other.AppID, true)
		tests := []struct {
			name string
			body []byte
			sig  string
			key  []byte
			ok   bool
		}{
			{"WebhookOwnKey", hook.body, hook.sig, aTest, true},
			{"WebhookOwnLiveKey", hook.body, hook.sig, aLive, false},
			{"WebhookOtherAppKey", hook.body, hook.sig, bTest, false},
			{"WebhookOtherAppLiveKey", hook.body, hook.sig, bLive, false},
			{"WebhookReplyKey", hook.body, hook.sig, replyKey, false},
			{"EventReplyReplyKey", reply.Body, replySig, replyKey, true},
			{"EventReplyOwnKey", reply.Body, replySig, aTest, false},
			{"EventReplyOwnLiveKey", reply.Body, replySig, aLive, false},
			{"EventReplyOtherAppKey", reply.Body, replySig, bTest, false},
			{"EventReplyOtherAppLiveKey", reply.Body, replySig, bLive, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := webhook.Verify(tc.body, tc.sig, tc.key)
				if got := err == nil; got != tc.ok {
					t.Fatalf("verifies = %v (%v), want %v", got, err, tc.ok)
				}
			})
		}
	})
}

// TestRotateWebhookKeyDelivery: during a rotation's overlap the endpoint
// publishes the new key while deliveries stay signed with the old one;
// once the new key's time has come, it signs.
func TestRotateWebhookKeyDelivery(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		other, err := e.node.CreateApp(ctx, "switched")
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			env     *env
			overlap time.Duration
			signing func(old, new []byte) []byte // the key that signs now
			all     func(old, new []byte) []byte // what ?all=1 serves
		}{
			{"DuringOverlap", e, time.Hour,
				func(old, _ []byte) []byte { return old }, func(old, new []byte) []byte { return append(append([]byte{}, new...), old...) }},
			{"AfterOverlap", &env{t: t, node: e.node, app: other}, 0,
				func(_, new []byte) []byte { return new }, func(_, new []byte) []byte { return new }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				x := *tc.env
				x.t = t
				hooks := x.listenRaw()
				get := func(q string) *resp {
					r := x.do("GET", "/v1/webhook_endpoints/public_key"+q, x.sk(), nil)
					if r.Status != 200 {
						t.Fatalf("public key: %d %s", r.Status, r.Body)
					}
					return r
				}
				old := get("").Body
				rot, err := x.node.WebhookKeys.Rotate(ctx, x.app.AppID, false, tc.overlap)
				if err != nil {
					t.Fatal(err)
				}
				newKey := rot.PublicKeyPEM
				r := get("")
				if !bytes.Equal(r.Body, newKey) {
					t.Fatalf("published key is not the new one:\n%s", r.Body)
				}
				wantSwitch := ""
				if tc.overlap > 0 {
					wantSwitch = rot.SwitchAt.UTC().Format(time.RFC3339)
				}
				if h := r.Header.Get(api.KeySwitchHeader); h != wantSwitch {
					t.Fatalf("%s = %q, want %q", api.KeySwitchHeader, h, wantSwitch)
				}
				if all := get("?all=1").Body; !bytes.Equal(all, tc.all(old, newKey)) {
					t.Fatalf("?all=1 served\n%s", all)
				}
				x.pay(x.createCharge("RK"+tc.name, 100))
				hook := nextHook(t, hooks, "charge.succeeded")
				signing := tc.signing(old, newKey)
				for _, k := range [][]byte{old, newKey} {
					err := webhook.Verify(hook.body, hook.sig, k)
					if want := bytes.Equal(k, signing); (err == nil) != want {
						t.Fatalf("delivery verifies with the %s key: %v, want %v", map[bool]string{true: "old", false: "new"}[bytes.Equal(k, old)], err == nil, want)
					}
				}
			})
		}
	})
}
