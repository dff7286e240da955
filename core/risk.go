package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
)

// CardFingerprints tells the risk engine which card a card charge's
// source names, without consuming a token (the vault's PeekCard). The
// card source may implement it; without it card facts are not screened.
type CardFingerprints interface {
	// CardFacts returns the card's fingerprint and issuing country ("" when
	// unknown).
	CardFacts(ctx context.Context, appID string, live bool, source, customer string) (fingerprint, country string, err error)
}

// riskExtra is what a charge's extra may tell the risk engine.
type riskExtra struct {
	Source   string `json:"source"`
	Customer string `json:"customer"`
	DeviceID string `json:"device_id"`
	Email    string `json:"email"`
	BuyerID  string `json:"buyer_id"`
	OpenID   string `json:"open_id"`
}

// chargeFacts are a new charge's facts for the risk engine: the merchant's
// client_ip, the card (fingerprint) a card charge names, the customer or
// wallet user, device and email from extra.
func (s *Service) chargeFacts(ctx context.Context, c *polypay.Charge) risk.Facts {
	var x riskExtra
	_ = json.Unmarshal(c.Extra, &x) // extra was checked; missing fields are no facts
	f := risk.Facts{AppID: c.AppID, Live: c.Livemode, Route: risk.RouteCharge, ChargeID: c.ID, OrderNo: c.OrderNo, Channel: c.Channel,
		Amount: c.Amount, Currency: c.Currency, IP: c.ClientIP, Customer: firstOf(x.Customer, x.BuyerID, x.OpenID),
		Email: x.Email, Device: x.DeviceID}
	if fp, ok := s.Cards.(CardFingerprints); ok && isCard(c.Channel) && (x.Source != "" || x.Customer != "") {
		// An unusable source is refused by the vault later, naming it.
		f.Card, f.BINCountry, _ = fp.CardFacts(ctx, c.AppID, c.Livemode, x.Source, x.Customer)
	}
	return f
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// screen asks the risk engine about a new charge before any channel is
// called. A block is the error to answer (HTTP 402, nothing written but
// the decision); require_3ds makes a card charge authenticate; review
// holds a card charge as an authorization for the merchant to capture or
// void. An allowed charge is counted as an attempt by the transaction that
// stores it (countAttempt), carried there in the returned context.
func (s *Service) screen(ctx context.Context, c *polypay.Charge, req *polypay.ChannelRequest) (context.Context, error) {
	if s.Risk == nil {
		return ctx, nil
	}
	f := s.chargeFacts(ctx, c)
	f.CanHold = isCard(c.Channel) && s.authorizes(ctx, c)
	d, err := s.Risk.Decide(ctx, f)
	if err != nil {
		return ctx, err
	}
	if d.Blocked() {
		return ctx, d.Err()
	}
	switch d.Action {
	case risk.Require3DS:
		req.ThreeDS = polypay.ThreeDSRequired
	case risk.Review:
		switch {
		case f.CanHold:
			// Held: authorized only, captured when the merchant approves.
			c.AuthOnly, req.AuthorizeOnly = true, true
			c.RiskReview = polypay.ReviewOpen
		case !isCard(c.Channel) && !isScan(c.Channel):
			// Held unsent: no trade at the channel until approved.
			c.RiskReview = polypay.ReviewOpen
		}
		// A payment code cannot wait (it expires within a minute), and a
		// card processor that cannot authorize cannot hold: those proceed,
		// with the decision recorded.
	}
	return risk.WithPending(ctx, f), nil
}

// insertCharge stores a new charge and counts its risk attempt, in tx.
func (s *Service) insertCharge(ctx context.Context, tx Tx, c *polypay.Charge, now int64) error {
	if err := tx.InsertCharge(ctx, c, NextCheck(c, now)); err != nil {
		return err
	}
	if f, ok := risk.Pending(ctx); ok && s.Risk != nil && f.ChargeID == c.ID {
		return s.Risk.AttemptTx(ctx, tx, f, false)
	}
	return nil
}

// authorizes reports whether a charge's connector can hold funds.
func (s *Service) authorizes(ctx context.Context, c *polypay.Charge) bool {
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.Channel)
	if err != nil {
		return false
	}
	_, ok := ch.(polypay.Authorizer)
	return ok
}

// closeReview ends a held charge's review in the transaction that
// captured or sent (approved), voided or closed (rejected, expired) it,
// storing the outcome on the charge.
func (s *Service) closeReview(ctx context.Context, tx chargeEvents, c *polypay.Charge, outcome string) (int, error) {
	if c.RiskReview != polypay.ReviewOpen {
		return 0, nil
	}
	c.RiskReview = outcome
	if err := tx.UpdateCharge(ctx, c); err != nil {
		return 0, err
	}
	closed, err := risk.CloseReviewTx(ctx, tx, c, outcome, tx.Now())
	if closed {
		return 1, err
	}
	return 0, err
}

// screenOrder asks the risk engine about a new order (and so the cashier
// it opens): a blocked customer (uid) or list entry refuses it. Orders
// spend nothing, so they are not counted as attempts; the charges paying
// them are screened again.
func (s *Service) screenOrder(ctx context.Context, who Caller, p OrderParams) error {
	if s.Risk == nil {
		return nil
	}
	d, err := s.Risk.Decide(ctx, risk.Facts{AppID: who.App.ID, Live: who.Live, Route: risk.RouteOrder,
		Amount: p.Amount, Currency: p.Currency, Customer: p.UID})
	if err != nil {
		return err
	}
	return d.Err()
}
