package health

import (
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
