package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/sim/unionpaysim"
	"github.com/polypay/polypay/store"
)

type unionpayFamily struct {
	sim *unionpaysim.Sim
	sb  *Sandbox
}

func newUnionPayFamily(ctx context.Context, s *Sandbox, db *store.DB, box *seal.Box, client *http.Client) (*unionpayFamily, error) {
	var keys [3]*rsa.PrivateKey
	for i, n := range []string{"root", "middle", "sign"} {
		k, err := credstore.LoadOrCreateKey(ctx, db, box, "sim.unionpay."+n+"_key")
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	f := &unionpayFamily{sb: s}
	f.sim = unionpaysim.New(unionpaysim.Options{RootKey: keys[0], MiddleKey: keys[1], SignKey: keys[2],
		Merchant: f.merchant, Logger: s.log, Retry: s.scaled(unionpaysim.DefaultRetry),
		HTTPClient: client})
	return f, nil
}

func (f *unionpayFamily) name() string { return unionpay.Family.Name }
func (f *unionpayFamily) path() string { return "/sim/unionpay" }

// credentials makes a merchant key and a self-signed signing certificate
// (UnionPay registers the merchant's certificate; the sim knows sandbox
// ones through the registry).
func (f *unionpayFamily) credentials() (json.RawMessage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(90_000_000_000))
	serial.Add(serial, big.NewInt(10_000_000_000))
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	merID := fmt.Sprintf("777%012d", n)
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{Country: []string{"CN"}, CommonName: "041@" + merID + "@polypay sandbox merchant@00000001"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature},
		&x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "041@" + merID + "@polypay sandbox merchant@00000001", Country: []string{"CN"}}},
		&k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	return json.Marshal(channel.UnionPayConfig{
		MerID:           merID,
		PrivateKey:      string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		SignCert:        string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		RootCert:        f.sim.RootCertPEM(),
		MiddleCert:      f.sim.MiddleCertPEM(),
		AppleMerchantID: "merchant.com.polypay.sandbox",
		Sandbox:         true,
	})
}

// merchant tells the simulator a sandbox merchant's certificate.
func (f *unionpayFamily) merchant(merID string) (*unionpaysim.Merchant, bool) {
	raw, ok := f.sb.sandboxConfig(unionpay.Family.Name, merID)
	if !ok {
		return nil, false
	}
	c, err := unionpay.DecodeCredentials(raw)
	if err != nil {
		return nil, false
	}
	k, cert, err := unionpay.KeyPair(c.PrivateKey, c.SignCert)
	if err != nil {
		return nil, false
	}
	return &unionpaysim.Merchant{MerID: c.MerID, CertID: cert.SerialNumber.String(), PublicKey: &k.PublicKey}, true
}

func (f *unionpayFamily) pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error {
	var fields map[string]string
	if err := json.Unmarshal(c.Credential, &fields); err != nil {
		return polypay.Errorf(polypay.EInvalid, "charge %s has no UnionPay credential", c.ID)
	}
	var err error
	switch c.Channel {
	case unionpay.ChannelApp:
		err = f.sim.PayTN(ctx, fields["tn"], success)
	case unionpay.ChannelApplePay:
		err = f.sim.ApplePay(ctx, fields["tn"], unionpaysim.NewApplePayToken(c.Amount, unionpaysim.TestCard), success)
	case unionpay.ChannelScan:
		// The customer confirms (or refuses) a scanned code's purchase in
		// the app; codes that pay at once are paid already.
		err = f.sim.PayCode(ctx, merchantID, fields["orderId"], success)
	default:
		// The browser posts the form first (that is when UnionPay sees
		// the order), then the customer pays on the card page.
		if err := f.postForm(ctx, fields); err != nil {
			return err
		}
		err = f.sim.Pay(ctx, merchantID, fields["orderId"], success)
	}
	if err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	return nil
}

// postForm posts a upacp_wap/upacp_pc credential to the simulator's front
// gateway as the customer's browser would. Sandbox credentials name the
// simulator in channel_url, which is not a UnionPay field and is left out
// (live credentials carry no channel_url: pingpp-js posts every key).
func (f *unionpayFamily) postForm(ctx context.Context, fields map[string]string) error {
	form := url.Values{}
	for k, v := range fields {
		if k != "channel_url" {
			form.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.sb.simURL+f.path()+unionpay.PathFront, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := f.sb.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="card"`) {
		return polypay.Errorf(polypay.EChannel, "simulator front gateway refused the form: %d %s", res.StatusCode, clipPage(page))
	}
	return nil
}

func clipPage(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}

func (f *unionpayFamily) handler() http.Handler { return f.sim }

func (f *unionpayFamily) close() { f.sim.Close() }

// UnionPaySim is the built-in UnionPay simulator (tests drive it directly).
func (s *Sandbox) UnionPaySim() *unionpaysim.Sim { return s.unionpay.sim }
