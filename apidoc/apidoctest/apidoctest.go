// Package apidoctest checks API exchanges against polypay's OpenAPI
// document (package apidoc) with kin-openapi's openapi3filter. Test suites
// install Transport in the HTTP client they call the API with, so every
// request and reply they make is checked: a route, parameter or field the
// document does not describe fails the test that met it.
package apidoctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/polypay/polypay/apidoc"
)

func init() {
	// The PEM keys and CSV exports are text: check them as strings (the
	// default CSV decoder would split them into rows).
	openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-www-form-urlencoded", formBody)
}

// Validator checks exchanges with the API against the document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// NewValidator returns the validator of the document; it is built once
// (the document is fixed at build time) and safe for concurrent use.
func NewValidator() (*Validator, error) { return shared() }

var shared = sync.OnceValues(newValidator)

func newValidator() (*Validator, error) {
	doc, err := apidoc.Load()
	if err != nil {
		return nil, err
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apidoctest: routing the document: %w", err)
	}
	return &Validator{doc: doc, router: r}, nil
}

// Checked tells whether an exchange on path is checked: only the /v1/ API.
// The channel notifications, cashier, console and simulators speak other
// parties' protocols or are HTML.
func Checked(path string) bool { return strings.HasPrefix(path, "/v1/") }

// Check validates one exchange: req (whose body is reqBody) answered with
// status, header and resBody. A request the API accepted (status below
// 400) must match its operation; a refused one need not (tests send bad
// input on purpose), but its reply must be a documented error. A route the
// document does not have may only answer with an error.
func (v *Validator) Check(ctx context.Context, req *http.Request, reqBody []byte, status int, header http.Header, resBody []byte) error {
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	if len(reqBody) > 0 && r.Header.Get("Content-Type") == "" {
		// polypay reads any body without a form content type as JSON.
		r.Header.Set("Content-Type", "application/json")
	}
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		if status < 400 {
			return fmt.Errorf("undocumented route %s %s answered %d", req.Method, req.URL.Path, status)
		}
		return v.checkError(header, resBody)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request does not match the document: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body:    io.NopCloser(bytes.NewReader(resBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("reply %d does not match the document: %w", status, err)
	}
	return nil
}

// checkError validates a reply against the Error schema.
func (v *Validator) checkError(header http.Header, body []byte) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error reply has content type %q, want application/json", ct)
	}
	s := v.doc.Components.Schemas["Error"]
	if s == nil {
		return errors.New("the document has no Error schema")
	}
	val, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("error reply is not JSON: %w", err)
	}
	if err := s.Value.VisitJSON(val, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("error reply does not match the Error schema: %w", err)
	}
	return nil
}

// Transport is an http.RoundTripper that checks every /v1/ exchange
// passing through it and reports a mismatch with t.Errorf.
type Transport struct {
	report func(format string, args ...any)
	base   http.RoundTripper
	v      *Validator
}

// New returns a Transport reporting to t; base nil means
// http.DefaultTransport.
func New(t testing.TB, base http.RoundTripper) *Transport {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return newTransport(t.Errorf, base, v)
}

func newTransport(report func(string, ...any), base http.RoundTripper, v *Validator) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{report: report, base: base, v: v}
}

// Client returns an HTTP client whose exchanges are checked.
func Client(t testing.TB) *http.Client {
	t.Helper()
	return &http.Client{Transport: New(t, nil)}
}

// RoundTrip sends req and checks the exchange.
func (tr *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Checked(req.URL.Path) {
		return tr.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err != nil {
		// The caller meets the same failure reading the body it is given.
		res.Body = io.NopCloser(io.MultiReader(bytes.NewReader(resBody), errReader{err}))
		return res, nil
	}
	if err := tr.v.Check(req.Context(), req, reqBody, res.StatusCode, res.Header, resBody); err != nil {
		tr.report("apidoc: %s %s: %v\nrequest: %s\nreply: %s", req.Method, req.URL.RequestURI(), err, clip(reqBody), clip(resBody))
	}
	return res, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// clip keeps failure messages readable.
func clip(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
