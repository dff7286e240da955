package alipaysim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The sandbox's fund desk, for people and tests driving transfers by hand
// (Alipay has nothing like it; its sandbox tops accounts up in a web
// console). Like the wallet pages they are served wherever the sim is
// mounted (/sim/alipay/fund/... in a polypay node) and take form posts:
//
//   - POST <sim>/fund/topup, app_id and amount (yuan, "500.00"): adds to
//     the app's available funds (充值) and answers
//     {"app_id":...,"available_amount":"..."}.
//   - GET <sim>/fund?app_id=...: the app's available funds, the same JSON.
//   - POST <sim>/fund/decide, app_id, out_biz_no and optionally
//     outcome=fail: decides a DEALING transfer now (DecidePayout) and
//     answers {"out_biz_no":...,"status":...}.
//
// Errors are 4xx with {"error": "..."}. Nothing here is signed: the
// sandbox holds no real money, as the wallet pages that pay its trades.

const (
	fundPath       = "/fund"
	fundTopUpPath  = "/fund/topup"
	fundDecidePath = "/fund/decide"
)

// fundPage tells whether a path is a fund desk endpoint, wherever the sim
// is mounted.
func fundPage(path string) (string, bool) {
	for _, p := range []string{fundTopUpPath, fundDecidePath, fundPath} {
		if strings.HasSuffix(path, p) {
			return p, true
		}
	}
	return "", false
}

type fundAnswer struct {
	AppID           string `json:"app_id"`
	AvailableAmount string `json:"available_amount"`
}

type decideAnswer struct {
	OutBizNo string `json:"out_biz_no"`
	Status   string `json:"status"`
}

// serveFund answers the fund desk.
func (s *Sim) serveFund(w http.ResponseWriter, r *http.Request, page string) {
	want := http.MethodPost
	if page == fundPath {
		want = http.MethodGet
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		fundError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fundError(w, http.StatusBadRequest, "the form does not parse")
		return
	}
	appID := r.Form.Get("app_id")
	if appID == "" {
		fundError(w, http.StatusBadRequest, "app_id is required")
		return
	}
	switch page {
	case fundTopUpPath:
		s.topUpForm(w, appID, r.Form.Get("amount"))
	case fundDecidePath:
		s.decideForm(w, r, appID)
	default:
		fundJSON(w, http.StatusOK, fundAnswer{appID, yuan(s.Funds(appID))})
	}
}

func (s *Sim) topUpForm(w http.ResponseWriter, appID, amount string) {
	fen, err := parseFen(amount)
	if err != nil {
		fundError(w, http.StatusBadRequest, "amount must be yuan with at most two decimals, e.g. 500.00")
		return
	}
	funds, err := s.TopUp(appID, fen)
	if err != nil {
		fundError(w, http.StatusBadRequest, err.Error())
		return
	}
	fundJSON(w, http.StatusOK, fundAnswer{appID, yuan(funds)})
}

func (s *Sim) decideForm(w http.ResponseWriter, r *http.Request, appID string) {
	outBizNo, outcome := r.Form.Get("out_biz_no"), r.Form.Get("outcome")
	if outcome != "" && outcome != "success" && outcome != "fail" {
		fundError(w, http.StatusBadRequest, "outcome is success or fail")
		return
	}
	err := s.DecidePayout(r.Context(), appID, outBizNo, outcome == "fail")
	switch {
	case errors.Is(err, ErrPayoutNotFound):
		fundError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, ErrPayoutDecided):
		fundError(w, http.StatusConflict, err.Error())
		return
	}
	s.mu.Lock()
	status := s.orders[fundKey{appID, outBizNo}].status
	s.mu.Unlock()
	fundJSON(w, http.StatusOK, decideAnswer{outBizNo, status})
}

func fundError(w http.ResponseWriter, status int, msg string) {
	fundJSON(w, status, map[string]string{"error": msg})
}

func fundJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
