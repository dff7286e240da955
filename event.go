package polypay

import "encoding/json"

// Event types emitted so far.
const (
	EventChargeSucceeded = "charge.succeeded"
	EventRefundSucceeded = "refund.succeeded"
	// polypay extensions for pre-authorization and card failures (Ping++
	// has no such events; its SDKs pass unknown types through).
	EventChargeAuthorized  = "charge.authorized"   // funds held, awaiting capture
	EventChargeCaptured    = "charge.captured"     // a hold captured (charge.succeeded follows in the same transaction)
	EventChargeReversed    = "charge.reversed"     // a hold voided, or a payment-code charge canceled, by the merchant
	EventChargeHoldExpired = "charge.hold_expired" // a hold released unused at its expiry
	EventChargeFailed      = "charge.failed"       // a payment attempt refused (card decline, 3-D Secure failure)
	// EventChannelHealthChanged: one of the app's channel accounts became
	// healthy, degraded or down (a polypay extension).
	EventChannelHealthChanged = "channel.health_changed"
	// Risk engine (polypay extensions): a built-in rule blocked an IP or a
	// card; a charge was held for the merchant's review; a review ended
	// (approved: captured; rejected or expired: voided).
	EventRiskBlocked      = "risk.blocked"
	EventRiskReviewOpened = "risk.review_opened"
	EventRiskReviewClosed = "risk.review_closed"
	// Money out (Ping++'s payout events).
	EventTransferSucceeded      = "transfer.succeeded"
	EventTransferFailed         = "transfer.failed"
	EventBatchTransferSucceeded = "batch_transfer.succeeded" // also on partial success, as Ping++
	EventRedEnvelopeSent        = "red_envelope.sent"
	EventRedEnvelopeReceived    = "red_envelope.received"
	EventBatchRefundSucceeded   = "batch_refund.succeeded"
	// The account system: polypay's names, in the style of Ping++'s
	// balance.withdrawal.succeeded (Ping++ documents no events for these).
	EventBalanceBonusSucceeded    = "balance.bonus.succeeded"
	EventBalanceTransferSucceeded = "balance.transfer.succeeded"
	// A recharge's charge was paid and the user credited (Ping++'s name).
	EventRechargeSucceeded = "recharge.succeeded"
	// A withdrawal's transfer was paid (Ping++'s name), or failed and the
	// amount went back to the user's balance (polypay's).
	EventWithdrawalSucceeded = "balance.withdrawal.succeeded"
	EventWithdrawalFailed    = "balance.withdrawal.failed"

	// Ping++'s order events, and polypay's for a coupon redeemed on one.
	EventOrderSucceeded = "order.succeeded"
	EventOrderRefunded  = "order.refunded" // polypay's: the order refunded in full
	EventCouponRedeemed = "coupon.redeemed"

	EventAgreementSucceeded = "agreement.succeeded" // signed at the channel
	EventAgreementCanceled  = "agreement.canceled"  // ended by the merchant or by the user at the channel

	EventSubscriptionCreated       = "subscription.created"
	EventSubscriptionRenewed       = "subscription.renewed"        // an invoice paid: a period (or a proration) collected
	EventSubscriptionPaymentFailed = "subscription.payment_failed" // a debit refused; retried as the dunning schedule says
	EventSubscriptionCanceled      = "subscription.canceled"

	// Profit sharing and sub-merchant settlement (polypay's names): a
	// royalty settlement ended with at least one royalty transaction paid,
	// or with none; a sub-app's settlement run paid its bank account, or
	// its payout failed.
	EventRoyaltySettlementSucceeded = "royalty_settlement.succeeded"
	EventRoyaltySettlementFailed    = "royalty_settlement.failed"
	EventSettlementPaid             = "settlement.paid"
	EventSettlementFailed           = "settlement.failed"
)

// Event records something that happened to an object; Object is the full
// Ping++ JSON of the object at that moment.
type Event struct {
	ID        string
	AppID     string
	Livemode  bool
	Type      string
	Created   int64
	Object    json.RawMessage
	RequestID string
}

// App is a merchant application; it owns keys, charges and webhook endpoints.
type App struct {
	ID      string
	Name    string
	Created int64
	// RequestPublicKey is the PEM public key the merchant registered for
	// Ping++ request signatures; empty means signatures are not required.
	RequestPublicKey string
	// ErrorLanguage fixes the language of the app's API error replies
	// ("en" or "zh"); "" follows each request's Accept-Language.
	ErrorLanguage string
}

// WebhookEndpoint is a merchant URL that receives events of one mode.
type WebhookEndpoint struct {
	ID       string
	AppID    string
	Livemode bool
	URL      string
	Created  int64
}
