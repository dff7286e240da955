package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Ping++'s sub-apps and their channels (core/sub_apps.go).
func (s *Server) subAppRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/sub_apps", s.authed(s.createSubApp))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps", s.authed(s.listSubApps))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}", s.authed(s.subAppCall(s.Svc.GetSubApp)))
	m.HandleFunc("PUT /v1/apps/{app}/sub_apps/{sub}", s.authed(s.updateSubApp))
	m.HandleFunc("DELETE /v1/apps/{app}/sub_apps/{sub}", s.authed(s.subAppCall(s.deleteSubApp)))
	m.HandleFunc("POST /v1/apps/{app}/sub_apps/{sub}/channels", s.authed(s.putSubAppChannel(true)))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/channels/{channel}", s.authed(s.getSubAppChannel))
	m.HandleFunc("PUT /v1/apps/{app}/sub_apps/{sub}/channels/{channel}", s.authed(s.putSubAppChannel(false)))
	m.HandleFunc("DELETE /v1/apps/{app}/sub_apps/{sub}/channels/{channel}", s.authed(s.deleteSubAppChannel))
}

// actFor makes the caller the sub-app a request names (the path's {app},
// app[id] or app in the query, app or app.id in a JSON body), or whose
// object the path names by id (/v1/charges/{id}, …), when it is one of the
// caller's sub-apps: a platform's keys act for its merchants, as Ping++'s
// account keys do for all the account's apps. Any other app is left for
// the handler to refuse as unknown.
func (s *Server) actFor(ctx context.Context, r *http.Request, who core.Caller, raw []byte) (core.Caller, error) {
	target := namedApp(r, raw)
	table, id := objectOf(r)
	if target == who.App.ID || target == "" && table == "" {
		return who, nil
	}
	err := s.DB.Read(ctx, func(tx *store.Tx) error {
		if target == "" {
			var err error
			if target, err = tx.AppOfObject(ctx, table, id); err != nil || target == "" || target == who.App.ID {
				if err == nil {
					err = polypay.NotFound("app", target) // not a sub-app's object: the handler decides
				}
				return err
			}
		}
		if _, err := tx.SubAppOf(ctx, who.App.ID, target); err != nil {
			return err
		}
		app, err := tx.GetApp(ctx, target)
		if err == nil {
			who.App = app
		}
		return err
	})
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return who, nil
	}
	return who, err
}

// objectOf is the collection (its table) and id of the object a path
// names, "" when none: the first segment after /v1/ (or /v1/test/) with
// the {id} that follows it.
func objectOf(r *http.Request) (table, id string) {
	id = r.PathValue("id")
	if id == "" {
		return "", ""
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1/"), "test/")
	table, _, _ = strings.Cut(rest, "/")
	return table, id
}

// namedApp is the app id a request names, "" when none.
func namedApp(r *http.Request, raw []byte) string {
	if id := r.PathValue("app"); id != "" {
		return id
	}
	q := r.URL.Query()
	if id := q.Get("app[id]"); id != "" {
		return id
	}
	if id := q.Get("app"); id != "" {
		return id
	}
	var b struct {
		App json.RawMessage `json:"app"`
	}
	// Most bodies name no app: only those that do are decoded again.
	if len(raw) == 0 || raw[0] != '{' || !bytes.Contains(raw, []byte(`"app"`)) || json.Unmarshal(raw, &b) != nil || len(b.App) == 0 {
		return ""
	}
	var id string
	if json.Unmarshal(b.App, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	json.Unmarshal(b.App, &obj)
	return obj.ID
}

func parseSubApp(raw []byte, create bool) (core.SubAppParams, error) {
	var p core.SubAppParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		to   **string
		max  int
	}{{"display_name", &p.DisplayName, 64}, {"user", &p.User, 64}, {"description", &p.Description, 255}} {
		if _, ok := b.raw(f.name); !ok {
			continue
		}
		v, err := b.str(f.name, false, f.max*4)
		if err != nil {
			return p, err
		}
		*f.to = &v
	}
	if create {
		if p.ParentApp, err = b.str("parent_app", false, 64); err != nil {
			return p, err
		}
	} else if _, ok := b.raw("status"); ok {
		st, err := b.str("status", false, 16)
		if err != nil {
			return p, err
		}
		p.Status = &st
	}
	if raw, ok := b.raw("onboarding"); ok {
		var o core.Onboarding
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return p, polypay.ParamError("onboarding", "onboarding 格式错误: 须为对象，字段 business_name、license_no、contact_name、contact_phone、bank_account{name, bank, number}")
		}
		if o.BankAccount != nil && o.BankAccount.Last4 != "" {
			return p, polypay.ParamError("onboarding[bank_account][last4]", "last4 由 polypay 生成，请传 number")
		}
		p.Onboarding = &o
	}
	if _, ok := b.raw("metadata"); ok {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return p, err
		}
	}
	return p, b.unknown()
}

func (s *Server) createSubApp(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	p, err := parseSubApp(raw, true)
	if err != nil {
		return err
	}
	out, err := s.Svc.CreateSubApp(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func (s *Server) listSubApps(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	return s.pagedQuery(w, r, who, nil, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListSubApps(r.Context(), who, r.URL.Path, p)
	})
}

// subAppCall answers a call on one sub-app of the path's app.
func (s *Server) subAppCall(call func(ctx context.Context, who core.Caller, id string) (any, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
		if err := s.appFromPath(r, who); err != nil {
			return err
		}
		out, err := call(r.Context(), who, r.PathValue("sub"))
		return s.answer(w, r, out, err)
	}
}

func (s *Server) deleteSubApp(ctx context.Context, who core.Caller, id string) (any, error) {
	out, err := s.Svc.DeleteSubApp(ctx, who, id)
	if err == nil {
		s.keys.forgetApp(id)
	}
	return out, err
}

func (s *Server) updateSubApp(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	p, err := parseSubApp(raw, false)
	if err != nil {
		return err
	}
	out, err := s.Svc.UpdateSubApp(r.Context(), who, r.PathValue("sub"), p)
	return s.answer(w, r, out, err)
}

// putSubAppChannel is POST .../channels (create: channel in the body)
// and PUT .../channels/{channel}. params, when given, are the sub-app's
// own credentials for the channel's family, checked and stored first.
func (s *Server) putSubAppChannel(create bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		if err := s.appFromPath(r, who); err != nil {
			return err
		}
		b, err := parseBody(raw)
		if err != nil {
			return err
		}
		p := core.SubAppChannelParams{Channel: r.PathValue("channel")}
		if create {
			if p.Channel, err = b.str("channel", true, 32); err != nil {
				return err
			}
		}
		if _, ok := b.raw("banned"); ok {
			v, err := b.bool("banned", false)
			if err != nil {
				return err
			}
			p.Banned = &v
		}
		for _, f := range []struct {
			name string
			to   **string
		}{{"banned_msg", &p.BannedMsg}, {"description", &p.Description}} {
			if _, ok := b.raw(f.name); ok {
				v, err := b.str(f.name, false, 1024)
				if err != nil {
					return err
				}
				*f.to = &v
			}
		}
		params, hasParams := b.raw("params")
		if err := b.unknown(); err != nil {
			return err
		}
		sub := r.PathValue("sub")
		if _, err := s.Svc.GetSubApp(r.Context(), who, sub); err != nil {
			return err
		}
		if hasParams && string(params) != "null" && string(params) != "{}" {
			if !s.Svc.Channels.Supported(p.Channel) {
				return polypay.ParamError("channel", "不支持的渠道: %s", p.Channel)
			}
			if err := s.Credentials.Configure(r.Context(), sub, who.Live, s.Svc.Channels.Family(p.Channel), params); err != nil {
				return err
			}
		}
		c, err := s.Svc.PutSubAppChannel(r.Context(), who, sub, p)
		if err != nil {
			return err
		}
		return s.answer(w, r, wire.FromSubAppChannel(c, s.ownParams(r.Context(), sub, who.Live, c.Channel)), nil)
	}
}

// ownParams are a sub-app's own credentials for a channel's family,
// redacted; nil while it uses its parent's.
func (s *Server) ownParams(ctx context.Context, appID string, live bool, channel string) map[string]any {
	family := s.Svc.Channels.Family(channel)
	var own bool
	s.DB.Read(ctx, func(tx *store.Tx) error {
		cc, err := tx.GetChannelConfig(ctx, appID, live, family)
		own = cc != nil
		return err
	})
	if !own {
		return nil
	}
	p, err := s.Credentials.Describe(ctx, appID, live, family)
	if err != nil {
		return nil
	}
	return p
}

func (s *Server) getSubAppChannel(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	c, err := s.Svc.GetSubAppChannel(r.Context(), who, r.PathValue("sub"), r.PathValue("channel"))
	if err != nil {
		return err
	}
	return s.answer(w, r, wire.FromSubAppChannel(c, s.ownParams(r.Context(), c.AppID, who.Live, c.Channel)), nil)
}

func (s *Server) deleteSubAppChannel(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	sub, ch := r.PathValue("sub"), r.PathValue("channel")
	if err := s.Svc.DeleteSubAppChannel(r.Context(), who, sub, ch); err != nil {
		return err
	}
	return s.answer(w, r, map[string]any{"app": sub, "object": "channel", "channel": ch, "deleted": true}, nil)
}
