package api

import (
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Ping++'s agreements: debit agreements signed at the channel; debits are
// charges with extra.agreement.
func (s *Server) agreementRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/agreements", s.authed(s.createAgreement))
	m.HandleFunc("GET /v1/agreements", s.authed(s.listAgreements))
	m.HandleFunc("GET /v1/agreements/{id}", s.authed(s.getBy("id", s.Svc.GetAgreement)))
	m.HandleFunc("PUT /v1/agreements/{id}", s.authed(s.updateAgreement))
	m.HandleFunc("POST /v1/agreements/{id}/notify", s.authed(s.notifyAgreement))
	m.HandleFunc("POST /v1/agreements/{id}/refresh", s.authed(s.getBy("id", s.Svc.RefreshAgreement)))
}

func parseAgreement(raw []byte, who core.Caller) (core.AgreementParams, error) {
	var p core.AgreementParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	appID, err := b.appID()
	if err != nil {
		return p, err
	}
	if err := checkApp(appID, who); err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 32); err != nil {
		return p, err
	}
	if p.ContractNo, err = b.str("contract_no", true, 64); err != nil {
		return p, err
	}
	if p.Extra, err = b.object("extra", false, 20); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) createAgreement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseAgreement(raw, who)
	if err != nil {
		return err
	}
	out, err := s.Svc.CreateAgreement(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"channel", "status", "contract_no"}, func(q query, p store.Page) (wire.List, error) {
		f := store.AgreementFilter{Channel: q.v.Get("channel"), Status: q.v.Get("status"), ContractNo: q.v.Get("contract_no")}
		switch polypay.AgreementStatus(f.Status) {
		case "", polypay.AgreementCreated, polypay.AgreementSucceeded, polypay.AgreementCanceled:
		default:
			return wire.List{}, polypay.ParamError("status", "status 须为 created、succeeded 或 canceled")
		}
		return s.Svc.ListAgreements(r.Context(), who, r.URL.Path, f, p)
	})
}

func (s *Server) updateAgreement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var p core.AgreementUpdate
	if p.Status, err = b.str("status", false, 16); err != nil {
		return err
	}
	if _, ok := b.raw("metadata"); ok {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return err
		}
	}
	if err := b.unknown(); err != nil {
		return err
	}
	if p.Status == "" && p.Metadata == nil {
		return polypay.ParamError("status", "须提供 status（canceled）或 metadata")
	}
	out, err := s.Svc.UpdateAgreement(r.Context(), who, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

// notifyAgreement is WeChat's pre-debit notice: amount is what will be
// debited (Ping++ sends it as amount).
func (s *Server) notifyAgreement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	amount, _, err := b.int("amount", true)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.NotifyAgreement(r.Context(), who, r.PathValue("id"), amount)
	return s.answer(w, r, out, err)
}

// testAgreement has the sandbox's customer sign an agreement or end it in
// the channel's app (test keys only); the simulator's notification then
// changes it as the channel's would, before this answers.
func (s *Server) testAgreement(sign bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		if who.Live {
			return polypay.ParamError("", "POST /v1/test/agreements/{id}/... 仅可使用 Test Secret Key (sk_test_...)")
		}
		b, err := parseBody(raw)
		if err != nil {
			return err
		}
		if err := b.unknown(); err != nil {
			return err
		}
		if s.Sandbox == nil {
			return polypay.Errorf(polypay.ENotSupported, "sandbox is not running")
		}
		var a *polypay.Agreement
		if err := s.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
			a, err = tx.GetAgreement(r.Context(), who.App.ID, who.Live, r.PathValue("id"))
			return err
		}); err != nil {
			return err
		}
		if err := s.Sandbox.Agreement(r.Context(), a, sign); err != nil {
			return err
		}
		// Asked again rather than waiting for the notification, which a
		// setup signed at once (a card without a challenge) sent already.
		out, err := s.Svc.RefreshAgreement(r.Context(), who, a.ID)
		return s.answer(w, r, out, err)
	}
}
