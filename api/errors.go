// Package api serves the Ping++ v1 compatible HTTP API, channel
// notification endpoints and the sandbox's channel simulators.
package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/polypay/polypay"
)

type errorBody struct {
	Error errorObj `json:"error"`
}

// errorObj: code and param are omitted, never null (Ping++'s Go SDK panics
// on a null code).
type errorObj struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Param   string `json:"param,omitempty"`
	// AvailableChannels lists the channels that are up, with code
	// channel_unavailable (a polypay extension).
	AvailableChannels []string `json:"available_channels,omitempty"`
	// ChannelMessage is the channel's own text, verbatim, when message
	// passes on or translates a channel's refusal (a polypay extension).
	ChannelMessage string `json:"channel_message,omitempty"`
}

// internalMessage is the reply to an error whose details stay in the log.
var internalMessage = map[polypay.Lang]string{
	polypay.LangZH: "服务器内部错误，请稍后重试 (request %s)",
	polypay.LangEN: "Internal error; retry later (request %s)",
}

// writeError is the one place where errors become HTTP statuses and Ping++
// error objects. Only internal errors are logged as errors, and their
// details never reach the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	lang := errorLang(r)
	w.Header().Set("Content-Language", string(lang))
	var e *polypay.Error
	if !errors.As(err, &e) {
		s.Log.Error("internal error", "request_id", requestID(r), "err", err)
		s.writeJSON(w, r, http.StatusInternalServerError, errorBody{errorObj{Type: "api_error", Message: fmt.Sprintf(internalMessage[lang], requestID(r))}})
		return
	}
	status, typ := http.StatusBadRequest, "invalid_request_error"
	code := ""
	switch e.Code {
	case polypay.ENotFound:
		status = http.StatusNotFound
	case polypay.EUnauthorized:
		status = http.StatusUnauthorized
	case polypay.EChannel:
		status, typ, code = http.StatusPaymentRequired, "channel_error", e.ChannelCode
		if code == "" {
			code = "channel_unavailable"
		}
	case polypay.ERiskBlocked:
		status, typ, code = http.StatusPaymentRequired, "card_error", "risk_blocked"
	case polypay.ERateLimited:
		status = http.StatusTooManyRequests
	case polypay.ETooLarge:
		status = http.StatusRequestEntityTooLarge
	case polypay.EConflict:
		code = "idempotency_error"
	case polypay.ENotSupported:
		code = "not_supported"
	case polypay.EInternal:
		s.Log.Error("internal error", "request_id", requestID(r), "err", err)
		status, typ = http.StatusInternalServerError, "api_error"
	}
	if status >= 500 {
		s.Log.Error("request failed", "request_id", requestID(r), "err", err)
	}
	obj := errorObj{Type: typ, Message: e.Localized(lang), Code: code, Param: e.Param, ChannelMessage: e.ChannelMessage}
	var av interface{ AvailableChannels() []string }
	if errors.As(err, &av) {
		obj.AvailableChannels = append([]string{}, av.AvailableChannels()...)
	}
	s.writeJSON(w, r, status, errorBody{obj})
}
