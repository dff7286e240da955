package sandbox

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
)

// agreementSim is a simulator whose customers sign and end debit
// agreements (Alipay's so far).
type agreementSim interface {
	// signAgreement has the customer open the credential and sign.
	signAgreement(ctx context.Context, cred string) error
	// endAgreement has the customer end a signed agreement in the app.
	endAgreement(ctx context.Context, merchantID, contractID string) error
}

// Agreement implements api.Sandbox: the customer signs a test-mode
// agreement (sign) or ends it in the channel's app (!sign); the simulator
// notifies polypay as the channel would.
func (s *Sandbox) Agreement(ctx context.Context, a *polypay.Agreement, sign bool) error {
	if a.Livemode {
		return polypay.ParamError("", "live agreements cannot be signed in the sandbox")
	}
	f, ok := s.familyOf(a.Channel)
	sim, can := f.(agreementSim)
	if !ok || !can || s.reg == nil {
		return polypay.ParamError("id", "agreement %s does not use a sandbox channel with agreements", a.ID)
	}
	if s.remote {
		return polypay.Errorf(polypay.ENotSupported, "signing agreements through a shared polypay sim (--sim-url) is not built yet")
	}
	cfg, merchantID, err := s.reg.Config(ctx, a.AppID, false, f.name())
	if err != nil {
		return err
	}
	if cfg == nil || !channel.IsSandbox(cfg) {
		return polypay.ParamError("id", "agreement %s does not use a sandbox channel", a.ID)
	}
	if !sign {
		if a.Status != polypay.AgreementSucceeded {
			return polypay.ParamError("id", "agreement %s is %s: only a signed one can be ended", a.ID, a.Status)
		}
		return sim.endAgreement(ctx, merchantID, a.ContractID)
	}
	if a.Status != polypay.AgreementCreated {
		return polypay.ParamError("id", "agreement %s is %s: only a created one can be signed", a.ID, a.Status)
	}
	var cred map[string]json.RawMessage
	var inner struct {
		Credential string `json:"credential"`
	}
	if json.Unmarshal(a.Credential, &cred) != nil || json.Unmarshal(cred[a.Channel], &inner) != nil || inner.Credential == "" {
		return polypay.ParamError("id", "agreement %s has no signing credential", a.ID)
	}
	return sim.signAgreement(ctx, inner.Credential)
}

func (f *alipayFamily) signAgreement(ctx context.Context, cred string) error {
	_, err := f.sim.SignAgreement(ctx, cred)
	return err
}

func (f *alipayFamily) endAgreement(ctx context.Context, merchantID, contractID string) error {
	return f.sim.UserUnsign(ctx, merchantID, contractID)
}

func (f *wechatFamily) signAgreement(ctx context.Context, cred string) error {
	_, err := f.sim.SignContract(ctx, cred)
	return err
}

func (f *wechatFamily) endAgreement(ctx context.Context, merchantID, contractID string) error {
	return f.sim.UserTerminateContract(ctx, merchantID, contractID)
}
