package polypay

import (
	"context"
	"errors"
)

// TradeState is what a channel says about a charge's trade.
type TradeState string

const (
	TradeUnknown TradeState = ""
	TradePending TradeState = "pending" // created, waiting for the buyer
	// TradeAuthorized: the funds are held but not captured
	// (pre-authorization); only connectors implementing Authorizer report it.
	TradeAuthorized TradeState = "authorized"
	// TradeFailed: the payment attempt was refused (for example a card
	// decline); FailureCode and FailureMsg say why. No money moved.
	TradeFailed   TradeState = "failed"
	TradePaid     TradeState = "paid"      // paid (refunds may follow)
	TradeFinished TradeState = "finished"  // paid and no longer refundable
	TradeClosed   TradeState = "closed"    // closed unpaid, or fully refunded
	TradeNotFound TradeState = "not_found" // the channel has no such trade (never created or lost)
)

// Trade is a channel's view of one charge.
type Trade struct {
	State         TradeState
	OutTradeNo    string // our charge id as the channel knows it
	TransactionNo string // the channel's trade number
	// TradeID is the channel's id of the trade polypay opened for the
	// charge, the same in every message about it (Alipay trade_no, WeChat
	// transaction_id, UnionPay the purchase's or hold's queryId, Stripe's
	// PaymentIntent, PayPal's order); "" when the message does not name it.
	// core refuses a message whose TradeID differs from the one it keeps
	// for the charge (core.Channels.TradeID).
	TradeID string
	Amount  int64 // total in minor units
	// Currency is the ISO 4217 code of Amount and AmountAuthorized as the
	// channel states it, in any case, or numeric as UnionPay sends it
	// ("156"); see SameCurrency. "" when the message does not state it,
	// which core accepts only for messages that move no money.
	Currency string
	// Livemode is the channel's own live/test flag where it states one
	// (Stripe), nil otherwise; it must match the charge's mode.
	Livemode *bool
	PaidAt   int64 // unix seconds, 0 if unknown
	// Extra carries channel facts Ping++ echoes in charge.extra after payment
	// (for example buyer_account).
	Extra map[string]any
	// AmountAuthorized is the held amount while TradeAuthorized.
	AmountAuthorized int64
	// FailureCode and FailureMsg explain TradeFailed in the channel's terms
	// (for cards the decline code, e.g. "insufficient_funds").
	FailureCode string
	FailureMsg  string
	// ThreeDS is the 3-D Secure outcome of a card trade, nil if none ran.
	ThreeDS *ThreeDSResult
}

// RefundResult is a channel's view of one refund.
type RefundResult struct {
	Status RefundStatus
	// Amount is the refund's amount as the channel states it, 0 if it does
	// not; a mismatch with ours is rejected.
	Amount        int64
	TransactionNo string
	SucceededAt   int64
	FailureCode   string
	FailureMsg    string
}

// NotifyKind tells what an asynchronous notification is about.
type NotifyKind int

const (
	NotifyTrade NotifyKind = iota + 1
	NotifyRefund
	// NotifyPayout is about a transfer: PayoutNo and Payout are set.
	NotifyPayout
	// NotifyAgreement is about a debit agreement: Agreement is set.
	NotifyAgreement
)

// Notification is a verified, parsed asynchronous notification. Connectors
// only return one after the signature checked out; amounts are minor units.
type Notification struct {
	Kind       NotifyKind
	ID         string // the channel's notification id, for the audit log
	MerchantID string // the channel-side merchant/app id the notification names
	Trade      Trade
	// For refunds: RefundNo is our refund order_no (Alipay out_biz_no);
	// RefundTotal the cumulative refunded amount the channel reports (Alipay)
	// or RefundAmount this refund's amount (WeChat), 0 when not reported;
	// RefundStatus is succeeded unless the channel reports a failure.
	RefundNo     string
	RefundTotal  int64
	RefundAmount int64
	RefundStatus RefundStatus
	RefundAt     int64
	// For payouts: PayoutNo is the transfer's Transfer.PayoutNo (Alipay
	// out_biz_no, WeChat out_detail_no), Payout the channel's word on it.
	PayoutNo string
	Payout   *PayoutResult
	// For agreements: the channel's word on one (signed, terminated).
	Agreement *AgreementInfo
}

// ChannelRequest bundles what a connector needs to start a charge.
type ChannelRequest struct {
	Charge    *Charge
	NotifyURL string
	ReturnURL string
	// AuthorizeOnly asks for a hold to be captured later (pre-authorization);
	// only set for connectors implementing Authorizer.
	AuthorizeOnly bool
	// Card is the card to charge for card channels, decrypted from the
	// vault for this call only; nil for other channels.
	Card *CardData
	// ThreeDS is the 3-D Secure policy for card channels.
	ThreeDS ThreeDSMode
	// WalletToken is a wallet's payment token (Apple Pay's PKPaymentToken
	// paymentData as JSON) for wallet-through-processor channels.
	WalletToken []byte
	// Agreement is the signed debit agreement a charge debits
	// (extra.agreement); nil for charges the customer pays themselves.
	Agreement *Agreement
}

// Channel is one payment channel connector bound to one merchant's channel
// credentials (real host, or the simulator in test mode).
//
// Errors: *Error with code EChannel for a refusal by the channel (ChannelCode
// set), EInvalid for bad extra parameters, ENotSupported for an operation the
// channel lacks (see ErrNotSupported); anything else is a transport failure
// and may be retried.
type Channel interface {
	// CreateCharge starts the trade and returns the JSON value placed under
	// credential[<channel>]. It must be safe to call twice for one charge.
	CreateCharge(ctx context.Context, req ChannelRequest) (credential []byte, err error)
	// QueryCharge asks the channel for the trade's current state;
	// TradeNotFound when the channel has none.
	QueryCharge(ctx context.Context, c *Charge) (*Trade, error)
	// CloseCharge closes an unpaid trade. Closing a trade that does not
	// exist succeeds; closing a paid one returns an EChannel error.
	CloseCharge(ctx context.Context, c *Charge) error
	// Refund asks for a refund; repeating it with the same refund is safe.
	Refund(ctx context.Context, c *Charge, r *Refund, notifyURL string) (*RefundResult, error)
	// QueryRefund asks for a refund's state.
	QueryRefund(ctx context.Context, c *Charge, r *Refund) (*RefundResult, error)
	// ParseNotification verifies and parses an asynchronous notification.
	// It returns ErrBadSignature for a notification that does not verify.
	ParseNotification(ctx context.Context, req NotifyRequest) (*Notification, error)
	// Ack is the channel's expected reply to a notification: ok=true
	// acknowledges it, ok=false asks the channel to send it again. The
	// HTTP layer writes it (NotifyReply.WriteResponse).
	Ack(ok bool) NotifyReply
}

// ErrBadSignature is returned for notifications or responses whose signature
// does not verify.
var ErrBadSignature = errors.New("polypay: bad signature")

// ErrChannelAuthorization is a channel refusing a service provider's call
// for a merchant whose authorization is gone (revoked or expired): the
// merchant must authorize again.
var ErrChannelAuthorization = errors.New("polypay: the merchant's authorization of the service provider is no longer valid")

// ErrTradeReversed is wrapped by a connector's CreateCharge error when the
// outcome of a payment-code charge (alipay_scan, wx_pub_scan) was unknown
// and the connector reversed the trade: whatever the customer paid went
// back, so a payment recorded meanwhile (by a notification or a query) must
// be undone.
var ErrTradeReversed = errors.New("the trade was reversed: nothing is charged")

// ErrNotSupported builds the error for an operation a channel lacks.
func ErrNotSupported(channel, op string) *Error {
	return &Error{Code: ENotSupported, Message: "channel " + channel + " does not support " + op}
}

// AppAuth is a merchant's authorization of a service provider's app on a
// channel (Alipay's 第三方应用授权): the token the provider's calls carry
// to act for the merchant, and how it is renewed.
type AppAuth struct {
	Token         string `json:"app_auth_token"`
	RefreshToken  string `json:"app_refresh_token"`
	MerchantAppID string `json:"auth_app_id"`
	UserID        string `json:"user_id,omitempty"`
	ExpiresAt     int64  `json:"expires_at"`
	ReExpiresAt   int64  `json:"re_expires_at"`
	Revoked       bool   `json:"revoked,omitempty"`
}

// AppAuthorizer is a connector (the provider's) that takes merchants'
// authorizations: the page a merchant authorizes on, and the exchange of
// the code it returns (grant "authorization_code") or of a refresh token
// (grant "refresh_token") for a token pair.
type AppAuthorizer interface {
	AuthorizeURL(redirectURI, state string) string
	ExchangeAppAuth(ctx context.Context, grant, code string) (*AppAuth, error)
}

// SubMerchantChecker is a connector (the provider's) that can tell whether
// a sub-merchant number is bound to it (WeChat Pay's partner mode).
type SubMerchantChecker interface {
	CheckSubMerchant(ctx context.Context, subMchID string) error
}

// SubMerchantNamer is a connector (the provider's) whose sub-merchants
// are named on every call by fields registered with the channel offline
// (UnionPay's platform merchants: sub_mer_id, sub_mer_name,
// sub_mer_abbr): it checks a registration's fields, EInvalid naming the
// parameter, and returns the sub-merchant's id.
type SubMerchantNamer interface {
	CheckSubMerchantFields(fields map[string]string) (id string, err error)
}

// ProfitReceiver is who receives shares of payments at a channel (WeChat
// Pay's profit-sharing receiver): Type is the channel's (MERCHANT_ID,
// PERSONAL_OPENID), Account its id there.
type ProfitReceiver struct {
	Type     string
	Account  string
	Name     string
	Relation string // the receiver's relation to the merchant (PARTNER, SUPPLIER, ...)
}

// ProfitSplit is one receiver's part of a profit-sharing order.
type ProfitSplit struct {
	Receiver    ProfitReceiver
	Amount      int64
	Description string
}

// ProfitShare is a profit-sharing order as the channel has it: State
// PROCESSING or FINISHED (nothing more can be split; the rest went to the
// merchant), each split's Result SUCCESS, PENDING or CLOSED.
type ProfitShare struct {
	OrderNo string
	ShareID string
	State   string
	Splits  []ProfitSplitResult
}

// ProfitSplitResult is one split as the channel did it.
type ProfitSplitResult struct {
	Account    string
	Amount     int64
	Result     string
	FailReason string
}

// ProfitReturn is a share given back by a receiver (a refund of the
// payment that was shared): Result SUCCESS, PROCESSING or FAILED.
type ProfitReturn struct {
	ReturnNo string
	ReturnID string
	Amount   int64
	Result   string
}

// ProfitSharer is a connector that splits a paid charge among receivers
// at the channel (分账) once the charge was made for it (its funds held:
// extra profit_sharing). Every order number is the caller's, for
// idempotent retries; FinishShare gives the unsplit rest to the merchant.
type ProfitSharer interface {
	AddReceiver(ctx context.Context, r ProfitReceiver) error
	ShareProfit(ctx context.Context, c *Charge, orderNo string, splits []ProfitSplit, finish bool) (*ProfitShare, error)
	QueryShare(ctx context.Context, c *Charge, orderNo string) (*ProfitShare, error)
	ReturnShare(ctx context.Context, c *Charge, orderNo, returnNo string, from ProfitReceiver, amount int64, desc string) (*ProfitReturn, error)
	FinishShare(ctx context.Context, c *Charge, orderNo, desc string) (*ProfitShare, error)
}
