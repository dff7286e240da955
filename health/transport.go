package health

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// NotAcceptedError says a request never reached the channel, or the
// channel's front refused it before processing it: no trade can exist
// because of it, so the same charge may safely go to another account.
type NotAcceptedError struct {
	Reason string // "breaker_open", "connect", "http_503", ...
	Err    error
}

func (e *NotAcceptedError) Error() string {
	if e.Err != nil {
		return "channel did not accept the request (" + e.Reason + "): " + e.Err.Error()
	}
	return "channel did not accept the request (" + e.Reason + ")"
}

func (e *NotAcceptedError) Unwrap() error { return e.Err }

// NotAccepted reports whether err shows the request was not accepted,
// and why. A connector that loses the cause (formats it into a string)
// makes its failures look unknown, which is the safe side.
func NotAccepted(err error) (string, bool) {
	var na *NotAcceptedError
	if errors.As(err, &na) {
		return na.Reason, true
	}
	return "", false
}

// Transport marks the failures of outgoing channel requests that happened
// before the channel accepted them: a connection that could not be made,
// and 502/503 answers (a front proxy or the channel itself saying it is
// unavailable; both are documented as "not processed, retry"). Everything
// else (timeouts, connections lost after sending, 500, 504) stays an
// unknown outcome for the caller to settle by query.
type Transport struct {
	Base http.RoundTripper
}

// WithClientCertificate is this transport presenting cert as its TLS
// client certificate (WeChat Pay's v2 APIs, red envelopes among them,
// authenticate the merchant so). The base must be an *http.Transport,
// cloned with its dialer and outbound policy; any other base answers every
// request with an error saying so.
func (t *Transport) WithClientCertificate(cert tls.Certificate) http.RoundTripper {
	base, ok := t.Base.(*http.Transport)
	if t.Base == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return failing{fmt.Errorf("the HTTP transport (%T) cannot present a TLS client certificate", t.Base)}
	}
	tr := base.Clone()
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	return &Transport{Base: tr}
}

type failing struct{ err error }

func (f failing) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	res, err := base.RoundTrip(r)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &NotAcceptedError{Reason: "connect", Err: err}
		}
		return nil, err
	}
	if res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusBadGateway {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		return nil, &NotAcceptedError{Reason: fmt.Sprintf("http_%d", res.StatusCode)}
	}
	return res, nil
}
