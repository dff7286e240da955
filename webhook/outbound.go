package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay/outbound"
)

// DefaultAttemptTimeout bounds each delivery attempt.
const DefaultAttemptTimeout = 10 * time.Second

// NewClient is an HTTP client for deliveries in one mode: timeout per
// attempt (0: DefaultAttemptTimeout), redirects are not followed (a 3xx is
// a failed attempt), and every connection goes only where p allows in that
// mode, checked on the address connected to (see outbound).
func NewClient(p *outbound.Policy, live bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	c := p.Client(live, timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// client is the delivery client of a mode. Each mode has its own (and its
// own connection pool): a connection made for a test endpoint, where
// loopback is allowed, is never reused for a live one.
func (d *Dispatcher) client(live bool) *http.Client {
	d.clientsOnce.Do(func() {
		d.clients = [2]*http.Client{NewClient(d.Policy, false, d.AttemptTimeout), NewClient(d.Policy, true, d.AttemptTimeout)}
	})
	if live {
		return d.clients[1]
	}
	return d.clients[0]
}

// An attempt that got no answer is recorded, for the merchant (delivery
// log, console), as one of these: refused by the outbound policy, or
// failed. Nothing on how it failed: "connection refused" against "i/o
// timeout" would tell which ports of a host answer, and make polypay a
// port scanner. The detail goes to the server log, at debug level.
const (
	ErrTextRefused = "refused by policy"
	ErrTextFailed  = "failed"
)

// publicError is the recorded text of an attempt that got no answer.
func publicError(err error) string {
	if errors.Is(err, outbound.ErrRefused) {
		return ErrTextRefused
	}
	return ErrTextFailed
}

// logURL is a URL fit for the server log: no user information, query or
// fragment (merchants put tokens there).
func logURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// causeOf drops url.Error's wrapping, which repeats the whole URL.
func causeOf(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
