package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/polypay/polypay"
)

// The simulators can run in a process of their own (polypay sim, or a
// fault-injection harness), so that their trades outlive any one polypay
// node: a node started with WithRemoteSim calls them at simURL for the
// channel API, proxies the buyers' browser pages to them, and asks them to
// play the customer through the pay hook below.

// payHookPath is where SimHostHandler takes customer payments for
// nodes whose simulators are remote. It is not proxied by Handler: only
// processes that can reach the simulators' own listener use it.
const payHookPath = "/sim/_pay"

// payHookRequest is what a node sends the simulator host to play the
// customer on a charge: the fields Pay needs.
type payHookRequest struct {
	ID         string          `json:"id"`
	App        string          `json:"app"`
	Channel    string          `json:"channel"`
	Credential json.RawMessage `json:"credential"`
	Success    bool            `json:"success"`
}

type payHookError struct {
	Code    string `json:"code"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

// SimHostHandler serves the simulators for nodes started with
// WithRemoteSim: Handler's endpoints plus the customer-payment hook. Serve
// it on a listener only polypay nodes and test harnesses reach.
func (s *Sandbox) SimHostHandler() http.Handler {
	m := http.NewServeMux()
	m.Handle("/sim/", s.localHandler())
	m.HandleFunc("POST "+payHookPath, func(w http.ResponseWriter, req *http.Request) {
		var p payHookRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&p); err != nil {
			writePayHook(w, http.StatusBadRequest, polypay.ParamError("", "bad pay request: %v", err))
			return
		}
		c := &polypay.Charge{ID: p.ID, AppID: p.App, Channel: p.Channel, Credential: p.Credential}
		if err := s.Pay(req.Context(), c, p.Success); err != nil {
			writePayHook(w, http.StatusUnprocessableEntity, err)
			return
		}
		writePayHook(w, http.StatusOK, nil)
	})
	return m
}

func writePayHook(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err == nil {
		io.WriteString(w, "{}")
		return
	}
	e := payHookError{Code: polypay.ErrorCode(err), Message: err.Error()}
	if pe, ok := err.(*polypay.Error); ok {
		e.Param, e.Message = pe.Param, pe.Message
	}
	json.NewEncoder(w).Encode(e)
}

// payRemote asks the simulator host to play the customer.
func (s *Sandbox) payRemote(ctx context.Context, c *polypay.Charge, success bool) error {
	body, _ := json.Marshal(payHookRequest{ID: c.ID, App: c.AppID, Channel: c.Channel, Credential: c.Credential, Success: success})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.simURL+payHookPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.httpClient().Do(req)
	if err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return nil
	}
	var e payHookError
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&e); err != nil || e.Code == "" || e.Code == polypay.EInternal {
		return polypay.Errorf(polypay.EChannel, "simulator answered %d %s", res.StatusCode, e.Message)
	}
	return &polypay.Error{Code: e.Code, Param: e.Param, Message: e.Message}
}

// remoteHandler proxies the simulators' browser-facing endpoints (cashier
// and wallet pages, bill downloads) to the simulator host.
func (s *Sandbox) remoteHandler() http.Handler {
	u, err := url.Parse(s.simURL)
	if err != nil || u.Host == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, fmt.Sprintf("simulator URL %q is unusable", s.simURL), http.StatusBadGateway)
		})
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == payHookPath {
			http.NotFound(w, req)
			return
		}
		proxy.ServeHTTP(w, req)
	})
}
