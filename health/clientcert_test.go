package health_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/polypay/polypay/health"
)

// selfSigned is a client certificate as a merchant's apiclient_cert.pem.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "1900000109"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestWithClientCertificate: the health transport presents the merchant's
// certificate to a server that demands one (WeChat's v2 APIs), keeps its
// base's settings, and leaves the original transport without it.
func TestWithClientCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport) // trusts the test server
	plain := &health.Transport{Base: base}
	withCert := plain.WithClientCertificate(selfSigned(t))

	res, err := (&http.Client{Transport: withCert}).Get(srv.URL)
	if err != nil {
		t.Fatalf("with the certificate: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("with the certificate: %s", res.Status)
	}
	if _, err := (&http.Client{Transport: plain}).Get(srv.URL); err == nil {
		t.Fatal("the original transport presented a certificate too")
	}
	if base.TLSClientConfig != nil && len(base.TLSClientConfig.Certificates) != 0 {
		t.Fatal("the base transport was changed")
	}
	// A base that is not an *http.Transport cannot present one: every
	// request says so rather than going out without it.
	odd := &health.Transport{Base: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })}
	if _, err := (&http.Client{Transport: odd.WithClientCertificate(selfSigned(t))}).Get(srv.URL); err == nil {
		t.Fatal("a base without TLS settings sent the request")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
