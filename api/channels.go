package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// Credentials stores and shows apps' channel credentials.
type Credentials interface {
	// Configure validates and stores credentials; EInvalid naming the
	// parameter when they are unusable.
	Configure(ctx context.Context, appID string, live bool, family string, params json.RawMessage) error
	// Describe returns them with secrets replaced by fingerprints; ENotFound if unset.
	Describe(ctx context.Context, appID string, live bool, family string) (map[string]any, error)
}

type channelObject struct {
	Object   string         `json:"object"`
	App      string         `json:"app"`
	Channel  string         `json:"channel"`
	Livemode bool           `json:"livemode"`
	Params   map[string]any `json:"params"`
}

func (s *Server) appFromPath(r *http.Request, who core.Caller) error {
	if id := r.PathValue("app"); id != who.App.ID {
		e := polypay.NotFound("app", id)
		e.Param = "app"
		return e
	}
	return nil
}

// setChannel: POST /v1/apps/{app}/channels {"channel":"alipay","params":{...}}.
// The key's mode decides which credentials are set: live keys set live
// credentials; test mode always uses the simulators.
func (s *Server) setChannel(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	fam, err := b.str("channel", true, 32)
	if err != nil {
		return err
	}
	params, ok := b.raw("params")
	if !ok {
		return polypay.ParamError("params", "缺少参数: params")
	}
	if err := b.unknown(); err != nil {
		return err
	}
	if err := s.Credentials.Configure(r.Context(), who.App.ID, who.Live, fam, params); err != nil {
		return err
	}
	return s.getChannelFor(w, r, who, fam)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	return s.getChannelFor(w, r, who, r.PathValue("channel"))
}

func (s *Server) getChannelFor(w http.ResponseWriter, r *http.Request, who core.Caller, fam string) error {
	// Only the app's own credentials: a sub-app paying on its parent's
	// accounts does not see them.
	var own bool
	if err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
		cc, err := tx.GetChannelConfig(r.Context(), who.App.ID, who.Live, fam)
		own = cc != nil
		return err
	}); err != nil {
		return err
	}
	if !own {
		return polypay.NotFound("channel", fam)
	}
	p, err := s.Credentials.Describe(r.Context(), who.App.ID, who.Live, fam)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, channelObject{Object: "channel", App: who.App.ID, Channel: fam, Livemode: who.Live, Params: p})
	return nil
}
