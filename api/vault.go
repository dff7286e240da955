package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/vault"
)

// The card vault's endpoints: Ping++'s legacy customers, cards and tokens
// (GO pingpp/types.go). Card numbers enter only through POST /v1/tokens;
// everything else handles ids, and replies carry brand, last four, expiry
// and fingerprint only.

// maxTokenBody bounds a tokenization request: a card is a few fields.
const maxTokenBody = 16 << 10

var vaultIDRe = regexp.MustCompile(`^(cus|card|tok)_[0-9A-Za-z]{1,64}$`)

// longDigits finds digit runs long enough to be (part of) a card number.
var longDigits = regexp.MustCompile(`[0-9][0-9 -]{5,}[0-9]`)

// redactDigits hides digit runs that could be card numbers in text that
// echoes request input (unknown parameter names, mistyped ids, URL paths
// in the request log).
func redactDigits(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		n := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				n++
			}
		}
		if n < 7 {
			return m
		}
		return "***"
	})
}

// vaultID checks the shape of an id from the request before it is used or
// echoed: a card number pasted in the wrong place is never repeated.
func vaultID(param, kind, id string) error {
	if !vaultIDRe.MatchString(id) || !strings.HasPrefix(id, kind+"_") {
		return polypay.ParamError(param, "%s 不是有效的 %s id（%s_...）", param, kind, kind)
	}
	return nil
}

func pathID(r *http.Request, name, kind string) (string, error) {
	id := r.PathValue(name)
	if !vaultIDRe.MatchString(id) || !strings.HasPrefix(id, kind+"_") {
		return "", &polypay.Error{Code: polypay.ENotFound, Param: "id", Message: "未找到 " + kind + "。"}
	}
	return id, nil
}

// vaultBody reads a JSON object, or a form (a[b]=c becomes {"a":{"b":"c"}})
// as browsers and Ping++'s older clients send.
func vaultBody(r *http.Request, raw []byte) (*body, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return parseBody(raw)
	}
	j, err := formToJSON(string(raw))
	if err != nil {
		return nil, err
	}
	return parseBody(j)
}

// formToJSON turns a url-encoded form into a JSON object; one level of
// brackets is understood.
func formToJSON(raw string) ([]byte, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, polypay.ParamError("", "请求体不是有效的表单")
	}
	out := map[string]any{}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(v[k]) != 1 {
			return nil, polypay.ParamError(redactDigits(k), "参数 %s 重复", redactDigits(k))
		}
		val := v[k][0]
		outer, inner, nested := strings.Cut(k, "[")
		if !nested {
			if _, dup := out[k]; dup {
				return nil, polypay.ParamError(redactDigits(k), "参数 %s 重复", redactDigits(k))
			}
			out[k] = val
			continue
		}
		inner, ok := strings.CutSuffix(inner, "]")
		if !ok || inner == "" || strings.ContainsAny(inner, "[]") || outer == "" {
			return nil, polypay.ParamError(redactDigits(k), "无法识别的参数 %s", redactDigits(k))
		}
		m, ok := out[outer].(map[string]any)
		if !ok {
			if _, dup := out[outer]; dup {
				return nil, polypay.ParamError(redactDigits(k), "参数 %s 重复", redactDigits(outer))
			}
			m = map[string]any{}
			out[outer] = m
		}
		m[inner] = val
	}
	return json.Marshal(out)
}

// unknownSafe is body.unknown without echoing names that may hold digits.
func unknownSafe(b *body) error {
	err := b.unknown()
	var pe *polypay.Error
	if errors.As(err, &pe) {
		pe.Param, pe.Message = redactDigits(pe.Param), redactDigits(pe.Message)
	}
	return err
}

// TokenParams is a parsed POST /v1/tokens.
type TokenParams struct {
	Card     vault.CardInput
	Customer string
	App      string
}

// parseTokenParams reads card[number], card[exp_month], card[exp_year],
// card[cvc], card[name], and optional customer and app. It checks the
// parameters' presence and types; the vault validates the card itself.
// Errors never repeat the card number.
func parseTokenParams(b *body) (TokenParams, error) {
	var p TokenParams
	v, ok := b.raw("card")
	if !ok {
		return p, polypay.ParamError("card[number]", "缺少参数: card[number]")
	}
	f := cardFields{used: map[string]bool{}}
	if err := json.Unmarshal(v, &f.m); err != nil {
		return p, polypay.ParamError("card", "参数 card 必须是对象（card[number], card[exp_month], ...）")
	}
	if err := f.read(&p.Card); err != nil {
		return p, err
	}
	var err error
	if p.Customer, err = b.str("customer", false, 80); err != nil {
		return p, err
	}
	if p.Customer != "" {
		if err := vaultID("customer", "cus", p.Customer); err != nil {
			return p, err
		}
	}
	if _, ok := b.m["app"]; ok {
		if p.App, err = b.appID(); err != nil {
			return p, err
		}
	}
	return p, unknownSafe(b)
}

// cardFields reads the members of card[...], remembering which it read so
// that any other is refused.
type cardFields struct {
	m    map[string]json.RawMessage
	used map[string]bool
}

func (f *cardFields) read(c *vault.CardInput) (err error) {
	if c.Number, err = f.str("number", true, 64); err != nil {
		return err
	}
	if c.ExpMonth, err = f.num("exp_month"); err != nil {
		return err
	}
	if c.ExpYear, err = f.num("exp_year"); err != nil {
		return err
	}
	if c.CVC, err = f.str("cvc", false, 8); err != nil {
		return err
	}
	if c.Name, err = f.str("name", false, 400); err != nil {
		return err
	}
	return f.unknown()
}

func (f *cardFields) str(name string, required bool, max int) (string, error) {
	f.used[name] = true
	param := "card[" + name + "]"
	raw, ok := f.m[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", polypay.ParamError(param, "缺少参数: %s", param)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// A number sent as a JSON number: take its digits as written,
		// never through a float.
		t := strings.TrimSpace(string(raw))
		if t == "" || strings.Trim(t, "0123456789") != "" {
			return "", polypay.ParamError(param, "参数 %s 必须是字符串", param)
		}
		s = t
	}
	if len(s) > max {
		return "", polypay.ParamError(param, "参数 %s 过长", param)
	}
	return s, nil
}

func (f *cardFields) num(name string) (int, error) {
	s, err := f.str(name, true, 4)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, polypay.ParamError("card["+name+"]", "参数 card[%s] 必须是整数", name)
	}
	return n, nil
}

// unknown refuses the first (in sorted order) member not read, without
// repeating digits a misplaced card number would carry.
func (f *cardFields) unknown() error {
	var extra []string
	for k := range f.m {
		if !f.used[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	k := redactDigits(extra[0])
	return polypay.ParamError("card["+k+"]", "未知参数: card[%s]", k)
}

// vaultAuthed is authed for the token endpoint: it also takes the app's
// publishable key (pk_test_/pk_live_), which browsers and apps hold, so a
// card number can go from the customer's device to polypay without
// passing through the merchant's server. A publishable key can do nothing
// else. Replies may be read by any origin (the key, not the origin, says
// whose request it is).
func (s *Server) vaultAuthed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		key := bearerKey(r)
		var who core.Caller
		var raw []byte
		var err error
		if strings.HasPrefix(key, "pk_test_") || strings.HasPrefix(key, "pk_live_") {
			who, raw, err = s.authenticatePublishable(w, r, key)
		} else {
			who, raw, err = s.authenticate(w, r)
		}
		if err == nil {
			err = h(w, r, who, raw)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

// vaultPreflight answers browsers' CORS preflight for POST /v1/tokens.
func (s *Server) vaultPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authenticatePublishable(w http.ResponseWriter, r *http.Request, key string) (core.Caller, []byte, error) {
	badKey := &polypay.Error{Code: polypay.EUnauthorized, Message: "提供了无效的 API KEY: " + maskKey(key) + "。"}
	ip := s.peerIP(r)
	if s.authFails.Exhausted(ip) {
		return core.Caller{}, nil, &polypay.Error{Code: polypay.ERateLimited, Message: "认证失败次数过多，请稍后重试"}
	}
	hash := core.KeyHash(key)
	var who core.Caller
	err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
		app, live, kind, err := tx.AppByKeyHash(r.Context(), hash)
		if err != nil {
			return err
		}
		if kind != store.KeyPublishable {
			return polypay.Errorf(polypay.ENotFound, "not a publishable key")
		}
		who = core.Caller{App: app, Live: live, RequestID: requestID(r)}
		return nil
	})
	if polypay.ErrorCode(err) == polypay.ENotFound {
		s.authFails.Allow(ip)
		return who, nil, badKey
	}
	if err != nil {
		return who, nil, err
	}
	if !s.limits.Allow(hash) {
		return who, nil, &polypay.Error{Code: polypay.ERateLimited, Message: "请求过于频繁，请稍后重试"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return who, nil, &polypay.Error{Code: polypay.ETooLarge, Message: "请求体过大"}
		}
		return who, nil, polypay.ParamError("", "读取请求体失败")
	}
	markAuthenticated(r)
	return who, raw, nil
}

func (s *Server) vaultOn() error {
	if s.Vault == nil {
		return polypay.Errorf(polypay.ENotSupported, "card vault is not configured")
	}
	return nil
}

func checkApp(appID string, who core.Caller) error {
	if appID != "" && appID != who.App.ID {
		return &polypay.Error{Code: polypay.ENotFound, Param: "app", Message: "未找到 app : " + redactDigits(appID) + "。"}
	}
	return nil
}

// vaultCall is a vault endpoint: it returns the object to answer with.
type vaultCall func(r *http.Request, who core.Caller, raw []byte) (any, error)

// vaultRoute answers a vault endpoint: not_supported without a vault,
// else the call's object as JSON.
func (s *Server) vaultRoute(call vaultCall) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		if err := s.vaultOn(); err != nil {
			return err
		}
		out, err := call(r, who, raw)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// sourcePath reads /v1/customers/{id}/sources/{card}.
func sourcePath(r *http.Request) (customer, card string, err error) {
	if customer, err = pathID(r, "id", "cus"); err != nil {
		return "", "", err
	}
	card, err = pathID(r, "card", "card")
	return customer, card, err
}

func (s *Server) createToken(r *http.Request, who core.Caller, raw []byte) (any, error) {
	b, err := vaultBody(r, raw)
	if err != nil {
		return nil, err
	}
	p, err := parseTokenParams(b)
	if err != nil {
		return nil, err
	}
	if err := checkApp(p.App, who); err != nil {
		return nil, err
	}
	f := risk.Facts{AppID: who.App.ID, Live: who.Live, Route: risk.RouteToken, IP: s.peerIP(r),
		Card: s.Vault.NumberFingerprint(who.App.ID, who.Live, p.Card.Number), BINCountry: vault.Country(vault.Digits(p.Card.Number))}
	if err := s.screenToken(r.Context(), f); err != nil {
		return nil, err
	}
	tok, err := s.Vault.Tokenize(r.Context(), who.App.ID, who.Live, p.Card, p.Customer)
	if err != nil && s.Svc.Risk != nil && strings.HasPrefix(paramOf(err), vault.CardParams) {
		// An invalid card is a failed card test; a valid one is not an
		// attempt yet (its charge is).
		if aerr := s.Svc.Risk.Attempt(r.Context(), f, true); aerr != nil {
			return nil, aerr
		}
	}
	return tok, err
}

// screenToken asks the risk engine about a tokenization, which a browser
// makes with the publishable key: a refusal says nothing of the rule.
func (s *Server) screenToken(ctx context.Context, f risk.Facts) error {
	if s.Svc.Risk == nil {
		return nil
	}
	d, err := s.Svc.Risk.Decide(ctx, f)
	if err != nil || !d.Blocked() {
		return err
	}
	const format = "暂时无法完成支付，请稍后再试或更换支付方式。（参考号 %s）" // never which rule (risk.Neutral)
	return &polypay.Error{Code: polypay.ERiskBlocked, ChannelCode: "risk_blocked", Message: fmt.Sprintf(format, d.ID), Format: format, Args: []any{d.ID}}
}

func paramOf(err error) string {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		return pe.Param
	}
	return ""
}

func (s *Server) getToken(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, err := pathID(r, "id", "tok")
	if err != nil {
		return nil, err
	}
	return s.Vault.GetToken(r.Context(), who.App.ID, who.Live, id)
}

// customerParams reads the customer fields shared by create and update;
// absent fields stay nil.
func customerParams(b *body, p *vault.CustomerParams) error {
	for _, f := range []struct {
		name string
		max  int
		dst  **string
		kind polypay.Text
	}{{"name", 64, &p.Name, polypay.Line}, {"email", 255, &p.Email, polypay.Line}, {"description", 255, &p.Description, polypay.Lines}} {
		if _, ok := b.m[f.name]; !ok {
			b.used[f.name] = true
			continue
		}
		s, err := b.string(f.name, false, f.max, f.kind)
		if err != nil {
			return err
		}
		if f.name == "email" && s != "" && (!strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n")) {
			return polypay.ParamError("email", "email 不是有效的邮箱地址")
		}
		*f.dst = &s
	}
	if _, ok := b.m["metadata"]; ok {
		m, err := b.object("metadata", true, 10)
		if err != nil {
			return err
		}
		if len(m) > 1000 {
			return polypay.ParamError("metadata", "metadata 总长度不能超过 1000")
		}
		p.Metadata = m
	} else {
		b.used["metadata"] = true
	}
	return nil
}

// tokenParam reads a token id (source); card data is refused here: it
// reaches polypay only through POST /v1/tokens.
func tokenParam(b *body, name string, required bool) (string, error) {
	v, ok := b.raw(name)
	if !ok {
		if required {
			return "", polypay.ParamError(name, "缺少参数: %s", name)
		}
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", polypay.ParamError(name, "参数 %s 须为 token id（tok_...）；卡号只能通过 POST /v1/tokens 提交", name)
	}
	if err := vaultID(name, "tok", s); err != nil {
		return "", err
	}
	return s, nil
}

func (s *Server) createCustomer(r *http.Request, who core.Caller, raw []byte) (any, error) {
	b, err := vaultBody(r, raw)
	if err != nil {
		return nil, err
	}
	var p vault.CustomerParams
	if _, ok := b.m["app"]; ok {
		app, err := b.appID()
		if err != nil {
			return nil, err
		}
		if err := checkApp(app, who); err != nil {
			return nil, err
		}
	}
	if err := customerParams(b, &p); err != nil {
		return nil, err
	}
	if p.Source, err = tokenParam(b, "source", false); err != nil {
		return nil, err
	}
	if err := unknownSafe(b); err != nil {
		return nil, err
	}
	return s.Vault.CreateCustomer(r.Context(), who.App.ID, who.Live, p)
}

func listPage(r *http.Request, allowed ...string) (store.Page, error) {
	q, err := parseQuery(r, append(allowed, "limit", "starting_after", "ending_before")...)
	if err != nil {
		var pe *polypay.Error
		if errors.As(err, &pe) {
			pe.Param, pe.Message = redactDigits(pe.Param), redactDigits(pe.Message)
		}
		return store.Page{}, err
	}
	p := store.Page{StartingAfter: q.v.Get("starting_after"), EndingBefore: q.v.Get("ending_before")}
	if p.Limit, err = q.limit(); err != nil {
		return p, err
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return p, polypay.ParamError("ending_before", "starting_after 与 ending_before 不能同时使用")
	}
	for param, c := range map[string]string{"starting_after": p.StartingAfter, "ending_before": p.EndingBefore} {
		if c != "" && !vaultIDRe.MatchString(c) {
			return p, polypay.ParamError(param, "%s 不是有效的 id", param)
		}
	}
	return p, nil
}

func (s *Server) listCustomers(r *http.Request, who core.Caller, _ []byte) (any, error) {
	p, err := listPage(r, "app", "app[id]")
	if err != nil {
		return nil, err
	}
	if err := checkApp(r.URL.Query().Get("app")+r.URL.Query().Get("app[id]"), who); err != nil {
		return nil, err
	}
	return s.Vault.ListCustomers(r.Context(), who.App.ID, who.Live, p)
}

func (s *Server) getCustomer(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, err := pathID(r, "id", "cus")
	if err != nil {
		return nil, err
	}
	return s.Vault.GetCustomer(r.Context(), who.App.ID, who.Live, id)
}

func (s *Server) updateCustomer(r *http.Request, who core.Caller, raw []byte) (any, error) {
	id, err := pathID(r, "id", "cus")
	if err != nil {
		return nil, err
	}
	b, err := vaultBody(r, raw)
	if err != nil {
		return nil, err
	}
	var p vault.CustomerParams
	if err := customerParams(b, &p); err != nil {
		return nil, err
	}
	if _, ok := b.m["default_source"]; ok {
		ds, err := b.str("default_source", true, 80)
		if err != nil {
			return nil, err
		}
		if err := vaultID("default_source", "card", ds); err != nil {
			return nil, err
		}
		p.DefaultSource = &ds
	}
	if err := unknownSafe(b); err != nil {
		return nil, err
	}
	return s.Vault.UpdateCustomer(r.Context(), who.App.ID, who.Live, id, p)
}

func (s *Server) deleteCustomer(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, err := pathID(r, "id", "cus")
	if err != nil {
		return nil, err
	}
	if err := s.Vault.DeleteCustomer(r.Context(), who.App.ID, who.Live, id); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "id": id}, nil
}

func (s *Server) createSource(r *http.Request, who core.Caller, raw []byte) (any, error) {
	id, err := pathID(r, "id", "cus")
	if err != nil {
		return nil, err
	}
	b, err := vaultBody(r, raw)
	if err != nil {
		return nil, err
	}
	tok, err := tokenParam(b, "source", true)
	if err != nil {
		return nil, err
	}
	if err := unknownSafe(b); err != nil {
		return nil, err
	}
	return s.Vault.AttachSource(r.Context(), who.App.ID, who.Live, id, tok)
}

func (s *Server) listSources(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, err := pathID(r, "id", "cus")
	if err != nil {
		return nil, err
	}
	p, err := listPage(r)
	if err != nil {
		return nil, err
	}
	return s.Vault.ListSources(r.Context(), who.App.ID, who.Live, id, p)
}

func (s *Server) getSource(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, card, err := sourcePath(r)
	if err != nil {
		return nil, err
	}
	return s.Vault.GetSource(r.Context(), who.App.ID, who.Live, id, card)
}

func (s *Server) deleteSource(r *http.Request, who core.Caller, _ []byte) (any, error) {
	id, card, err := sourcePath(r)
	if err != nil {
		return nil, err
	}
	if err := s.Vault.DeleteSource(r.Context(), who.App.ID, who.Live, id, card); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "id": card}, nil
}
