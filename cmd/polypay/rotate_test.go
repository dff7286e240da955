package main

import (
	"context"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/api"
	"github.com/polypay/polypay/gateway"
)

// TestAppRotateWebhookKey: `polypay app rotate-webhook-key` on the data
// directory of a running server prints the new key and the switch time,
// and the server publishes that key (with that time) at once.
func TestAppRotateWebhookKey(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	dir := t.TempDir()
	ctx := context.Background()
	n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(ctx)
	a, err := n.CreateApp(ctx, "rotate")
	if err != nil {
		t.Fatal(err)
	}
	publicKey := func(sk string) ([]byte, string) {
		req, _ := http.NewRequest("GET", n.URL+"/v1/webhook_endpoints/public_key", nil)
		req.SetBasicAuth(sk, "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("public key: %d %s", res.StatusCode, b)
		}
		return b, res.Header.Get(api.KeySwitchHeader)
	}
	oldTest, _ := publicKey(a.SecretKeyTest)
	oldLive, _ := publicKey(a.SecretKeyLive)
	switchRE := regexp.MustCompile(`(?m)^switch_at: +(\S+)`)
	tests := []struct {
		name    string
		args    []string
		sk      string
		old     []byte
		overlap time.Duration
		ok      bool
	}{
		{"OKTest", []string{"--app", a.AppID}, a.SecretKeyTest, oldTest, 24 * time.Hour, true},
		{"ErrPendingRotation", []string{"--app", a.AppID, "--overlap", "1h"}, "", nil, 0, false},
		{"OKLiveNoOverlap", []string{"--app", a.AppID, "--live", "--overlap", "0s"}, a.SecretKeyLive, oldLive, 0, true},
		{"ErrNoApp", nil, "", nil, 0, false},
		{"ErrUnknownApp", []string{"--app", "app_0000000000000000"}, "", nil, 0, false},
		{"ErrNegativeOverlap", []string{"--app", a.AppID, "--live", "--overlap", "-1h"}, "", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			out, err := capture(t, func() error {
				return appCmd(append([]string{"rotate-webhook-key", "--data", dir}, tc.args...))
			})
			if (err == nil) != tc.ok {
				t.Fatalf("rotate-webhook-key: %v, want ok=%v\n%s", err, tc.ok, out)
			}
			if !tc.ok {
				return
			}
			i := strings.Index(out, "-----BEGIN")
			m := switchRE.FindStringSubmatch(out)
			if i < 0 || m == nil {
				t.Fatalf("output lacks the key or the switch time:\n%s", out)
			}
			block, _ := pem.Decode([]byte(out[i:]))
			if block == nil {
				t.Fatalf("output lacks the key or the switch time:\n%s", out)
			}
			printed := pem.EncodeToMemory(block)
			at, err := time.Parse(time.RFC3339, m[1])
			if err != nil || at.Before(before.Add(tc.overlap)) || at.After(time.Now().Add(tc.overlap+time.Second)) { // rounded up to a second
				t.Fatalf("switch_at %s (%v), want now + %v", m[1], err, tc.overlap)
			}
			served, hdr := publicKey(tc.sk)
			if string(served) == string(tc.old) || string(served) != string(printed) {
				t.Fatalf("the server publishes\n%s\nwant the printed new key\n%s", served, printed)
			}
			wantHdr := m[1]
			if tc.overlap == 0 {
				wantHdr = "" // already signing
			}
			if hdr != wantHdr {
				t.Fatalf("%s = %q, want %q", api.KeySwitchHeader, hdr, wantHdr)
			}
		})
	}
}
