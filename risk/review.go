package risk

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// Review outcomes, as risk.review_closed events and decisions say.
const (
	ReviewApproved = polypay.ReviewApproved // captured, or sent to the channel
	ReviewRejected = polypay.ReviewRejected // voided, or closed unsent
	ReviewExpired  = polypay.ReviewExpired  // ran out unreviewed
)

// ReviewTx is what closing a review needs of the transaction that
// captures or voids the held charge.
type ReviewTx interface {
	RiskDecisions(ctx context.Context, appID string, live bool, chargeID string, limit int) ([]store.RiskDecision, error)
	InsertRiskDecision(ctx context.Context, d store.RiskDecision) error
	InsertEvent(ctx context.Context, e *polypay.Event, nowMS int64) (int, error)
}

// ReviewClosed is the object of a risk.review_closed event.
type ReviewClosed struct {
	Object   string `json:"object"`
	Charge   string `json:"charge"`
	Decision string `json:"decision"` // the decision that opened the review
	Rule     string `json:"rule"`
	Outcome  string `json:"outcome"`
	Created  int64  `json:"created"`
}

// CloseReviewTx ends a charge's open review, if it has one, in the
// transaction that captured or voided it: a decision records the outcome
// and a risk.review_closed event announces it. It reports whether a review
// was open (one queued event).
func CloseReviewTx(ctx context.Context, tx ReviewTx, c *polypay.Charge, outcome string, now int64) (bool, error) {
	ds, err := tx.RiskDecisions(ctx, c.AppID, c.Livemode, c.ID, 20)
	if err != nil {
		return false, err
	}
	var opened *store.RiskDecision
	for i := range ds {
		switch ds[i].Action {
		case "review_closed":
			return false, nil
		case string(Review):
			opened = &ds[i]
		}
	}
	if opened == nil {
		return false, nil
	}
	d := store.RiskDecision{ID: polypay.NewID("rd_"), AppID: c.AppID, Live: c.Livemode, ChargeID: c.ID, Route: opened.Route,
		Action: "review_closed", Rule: opened.Rule, Facts: []byte(`{"outcome":"` + outcome + `"}`), Created: now}
	if err := tx.InsertRiskDecision(ctx, d); err != nil {
		return false, err
	}
	obj := ReviewClosed{Object: "risk_review", Charge: c.ID, Decision: opened.ID, Rule: opened.Rule, Outcome: outcome, Created: now}
	f := Facts{AppID: c.AppID, Live: c.Livemode}
	return true, announce(ctx, tx, f, polypay.EventRiskReviewClosed, obj, now)
}
