package sandbox

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	stripech "github.com/polypay/polypay/channel/stripe"
	wechatch "github.com/polypay/polypay/channel/wechatpay"
)

// agreementSim is a simulator whose customers sign and end debit
// agreements (Alipay's so far).
type agreementSim interface {
	// signAgreement has the customer open the credential (SignAgreement's
	// answer) and sign.
	signAgreement(ctx context.Context, merchantID string, cred json.RawMessage) error
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
		Credential json.RawMessage `json:"credential"`
	}
	if json.Unmarshal(a.Credential, &cred) != nil || json.Unmarshal(cred[a.Channel], &inner) != nil || len(inner.Credential) == 0 {
		return polypay.ParamError("id", "agreement %s has no signing credential", a.ID)
	}
	return sim.signAgreement(ctx, merchantID, inner.Credential)
}

// credentialURL is a wallet's signing credential: a URL in a JSON string.
func credentialURL(cred json.RawMessage) (string, error) {
	var u string
	if err := json.Unmarshal(cred, &u); err != nil || u == "" {
		return "", polypay.ParamError("id", "the agreement's signing credential is not a URL")
	}
	return u, nil
}

func (f *alipayFamily) signAgreement(ctx context.Context, _ string, cred json.RawMessage) error {
	u, err := credentialURL(cred)
	if err != nil {
		return err
	}
	_, err = f.sim.SignAgreement(ctx, u)
	return err
}

func (f *alipayFamily) endAgreement(ctx context.Context, merchantID, contractID string) error {
	return f.sim.UserUnsign(ctx, merchantID, contractID)
}

// signAgreement signs on WeChat's page (wx_pub, wx_wap) or, for APP
// signing (wx), in the WeChat the APP opened with the pre_entrustweb_id.
func (f *wechatFamily) signAgreement(ctx context.Context, _ string, cred json.RawMessage) error {
	var app wechatch.AppSignCredential
	if json.Unmarshal(cred, &app) == nil && app.QueryInfo["pre_entrustweb_id"] != "" {
		_, err := f.sim.SignPreEntrust(ctx, app.QueryInfo["pre_entrustweb_id"])
		return err
	}
	u, err := credentialURL(cred)
	if err != nil {
		return err
	}
	_, err = f.sim.SignContract(ctx, u)
	return err
}

// signAgreement completes the setup's 3-D Secure challenge as the
// cardholder; a setup that needed none is signed already.
func (f *stripeFamily) signAgreement(ctx context.Context, merchantID string, cred json.RawMessage) error {
	var cr stripech.Credential
	if err := json.Unmarshal(cred, &cr); err != nil || cr.Object != "setup_intent" {
		return polypay.ParamError("id", "the agreement's credential is not a Stripe setup intent")
	}
	if cr.Status != "requires_action" {
		return nil
	}
	return f.sim.CompleteSetup(ctx, merchantID, cr.ID, true)
}

// endAgreement is the cardholder removing the saved card in Stripe's
// customer portal.
func (f *stripeFamily) endAgreement(ctx context.Context, merchantID, contractID string) error {
	pm, err := f.sim.SetupIntentPaymentMethod(merchantID, contractID)
	if err != nil {
		return err
	}
	return f.sim.RemoveCard(ctx, merchantID, pm)
}

func (f *wechatFamily) endAgreement(ctx context.Context, merchantID, contractID string) error {
	return f.sim.UserTerminateContract(ctx, merchantID, contractID)
}
