package unionpaysim

import (
	"encoding/json"
	"io"
	"net/http"
)

// TestPrefix is where the sim's test endpoints live, beside UnionPay's own
// paths; UnionPay has nothing there. They take and answer JSON, name the
// merchant by merId, and only act for merchants the sim knows
// (Options.Merchant). They carry no signature: whoever serves the sim must
// keep them off public addresses, as the sandbox does its pay hook.
//
//	POST /_test/payout/topup   {"merId","amount"}            → {"merId","funds"}
//	GET  /_test/payout/funds?merId=…                          → {"merId","funds"}
//	POST /_test/payout/decide  {"merId","orderId","respCode"} → the payout
//	GET  /_test/payout?merId=…&orderId=…                      → the payout
//
// amount and funds are fen. decide's respCode is as for DecidePayout: ""
// decides as a query would, "00" pays, a failure code fails.
const TestPrefix = "/_test"

func (s *Sim) testRoutes(m *http.ServeMux) {
	m.HandleFunc("POST "+TestPrefix+"/payout/topup", s.topUpEndpoint)
	m.HandleFunc("GET "+TestPrefix+"/payout/funds", s.fundsEndpoint)
	m.HandleFunc("POST "+TestPrefix+"/payout/decide", s.decideEndpoint)
	m.HandleFunc("GET "+TestPrefix+"/payout", s.payoutEndpoint)
}

// testRequest is every test endpoint's input.
type testRequest struct {
	MerID    string `json:"merId"`
	OrderID  string `json:"orderId"`
	Amount   int64  `json:"amount"`
	RespCode string `json:"respCode"`
}

type fundsAnswer struct {
	MerID string `json:"merId"`
	Funds int64  `json:"funds"`
}

// PayoutAnswer is a payout as the test endpoints show it.
type PayoutAnswer struct {
	MerID    string `json:"merId"`
	OrderID  string `json:"orderId"`
	QueryID  string `json:"queryId"`
	Amount   int64  `json:"amount"`
	State    string `json:"state"`
	RespCode string `json:"respCode"`
}

func answerOf(p PayoutSnapshot) PayoutAnswer {
	return PayoutAnswer{MerID: p.MerID, OrderID: p.OrderID, QueryID: p.QueryID, Amount: p.Amount, State: p.State, RespCode: p.RespCode}
}

// readTest reads a test request (the JSON body, or the query for GETs)
// and checks that it names a known merchant; false when it answered.
func (s *Sim) readTest(w http.ResponseWriter, r *http.Request) (testRequest, bool) {
	var in testRequest
	if r.Method == http.MethodGet {
		in.MerID, in.OrderID = r.URL.Query().Get("merId"), r.URL.Query().Get("orderId")
	} else {
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object: " + err.Error()})
			return in, false
		}
	}
	if m, ok := s.merchant(in.MerID); in.MerID == "" || !ok || m == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown merId"})
		return in, false
	}
	return in, true
}

func (s *Sim) topUpEndpoint(w http.ResponseWriter, r *http.Request) {
	in, ok := s.readTest(w, r)
	if !ok {
		return
	}
	funds, err := s.TopUp(in.MerID, in.Amount)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, fundsAnswer{MerID: in.MerID, Funds: funds})
}

func (s *Sim) fundsEndpoint(w http.ResponseWriter, r *http.Request) {
	if in, ok := s.readTest(w, r); ok {
		writeJSON(w, http.StatusOK, fundsAnswer{MerID: in.MerID, Funds: s.Funds(in.MerID)})
	}
}

func (s *Sim) decideEndpoint(w http.ResponseWriter, r *http.Request) {
	in, ok := s.readTest(w, r)
	if !ok {
		return
	}
	if _, found := s.Payout(in.MerID, in.OrderID); !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such payout"})
		return
	}
	if _, err := s.DecidePayout(r.Context(), in.MerID, in.OrderID, in.RespCode); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	p, _ := s.Payout(in.MerID, in.OrderID)
	writeJSON(w, http.StatusOK, answerOf(p))
}

func (s *Sim) payoutEndpoint(w http.ResponseWriter, r *http.Request) {
	in, ok := s.readTest(w, r)
	if !ok {
		return
	}
	p, found := s.Payout(in.MerID, in.OrderID)
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such payout"})
		return
	}
	writeJSON(w, http.StatusOK, answerOf(p))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
