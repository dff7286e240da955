package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
)

func TestOutboundFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		nets      string // fmt of Config.AllowWebhookNets
		hosts     string // fmt of Config.AllowChannelHosts
		wantError string
	}{
		{"OKNets", []string{"--allow-webhook-net", "10.0.0.0/8, 127.0.0.1"}, "[10.0.0.0/8 127.0.0.1/32]", "[]", ""},
		{"OKRepeated", []string{"--allow-webhook-net", "10.0.0.0/8", "--allow-webhook-net", "fd00::/8"}, "[10.0.0.0/8 fd00::/8]", "[]", ""},
		{"OKHosts", []string{"--allow-channel-host", "Egress.corp:8443,mock.local"}, "[]", "[egress.corp:8443 mock.local]", ""},
		{"ErrNotCIDR", []string{"--allow-webhook-net", "intranet"}, "", "", `invalid value "intranet" for flag -allow-webhook-net: "intranet" is not a CIDR range`},
		{"ErrMetadata", []string{"--allow-webhook-net", "169.254.169.254"}, "", "", "169.254.169.254 is always refused (link-local address)"},
		{"ErrHostWithScheme", []string{"--allow-channel-host", "https://egress.corp"}, "", "", `invalid value "https://egress.corp" for flag -allow-channel-host`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var cfg gateway.Config
			outboundFlags(fs, &cfg)
			err := fs.Parse(tc.args)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantError)
				}
				return
			}
			if err != nil || fmt.Sprint(cfg.AllowWebhookNets) != tc.nets || fmt.Sprint(cfg.AllowChannelHosts) != tc.hosts {
				t.Fatalf("got %v %v, %v; want %s %s", cfg.AllowWebhookNets, cfg.AllowChannelHosts, err, tc.nets, tc.hosts)
			}
		})
	}
}

// TestChannelSetAllowedHost: `polypay channel set` refuses live
// credentials naming a foreign gateway unless --allow-channel-host names it.
func TestChannelSetAllowedHost(t *testing.T) {
	t.Setenv("POLYPAY_DATABASE", "")
	dir := t.TempDir()
	out, err := capture(t, func() error { return appCmd([]string{"create", "--name", "cli", "--data", dir}) })
	if err != nil {
		t.Fatal(err)
	}
	var a core.NewApp
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	creds, _ := json.Marshal(map[string]string{"app_id": "2021000000000001", "gateway": "https://egress.corp/gateway.do",
		"private_key":       string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		"alipay_public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	file := filepath.Join(dir, "alipay.json")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra []string
		want  string // error substring, "" for success
	}{
		{"ErrForeignGateway", nil, "refused by outbound policy: host egress.corp is not one of the channel's"},
		{"OKAllowed", []string{"--allow-channel-host", "egress.corp"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"set", "--app", a.AppID, "--channel", "alipay", "--live", "--file", file, "--data", dir}, tc.extra...)
			err := channelCmd(args)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
