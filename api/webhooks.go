package api

import (
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
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

// webhookPublicKey serves the PEM merchants verify webhook signatures with.
// It is public by nature, so no key is needed to fetch it.
func (s *Server) webhookPublicKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.Signer.PublicKeyPEM())
}
