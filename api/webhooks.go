package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/webhook"
	"github.com/polypay/polypay/wire"
)

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	appID, err := b.appID()
	if err != nil {
		return err
	}
	if appID != who.App.ID {
		return &polypay.Error{Code: polypay.ENotFound, Param: "app", Message: "未找到 app : " + appID + "。"}
	}
	raw2, err := b.str("url", true, 2048)
	if err != nil {
		return err
	}
	u, err := url.Parse(raw2)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return polypay.ParamError("url", "url 须为不含用户信息的 http(s) 地址")
	}
	if err := s.checkWebhookURL(r.Context(), u.String(), who.Live); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	ep := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: who.App.ID, Livemode: who.Live, URL: u.String()}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		var out any
		err := s.DB.Write(r.Context(), func(tx *store.Tx) error {
			ep.Created = tx.Now()
			if err := tx.InsertWebhookEndpoint(r.Context(), ep); err != nil {
				return err
			}
			out = wire.FromWebhookEndpoint(ep)
			if h != nil {
				return h(tx, out)
			}
			return nil
		})
		return out, err
	})
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r, "app", "app[id]"); err != nil {
		return err
	}
	var out any
	err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
		eps, err := tx.ListWebhookEndpoints(r.Context(), who.App.ID, who.Live)
		if err != nil {
			return err
		}
		data := make([]any, len(eps))
		for i, e := range eps {
			data[i] = wire.FromWebhookEndpoint(e)
		}
		out = wire.NewList("/v1/webhook_endpoints", false, data)
		return nil
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	id := r.PathValue("id")
	if err := s.DB.Write(r.Context(), func(tx *store.Tx) error {
		return tx.DeleteWebhookEndpoint(r.Context(), who.App.ID, who.Live, id)
	}); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"deleted": true, "id": id})
	return nil
}

// WebhookKeys publishes each app's webhook public keys (*webhook.Keys).
type WebhookKeys interface {
	// Published returns the app's keys in a mode, making its first key
	// when it has none; ENotFound when the app is unknown.
	Published(ctx context.Context, appID string, live bool) (*webhook.Published, error)
}

// KeySwitchHeader, on a public key reply during a rotation's overlap, is
// when (RFC 3339) the newest key starts signing the webhooks.
const KeySwitchHeader = "Polypay-Webhook-Key-Switch-At"

// webhookPublicKey serves the PEM the caller's webhooks are verified with:
// its own app's, in its key's mode (no other app's or mode's webhooks
// verify with it). During a key rotation's overlap that is the new key,
// which does not sign yet: KeySwitchHeader says when it will, and ?all=1
// serves every key to accept until then, newest first, one PEM block each.
func (s *Server) webhookPublicKey(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "all")
	if err != nil {
		return err
	}
	all := false
	switch v := q.v.Get("all"); v {
	case "", "0", "false":
	case "1", "true":
		all = true
	default:
		return polypay.ParamError("all", "all 须为 1 或 0")
	}
	p, err := s.WebhookKeys.Published(r.Context(), who.App.ID, who.Live)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Cache-Control", "no-store")
	if !p.SwitchAt.IsZero() {
		h.Set(KeySwitchHeader, p.SwitchAt.UTC().Format(time.RFC3339))
	}
	if !all {
		w.Write(p.Newest)
		return nil
	}
	w.Write(bytes.Join(p.All(), nil))
	return nil
}

// replyPublicKey serves the node's API reply key (PEM), for clients that
// verify X-Pingplusplus-Signature on replies (Ping++'s Java SDK can). It is
// never a webhook key: a reply must not pass as a webhook.
func (s *Server) replyPublicKey(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if s.ReplySigner == nil {
		return polypay.Errorf(polypay.ENotSupported, "API replies are not signed on this node")
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Cache-Control", "no-store")
	w.Write(s.ReplySigner.PublicKeyPEM())
	return nil
}
