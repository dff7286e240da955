package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
)

// Saved cards as debit agreements (channel card; a polypay extension, as
// Ping++ has no card agreements). Signing saves the card with the
// cardholder present: a Customer, the card's PaymentMethod and a
// SetupIntent (usage off_session) confirmed at once, which runs 3-D Secure
// when the issuer wants it; the credential's next_action is then the
// challenge the cardholder opens. The SetupIntent's id is the agreement's
// contract id; setup_intent.succeeded signs it, payment_method.detached
// (the merchant's detach, or the customer removing the card in Stripe's
// portal) ends it.
//
// A debit is a PaymentIntent on the saved card with off_session=true: a
// merchant-initiated payment, outside 3-D Secure's scope, so no challenge
// can be asked of an absent cardholder. An issuer that still wants one
// declines with authentication_required, which fails the debit with that
// code: the merchant brings the cardholder back to pay on session (a card
// charge, with 3-D Secure).

var _ polypay.Agreer = (*Client)(nil)

// SignAgreement saves the agreement's card for off-session payments.
func (c *Client) SignAgreement(ctx context.Context, req polypay.AgreementRequest) ([]byte, error) {
	if c.channel != ChannelCard {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持签约代扣（Stripe 的签约代扣用 card 渠道保存银行卡）", c.channel)
	}
	a, card := req.Agreement, req.Card
	if card == nil || card.Number == "" {
		return nil, polypay.ParamError("extra[source]", "银行卡签约需要卡：extra[source]（tok_，或已保存的 card_ 与 extra[customer]）")
	}
	ex, err := parseExtra(a.Extra)
	if err != nil {
		return nil, err
	}
	c.ensureWebhook(ctx, req.NotifyURL)
	cus, err := c.agreementCustomer(ctx, a)
	if err != nil {
		return nil, err
	}
	pp := cardMethodParams(card)
	pp.AddMetadata("agreement_id", a.ID)
	pp.AddMetadata("contract_no", a.ContractNo)
	pp.IdempotencyKey = sg.String("polypay-agrpm-" + a.ID)
	cctx, cancel := c.call(ctx)
	pm, err := c.api.V1PaymentMethods.Create(cctx, pp)
	cancel()
	if err != nil {
		return nil, apiError("payment method", err)
	}
	p := &sg.SetupIntentCreateParams{Customer: sg.String(cus), PaymentMethod: sg.String(pm.ID), Confirm: sg.Bool(true),
		Usage: sg.String("off_session"), PaymentMethodTypes: []*string{sg.String("card")}}
	if ex.ThreeDSecure == string(polypay.ThreeDSRequired) {
		p.PaymentMethodOptions = &sg.SetupIntentCreatePaymentMethodOptionsParams{
			Card: &sg.SetupIntentCreatePaymentMethodOptionsCardParams{RequestThreeDSecure: sg.String("any")}}
	}
	if ret := firstOf(ex.ReturnURL, c.cfg.ReturnURL); ret != "" {
		p.ReturnURL = sg.String(ret)
	}
	p.AddMetadata("agreement_id", a.ID)
	p.AddMetadata("contract_no", a.ContractNo)
	p.IdempotencyKey = sg.String("polypay-seti-" + a.ID)
	cctx, cancel = c.call(ctx)
	defer cancel()
	si, err := c.api.V1SetupIntents.Create(cctx, p)
	if err != nil {
		return nil, apiError("setup intent", err)
	}
	return setupCredential(si)
}

// agreementCustomer makes the Stripe Customer a saved card belongs to.
func (c *Client) agreementCustomer(ctx context.Context, a *polypay.Agreement) (string, error) {
	p := &sg.CustomerCreateParams{Description: sg.String("polypay agreement " + a.ContractNo)}
	p.AddMetadata("agreement_id", a.ID)
	p.AddMetadata("contract_no", a.ContractNo)
	p.IdempotencyKey = sg.String("polypay-cus-" + a.ID)
	cctx, cancel := c.call(ctx)
	defer cancel()
	cus, err := c.api.V1Customers.Create(cctx, p)
	if err != nil {
		return "", apiError("customer", err)
	}
	return cus.ID, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func setupCredential(si *sg.SetupIntent) ([]byte, error) {
	return json.Marshal(Credential{Object: "setup_intent", ID: si.ID, Status: string(si.Status), ClientSecret: si.ClientSecret,
		NextAction: nextAction(si.NextAction)})
}

// SetupIntentID is the SetupIntent of a card agreement: its contract id
// once signed, else the one its credential names (SignAgreement's answer,
// alone or as core keeps it under credential[card]). "" when neither.
func SetupIntentID(a *polypay.Agreement) string {
	if strings.HasPrefix(a.ContractID, "seti_") {
		return a.ContractID
	}
	var cr Credential
	if json.Unmarshal(a.Credential, &cr) == nil && strings.HasPrefix(cr.ID, "seti_") {
		return cr.ID
	}
	var wrapped map[string]struct {
		Credential Credential `json:"credential"`
	}
	if json.Unmarshal(a.Credential, &wrapped) == nil {
		if id := wrapped[a.Channel].Credential.ID; strings.HasPrefix(id, "seti_") {
			return id
		}
	}
	return ""
}

// setupIntent reads a card agreement's SetupIntent with its card; nil
// when Stripe has none.
func (c *Client) setupIntent(ctx context.Context, a *polypay.Agreement) (*sg.SetupIntent, error) {
	id := SetupIntentID(a)
	if id == "" {
		return nil, nil
	}
	p := &sg.SetupIntentRetrieveParams{}
	cctx, cancel := c.call(ctx)
	defer cancel()
	si, err := c.api.V1SetupIntents.Retrieve(cctx, id, p)
	if isMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError("setup intent", err)
	}
	// metadata is the account's to write: the agreement's own
	// SetupIntent names its contract.
	if si.Metadata["contract_no"] != a.ContractNo {
		return nil, polypay.Errorf(polypay.EChannel, "stripe: setup intent %s belongs to contract %q, not %s", si.ID, si.Metadata["contract_no"], a.ContractNo)
	}
	return si, nil
}

// QueryAgreement reads the SetupIntent and its card: set up and still
// attached is signed; detached (or the setup canceled) is terminated.
func (c *Client) QueryAgreement(ctx context.Context, a *polypay.Agreement) (*polypay.AgreementInfo, error) {
	si, err := c.setupIntent(ctx, a)
	if err != nil {
		return nil, err
	}
	if si == nil {
		return &polypay.AgreementInfo{State: polypay.AgreementNotFound, ContractNo: a.ContractNo}, nil
	}
	info := &polypay.AgreementInfo{State: polypay.AgreementPending, ContractNo: a.ContractNo, ContractID: si.ID}
	switch si.Status {
	case sg.SetupIntentStatusCanceled:
		info.State = polypay.AgreementTerminated
	case sg.SetupIntentStatusSucceeded:
		attached, err := c.attached(ctx, si)
		if err != nil {
			return nil, err
		}
		info.State = polypay.AgreementTerminated
		if attached {
			info.State = polypay.AgreementSigned
		}
	}
	return info, nil
}

// attached reports whether a set-up card is still its customer's.
func (c *Client) attached(ctx context.Context, si *sg.SetupIntent) (bool, error) {
	if si.PaymentMethod == nil || si.Customer == nil {
		return false, nil
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	pm, err := c.api.V1PaymentMethods.Retrieve(cctx, si.PaymentMethod.ID, nil)
	if isMissing(err) {
		return false, nil
	}
	if err != nil {
		return false, apiError("payment method", err)
	}
	return pm.Customer != nil && pm.Customer.ID == si.Customer.ID, nil
}

// TerminateAgreement detaches the saved card (or cancels a setup still
// waiting for the cardholder). Ending one already ended succeeds.
func (c *Client) TerminateAgreement(ctx context.Context, a *polypay.Agreement, _ string) error {
	si, err := c.setupIntent(ctx, a)
	if err != nil || si == nil {
		return err
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	switch si.Status {
	case sg.SetupIntentStatusSucceeded:
		if si.PaymentMethod == nil {
			return nil
		}
		p := &sg.PaymentMethodDetachParams{}
		p.IdempotencyKey = sg.String("polypay-detach-" + a.ID)
		_, err := c.api.V1PaymentMethods.Detach(cctx, si.PaymentMethod.ID, p)
		if err != nil && isNotAttached(err) {
			return nil
		}
		if err != nil {
			return apiError("detach", err)
		}
	case sg.SetupIntentStatusCanceled:
	default:
		p := &sg.SetupIntentCancelParams{}
		p.IdempotencyKey = sg.String("polypay-seti-cancel-" + a.ID)
		if _, err := c.api.V1SetupIntents.Cancel(cctx, si.ID, p); err != nil && !isCode(err, "setup_intent_unexpected_state") {
			return apiError("cancel setup", err)
		}
	}
	return nil
}

// isNotAttached is Stripe's refusal to detach a card no customer holds.
func isNotAttached(err error) bool {
	var se *sg.Error
	return errors.As(err, &se) && se.HTTPStatusCode == 400 && strings.Contains(se.Msg, "not attached to a customer")
}

// debit charges the agreement's saved card without the cardholder.
func (c *Client) debit(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	ch := req.Charge
	if c.channel != ChannelCard {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持代扣", c.channel)
	}
	si, err := c.setupIntent(ctx, req.Agreement)
	if err != nil {
		return nil, err
	}
	if si == nil || si.Status != sg.SetupIntentStatusSucceeded || si.PaymentMethod == nil || si.Customer == nil {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "agreement_not_signed",
			Message: "Stripe: 该签约的银行卡未保存成功，不能代扣"}
	}
	p := &sg.PaymentIntentCreateParams{Amount: sg.Int64(ch.Amount), Currency: sg.String(ch.Currency),
		Customer: sg.String(si.Customer.ID), PaymentMethod: sg.String(si.PaymentMethod.ID),
		PaymentMethodTypes: []*string{sg.String("card")}, Confirm: sg.Bool(true), OffSession: sg.Bool(true),
		CaptureMethod: sg.String("automatic")}
	if ch.Subject != "" {
		p.Description = sg.String(ch.Subject)
	}
	p.AddMetadata("charge_id", ch.ID)
	p.AddMetadata("order_no", ch.OrderNo)
	p.AddMetadata("agreement_id", req.Agreement.ID)
	p.IdempotencyKey = sg.String("polypay-pi-" + ch.ID)
	cctx, cancel := c.call(ctx)
	defer cancel()
	pi, err := c.api.V1PaymentIntents.Create(cctx, p)
	if err != nil {
		err = apiError("payment", err)
		var pe *polypay.Error
		if errors.As(err, &pe) && pe.ChannelCode == "authentication_required" {
			pe.Message = "银行卡支付失败: 发卡行要求持卡人验证（authentication_required），代扣无法完成；请让持卡人在场用该卡支付（3-D Secure）"
		}
		return nil, err
	}
	return credential(pi)
}

// agreementEvent reads the events about saved cards: a succeeded
// SetupIntent signs its agreement, a detached card ends it. Both name
// the agreement's contract_no in their metadata.
func agreementEvent(ev *sg.Event, n *polypay.Notification) (*polypay.Notification, error) {
	info := &polypay.AgreementInfo{At: ev.Created}
	switch t := string(ev.Type); t {
	case "setup_intent.succeeded":
		var si sg.SetupIntent
		if err := json.Unmarshal(ev.Data.Raw, &si); err != nil {
			return nil, fmt.Errorf("stripe webhook %s: %v", ev.ID, err)
		}
		if si.Status != sg.SetupIntentStatusSucceeded {
			return nil, fmt.Errorf("stripe webhook %s: %s carries a setup intent in status %s", ev.ID, t, si.Status)
		}
		info.State, info.ContractNo, info.ContractID = polypay.AgreementSigned, si.Metadata["contract_no"], si.ID
	case "payment_method.detached":
		var pm sg.PaymentMethod
		if err := json.Unmarshal(ev.Data.Raw, &pm); err != nil {
			return nil, fmt.Errorf("stripe webhook %s: %v", ev.ID, err)
		}
		// The SetupIntent's id is added by addSetupIntent.
		info.State, info.ContractNo, info.ContractID = polypay.AgreementTerminated, pm.Metadata["contract_no"], pm.ID
	default:
		return nil, polypay.ErrNotSupported("stripe", "event "+t)
	}
	if info.ContractNo == "" {
		return nil, fmt.Errorf("stripe webhook %s: no polypay agreement in metadata[contract_no]", ev.ID)
	}
	n.Kind, n.Agreement = polypay.NotifyAgreement, info
	return n, nil
}

// addSetupIntent names the SetupIntent (the agreement's contract id) in a
// detached card's notification, which carries only the card: the
// account's SetupIntents of that card for that contract. An error leaves
// the notification unacknowledged, for Stripe to deliver again.
func (c *Client) addSetupIntent(ctx context.Context, n *polypay.Notification) error {
	info := n.Agreement
	pmID, ok := strings.CutPrefix(info.ContractID, "pm_")
	if !ok {
		return nil
	}
	pmID = "pm_" + pmID
	info.ContractID = ""
	p := &sg.SetupIntentListParams{PaymentMethod: sg.String(pmID)}
	p.Limit = sg.Int64(100)
	cctx, cancel := c.call(ctx)
	defer cancel()
	for si, err := range c.api.V1SetupIntents.List(cctx, p).All(cctx) {
		if err != nil {
			return apiError("setup intents", err)
		}
		if si.Metadata["contract_no"] == info.ContractNo && si.Status == sg.SetupIntentStatusSucceeded {
			info.ContractID = si.ID
			return nil
		}
	}
	return fmt.Errorf("stripe webhook %s: no set-up card of contract %s is %s", n.ID, info.ContractNo, pmID)
}
