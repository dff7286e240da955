// Package polypay holds the domain of the gateway: objects, their state
// transitions, the application error type and the interfaces that adapters
// (stores, channel connectors) implement. It imports nothing of ours.
package polypay

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Each maps to exactly one HTTP status and Ping++ error type in
// api.writeError; anything that is not an *Error is reported as internal.
const (
	EInvalid      = "invalid"      // 400 invalid_request_error
	ENotFound     = "not_found"    // 404 invalid_request_error
	EUnauthorized = "unauthorized" // 401 invalid_request_error
	EConflict     = "conflict"     // 400 invalid_request_error (idempotency / order_no reuse)
	EChannel      = "channel"      // 402 channel_error
	ETooLarge     = "too_large"    // 413 invalid_request_error
	ERateLimited  = "rate_limited" // 429 invalid_request_error
	ERiskBlocked  = "risk_blocked" // 402 card_error: a risk rule refused the request
	EInternal     = "internal"     // 500 api_error
	ENotSupported = "not_supported"
)

// Error is the one application error type. Param names the offending request
// parameter so that merchants see which field to fix.
type Error struct {
	Code    string
	Message string
	Param   string
	// ChannelCode is the channel's raw code (for example Alipay's sub_code),
	// kept for channel errors so merchants can look it up in the channel's docs.
	ChannelCode string
	// ChannelMessage is the channel's own text, verbatim, when Message
	// passes it through; replies carry it beside a translation.
	ChannelMessage string
	Err            error
	// Format and Args are the catalogue key and its values (set by Errorf,
	// ParamError and NotFound), so a reply can be rendered in the
	// merchant's language instead of translating the formatted text.
	Format string
	Args   []any
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (param %s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// ParamError reports a bad request parameter.
func ParamError(param, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Param: param, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// ErrorCode returns the code of an application error, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// NotFound reports an unknown object id in Ping++'s wording.
func NotFound(kind, id string) *Error {
	const format = "未找到 %s : %s。"
	return &Error{Code: ENotFound, Param: "id", Message: fmt.Sprintf(format, kind, id), Format: format, Args: []any{kind, id}}
}

// NestParam names parameter param inside object outer the way the API
// names nested parameters: NestParam("charge", "extra[user]") is
// "charge[extra][user]".
func NestParam(outer, param string) string {
	if i := strings.IndexByte(param, '['); i >= 0 {
		return outer + "[" + param[:i] + "]" + param[i:]
	}
	return outer + "[" + param + "]"
}
