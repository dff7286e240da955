package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
)

// The interfaces below are what core needs of a store transaction, one per
// concern. core's functions take the smallest one that covers what they
// touch, so a reader sees at a glance that, say, a refund settlement cannot
// write an order, and so each concern's contract can be checked on its own:
// store/conformance_test.go runs every one of them against SQLite and
// PostgreSQL. *store.Tx implements all of them; the DB hands one out per
// transaction (Service.DB.Read / Write).

// Clock is the transaction's time (seconds), fixed when it began, so every
// row one transaction writes carries the same instant.
type Clock interface {
	Now() int64
}

// ChargeStore holds charges and the schedule of their active queries.
type ChargeStore interface {
	Clock
	InsertCharge(ctx context.Context, c *polypay.Charge, nextCheck int64) error
	GetCharge(ctx context.Context, appID string, live bool, id string) (*polypay.Charge, error)
	// LockCharge reads a charge for update (row lock on PostgreSQL; SQLite
	// writes are serial).
	LockCharge(ctx context.Context, id string) (*polypay.Charge, error)
	UpdateCharge(ctx context.Context, c *polypay.Charge) error
	ChargeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*polypay.Charge, error)
	ChargeExists(ctx context.Context, appID string, live bool, id string) (bool, error)
	ListCharges(ctx context.Context, f store.ChargeFilter) ([]*polypay.Charge, bool, error)
	DueCharges(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimCharge(ctx context.Context, id string, now, next int64) (bool, error)
	ScheduleCheck(ctx context.Context, id string, at int64) error
	SetDoubtCheck(ctx context.Context, id string, at int64) error
	DueDoubts(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimDoubt(ctx context.Context, id string, now, next int64) (bool, error)
	ExpiredHolds(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimHold(ctx context.Context, id string, now, next int64) (bool, error)
}

// RefundStore holds refunds and the per-charge reservation that keeps
// concurrent refunds from exceeding what was paid.
type RefundStore interface {
	Clock
	InsertRefund(ctx context.Context, r *polypay.Refund) error
	GetRefund(ctx context.Context, appID string, live bool, chargeID, id string) (*polypay.Refund, error)
	UpdateRefund(ctx context.Context, r *polypay.Refund) error
	RefundByOrderNo(ctx context.Context, orderNo string) (*polypay.Refund, error)
	RefundExists(ctx context.Context, chargeID, id string) (bool, error)
	ListRefunds(ctx context.Context, chargeID, startingAfter, endingBefore string, limit int) ([]*polypay.Refund, bool, error)
	ReserveRefund(ctx context.Context, chargeID string, amount int64) (bool, error)
	ReleaseRefund(ctx context.Context, chargeID string, amount int64) error
	Reserved(ctx context.Context, chargeID string) (int64, error)
	DueRefunds(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimRefund(ctx context.Context, orderNo string, now, next int64) (bool, error)
}

// EventStore holds events with their outbox (webhook deliveries queued in
// the same transaction) and the records of notifications received.
type EventStore interface {
	Clock
	// InsertEvent stores the event and queues one delivery per endpoint of
	// its app and mode; it returns how many were queued.
	InsertEvent(ctx context.Context, e *polypay.Event, nowMS int64) (int, error)
	EventsAbout(ctx context.Context, appID string, live bool, id string) ([]*polypay.Event, error)
	RecordNotification(ctx context.Context, n store.NotificationRecord) error
	Trim(ctx context.Context, p store.TrimPolicy) (int64, error)
}

// LedgerStore takes balanced postings (ledger.Txn) and answers balances.
type LedgerStore interface {
	Post(ctx context.Context, t ledger.Txn) error
	LedgerSum(ctx context.Context, refType, refID, account string) (int64, error)
}

// OrderStore holds orders, their charges and discounts.
type OrderStore interface {
	InsertOrder(ctx context.Context, o *polypay.Order) error
	GetOrder(ctx context.Context, appID string, live bool, id string) (*polypay.Order, error)
	OrderByID(ctx context.Context, id string) (*polypay.Order, error)
	OrderByMerchantNo(ctx context.Context, appID string, live bool, no string) (*polypay.Order, error)
	UpdateOrder(ctx context.Context, o *polypay.Order) error
	InsertOrderCharge(ctx context.Context, oc store.OrderCharge) error
	OrderCharges(ctx context.Context, orderID string) ([]store.OrderCharge, error)
	PaidOrderChannels(ctx context.Context, appID string, live bool, uid string) ([]string, error)
	InsertDiscount(ctx context.Context, d *polypay.Discount) error
	Discounts(ctx context.Context, appID string, live bool) ([]*polypay.Discount, error)
	DeleteDiscount(ctx context.Context, appID string, live bool, id string) (*polypay.Discount, error)
}

// AppStore holds apps, their keys and per-app settings (cashier, cards,
// routes).
type AppStore interface {
	InsertApp(ctx context.Context, a *polypay.App) error
	GetApp(ctx context.Context, id string) (*polypay.App, error)
	InsertAPIKey(ctx context.Context, hash, appID string, live bool, kind string) error
	CashierSettings(ctx context.Context, appID string, live bool) ([]byte, error)
	PutCashierSettings(ctx context.Context, appID string, live bool, settings []byte, updated int64) error
	CardSettings(ctx context.Context, appID string, live bool) ([]byte, error)
	PutCardSettings(ctx context.Context, appID string, live bool, settings []byte, updated int64) error
	ChannelRoutes(ctx context.Context, appID string, live bool, family string) ([]byte, error)
	ListChannelRoutes(ctx context.Context, appID string, live bool) ([][]byte, error)
	PutChannelRoutes(ctx context.Context, appID string, live bool, family string, settings []byte, updated int64) error
	ChannelAccounts(ctx context.Context, appID string, live bool) ([]store.AccountRef, error)
}

// IdempotencyStore keeps an Idempotency-Key's answer in the transaction
// that produced it (see Hook).
type IdempotencyStore interface {
	PutIdempotency(ctx context.Context, appID string, live bool, key string, r store.IdemRecord) error
	UpdateIdempotency(ctx context.Context, appID string, live bool, key string, response []byte) error
}

// CardStore resolves the vault's tokens, cards and customers inside the
// transaction that creates a card charge (CardSource consumes a token
// there, so it backs one charge only).
type CardStore interface {
	GetVaultCard(ctx context.Context, appID string, live bool, id string) (*store.VaultCard, error)
	GetVaultCustomer(ctx context.Context, appID string, live bool, id string) (*store.VaultCustomer, error)
	GetVaultToken(ctx context.Context, appID string, live bool, id string) (*store.VaultToken, error)
	ConsumeVaultToken(ctx context.Context, appID string, live bool, id string, now int64) (bool, error)
}

// RiskStore marks a charge's risk attempt failed in the transaction that
// records the failure (package risk counts failures per IP and card).
type RiskStore interface {
	InsertRiskAttempt(ctx context.Context, a store.RiskAttempt) error
	MarkRiskAttemptFailed(ctx context.Context, chargeID string) (bool, error)
	RiskDecisions(ctx context.Context, appID string, live bool, chargeID string, limit int) ([]store.RiskDecision, error)
	InsertRiskDecision(ctx context.Context, d store.RiskDecision) error
}

// PayoutStore holds transfers, batches, red envelopes, batch refunds and
// the payout approval settings.
type PayoutStore interface {
	InsertTransfer(ctx context.Context, t *store.TransferRow, nextCheck int64) error
	UpdateTransfer(ctx context.Context, t *store.TransferRow) error
	GetTransfer(ctx context.Context, appID string, live bool, id string) (*store.TransferRow, error)
	LockTransfer(ctx context.Context, id string) (*store.TransferRow, error)
	TransferByOrderNo(ctx context.Context, appID string, live bool, channel, orderNo string) (*store.TransferRow, error)
	ListTransfers(ctx context.Context, appID string, live bool, channel, status string, p store.Page) ([]*store.TransferRow, bool, error)
	BatchMembers(ctx context.Context, batchID string) ([]*store.TransferRow, error)
	DueTransfers(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimTransfer(ctx context.Context, id string, now, next int64) (bool, error)
	ScheduleTransfer(ctx context.Context, id string, at int64) error
	PayoutExists(ctx context.Context, table, appID string, live bool, id string) (bool, error)

	InsertBatchTransfer(ctx context.Context, b *store.BatchTransferRow) error
	UpdateBatchTransfer(ctx context.Context, b *store.BatchTransferRow) error
	GetBatchTransfer(ctx context.Context, appID string, live bool, id string) (*store.BatchTransferRow, error)
	LockBatchTransfer(ctx context.Context, id string) (*store.BatchTransferRow, error)
	BatchTransferByNo(ctx context.Context, appID string, live bool, batchNo string) (*store.BatchTransferRow, error)
	ListBatchTransfers(ctx context.Context, appID string, live bool, p store.Page) ([]*store.BatchTransferRow, bool, error)
	OpenBatchTransfers(ctx context.Context, limit int) ([]string, error)

	InsertBatchRefund(ctx context.Context, b *store.BatchRefundRow) error
	UpdateBatchRefund(ctx context.Context, b *store.BatchRefundRow) error
	GetBatchRefund(ctx context.Context, appID string, live bool, id string) (*store.BatchRefundRow, error)
	LockBatchRefund(ctx context.Context, id string) (*store.BatchRefundRow, error)
	BatchRefundByNo(ctx context.Context, appID string, live bool, batchNo string) (*store.BatchRefundRow, error)
	ListBatchRefunds(ctx context.Context, appID string, live bool, p store.Page) ([]*store.BatchRefundRow, bool, error)
	OpenBatchRefunds(ctx context.Context, limit int) ([]string, error)

	InsertRedEnvelope(ctx context.Context, r *store.RedEnvelopeRow, nextCheck int64) error
	UpdateRedEnvelope(ctx context.Context, r *store.RedEnvelopeRow) error
	GetRedEnvelope(ctx context.Context, appID string, live bool, id string) (*store.RedEnvelopeRow, error)
	LockRedEnvelope(ctx context.Context, id string) (*store.RedEnvelopeRow, error)
	RedEnvelopeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*store.RedEnvelopeRow, error)
	ListRedEnvelopes(ctx context.Context, appID string, live bool, p store.Page) ([]*store.RedEnvelopeRow, bool, error)
	DueRedEnvelopes(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimRedEnvelope(ctx context.Context, id string, now, next int64) (bool, error)

	PayoutSettings(ctx context.Context, appID string, live bool) (polypay.PayoutSettings, error)
	PutPayoutSettings(ctx context.Context, appID string, live bool, s polypay.PayoutSettings) error
}

// AccountStore holds the account system: users, their balances and the
// movements of those.
type AccountStore interface {
	Clock
	InsertUser(ctx context.Context, u *polypay.User) error
	UpdateUser(ctx context.Context, u *polypay.User) error
	GetUser(ctx context.Context, appID string, live bool, id string) (*polypay.User, error)
	ListUsers(ctx context.Context, appID string, live bool, p store.Page) ([]*polypay.User, bool, error)
	MoveBalance(ctx context.Context, appID string, live bool, user string, delta int64) (int64, bool, error)
	InsertBalanceTxn(ctx context.Context, t *polypay.BalanceTransaction) error
	GetBalanceTxn(ctx context.Context, appID string, live bool, id string) (*polypay.BalanceTransaction, error)
	ListBalanceTxns(ctx context.Context, appID string, live bool, user string, p store.Page) ([]*polypay.BalanceTransaction, bool, error)
	InsertBonus(ctx context.Context, b *store.BalanceBonusRow) error
	GetBonus(ctx context.Context, appID string, live bool, id string) (*store.BalanceBonusRow, error)
	BonusByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*store.BalanceBonusRow, error)
	ListBonuses(ctx context.Context, appID string, live bool, user string, p store.Page) ([]*store.BalanceBonusRow, bool, error)
	InsertBalanceTransfer(ctx context.Context, t *store.BalanceTransferRow) error
	GetBalanceTransfer(ctx context.Context, appID string, live bool, id string) (*store.BalanceTransferRow, error)
	BalanceTransferByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*store.BalanceTransferRow, error)
	ListBalanceTransfers(ctx context.Context, appID string, live bool, user string, p store.Page) ([]*store.BalanceTransferRow, bool, error)
	InsertRecharge(ctx context.Context, r *polypay.Recharge) error
	MarkRechargeSucceeded(ctx context.Context, r *polypay.Recharge) (bool, error)
	GetRecharge(ctx context.Context, appID string, live bool, id string) (*polypay.Recharge, error)
	RechargeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*polypay.Recharge, error)
	SetRechargeCharge(ctx context.Context, id, chargeID string) error
	SetRechargeRefund(ctx context.Context, id, refundID string) (bool, error)
	DeleteUnlinkedRecharge(ctx context.Context, id string) error
	ListRecharges(ctx context.Context, appID string, live bool, user string, p store.Page) ([]*polypay.Recharge, bool, error)
	InsertSettleAccount(ctx context.Context, a *store.SettleAccountRow) error
	GetSettleAccount(ctx context.Context, appID string, live bool, user, id string) (*store.SettleAccountRow, error)
	DeleteSettleAccount(ctx context.Context, appID string, live bool, user, id string) error
	ListSettleAccounts(ctx context.Context, appID string, live bool, user string) ([]*store.SettleAccountRow, error)
	InsertWithdrawal(ctx context.Context, w *store.WithdrawalRow) error
	MoveWithdrawal(ctx context.Context, w *store.WithdrawalRow, from polypay.WithdrawalStatus) (bool, error)
	GetWithdrawal(ctx context.Context, appID string, live bool, id string) (*store.WithdrawalRow, error)
	WithdrawalByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*store.WithdrawalRow, error)
	WithdrawalByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*store.WithdrawalRow, error)
	ListWithdrawals(ctx context.Context, appID string, live bool, user, status string, p store.Page) ([]*store.WithdrawalRow, bool, error)
	UnsentWithdrawals(ctx context.Context, createdBefore int64, limit int) ([]*store.WithdrawalRow, error)
	InsertBatchWithdrawal(ctx context.Context, b *store.BatchWithdrawal) error
	GetBatchWithdrawal(ctx context.Context, appID string, live bool, id string) (*store.BatchWithdrawal, error)
	ListBatchWithdrawals(ctx context.Context, appID string, live bool, p store.Page) ([]*store.BatchWithdrawal, bool, error)
}

// CouponStore holds coupon templates, the coupons issued from them, and
// the order refunds of Ping++'s order API.
type CouponStore interface {
	InsertCouponTemplate(ctx context.Context, t *polypay.CouponTemplate) error
	UpdateCouponTemplate(ctx context.Context, t *polypay.CouponTemplate) error
	GetCouponTemplate(ctx context.Context, appID string, live bool, id string) (*polypay.CouponTemplate, error)
	ListCouponTemplates(ctx context.Context, appID string, live bool, p store.Page) ([]*polypay.CouponTemplate, bool, error)
	CirculateCoupon(ctx context.Context, id string) (bool, error)
	CountRedeemed(ctx context.Context, id string, delta int64) error
	InsertCoupon(ctx context.Context, c *polypay.Coupon) error
	UserCouponCount(ctx context.Context, templateID, user string) (int64, error)
	GetCoupon(ctx context.Context, appID string, live bool, user, id string) (*polypay.Coupon, error)
	ListCoupons(ctx context.Context, appID string, live bool, user, templateID string, redeemed *bool, p store.Page) ([]*polypay.Coupon, bool, error)
	AvailableCoupons(ctx context.Context, appID string, live bool, user string, now int64) (int, error)
	HoldCoupon(ctx context.Context, id, orderID string) (bool, error)
	SetCoupon(ctx context.Context, c *polypay.Coupon) error
	DeleteCoupon(ctx context.Context, id string) (bool, error)
	ListOrders(ctx context.Context, appID string, live bool, f store.OrderFilter, p store.Page) ([]*polypay.Order, bool, error)
	ExpiredHeldOrders(ctx context.Context, now int64, limit int) ([]string, error)
	SetOrderChargePartner(ctx context.Context, orderID, chargeID, partner string) error
	InsertOrderRefund(ctx context.Context, r *store.OrderRefund) error
	SetOrderRefundParts(ctx context.Context, id, chargeRefund, balanceRefund string) error
	GetOrderRefund(ctx context.Context, appID string, live bool, orderID, id string) (*store.OrderRefund, error)
	ListOrderRefunds(ctx context.Context, appID string, live bool, orderID string, p store.Page) ([]*store.OrderRefund, bool, error)
	UnfinishedOrderRefunds(ctx context.Context, createdBefore int64, limit int) ([]*store.OrderRefund, error)
}

// PaycodeStore holds payment-code devices, online codes, the codes
// accepted and the terminals' lockouts.
type PaycodeStore interface {
	InsertPaycodeDevice(ctx context.Context, d *store.PaycodeDevice) error
	GetPaycodeDevice(ctx context.Context, appID string, live bool, user, id string) (*store.PaycodeDevice, error)
	PaycodeDeviceByIndex(ctx context.Context, appID string, live bool, idx int64) (*store.PaycodeDevice, error)
	PaycodeDeviceByID(ctx context.Context, id string) (*store.PaycodeDevice, error)
	ListPaycodeDevices(ctx context.Context, appID string, live bool, user string) ([]*store.PaycodeDevice, error)
	SetPaycodeDeviceGuard(ctx context.Context, d *store.PaycodeDevice) error
	InsertPaycodeUse(ctx context.Context, deviceID string, step int64, chargeID string, amount, now int64) error
	PaycodeUsesSince(ctx context.Context, deviceID string, since int64) (int, error)
	PaycodeStepUsed(ctx context.Context, deviceID string, step int64) (bool, error)
	InsertPaycodeOnline(ctx context.Context, appID string, live bool, user, code string, expires, now int64) error
	UsePaycodeOnline(ctx context.Context, appID string, live bool, code string, now int64) (string, error)
	DeleteExpiredPaycodes(ctx context.Context, before int64) error
	GetPaycodeTerminal(ctx context.Context, appID string, live bool, terminal string) (store.PaycodeTerminal, error)
	PutPaycodeTerminal(ctx context.Context, appID string, live bool, terminal string, t store.PaycodeTerminal) error
	InsertQRCode(ctx context.Context, q *store.QRCode) error
	UpdateQRCode(ctx context.Context, q *store.QRCode) error
	GetQRCode(ctx context.Context, appID string, live bool, id string) (*store.QRCode, error)
	QRCodeByID(ctx context.Context, id string) (*store.QRCode, error)
	ListQRCodes(ctx context.Context, appID string, live bool, p store.Page) ([]*store.QRCode, bool, error)
	UseQRCode(ctx context.Context, id string, now int64) (bool, error)
}

// AgreementStore holds debit agreements.
type AgreementStore interface {
	InsertAgreement(ctx context.Context, a *polypay.Agreement) error
	UpdateAgreement(ctx context.Context, a *polypay.Agreement) error
	GetAgreement(ctx context.Context, appID string, live bool, id string) (*polypay.Agreement, error)
	LockAgreement(ctx context.Context, appID string, live bool, id string) (*polypay.Agreement, error)
	AgreementByContractNo(ctx context.Context, appID string, live bool, contractNo string) (*polypay.Agreement, error)
	ListAgreements(ctx context.Context, appID string, live bool, f store.AgreementFilter, p store.Page) ([]*polypay.Agreement, bool, error)
	SetAgreementCheck(ctx context.Context, id string, at int64) error
	DueAgreements(ctx context.Context, now int64, limit int) ([]store.AgreementRef, error)
	ClaimAgreement(ctx context.Context, id string, now, next int64) (bool, error)
}

// SubscriptionStore holds plans, subscriptions and their invoices.
type SubscriptionStore interface {
	InsertPlan(ctx context.Context, p *store.Plan) error
	UpdatePlan(ctx context.Context, p *store.Plan) error
	GetPlan(ctx context.Context, appID string, live bool, id string) (*store.Plan, error)
	ListPlans(ctx context.Context, appID string, live bool, p store.Page) ([]*store.Plan, bool, error)
	InsertSubscription(ctx context.Context, x *store.Subscription) error
	UpdateSubscription(ctx context.Context, x *store.Subscription) error
	GetSubscription(ctx context.Context, appID string, live bool, id string) (*store.Subscription, error)
	LockSubscription(ctx context.Context, id string) (*store.Subscription, error)
	ListSubscriptions(ctx context.Context, appID string, live bool, status string, p store.Page) ([]*store.Subscription, bool, error)
	DueSubscriptions(ctx context.Context, now int64, limit int) ([]string, error)
	ClaimSubscription(ctx context.Context, id string, now, lease int64) (bool, error)
	InsertInvoice(ctx context.Context, v *store.Invoice) error
	UpdateInvoice(ctx context.Context, v *store.Invoice) error
	OpenInvoices(ctx context.Context, subID string) ([]*store.Invoice, error)
	ListInvoices(ctx context.Context, appID string, live bool, subID string, p store.Page) ([]*store.Invoice, bool, error)
	GetInvoice(ctx context.Context, appID string, live bool, id string) (*store.Invoice, error)
}

// SubAppStore keeps sub-apps and their channels.
type SubAppStore interface {
	InsertSubApp(ctx context.Context, a *store.SubApp) error
	UpdateSubApp(ctx context.Context, a *store.SubApp) error
	SubAppOf(ctx context.Context, ancestor, id string) (*store.SubApp, error)
	ParentOf(ctx context.Context, appID string) (string, error)
	GetSubApp(ctx context.Context, id string) (*store.SubApp, error)
	ListSubApps(ctx context.Context, parent string, p store.Page) ([]*store.SubApp, bool, error)
	DeleteAPIKeys(ctx context.Context, appID string) error
	PutSubAppChannel(ctx context.Context, c *store.SubAppChannel) error
	GetSubAppChannel(ctx context.Context, appID string, live bool, channel string) (*store.SubAppChannel, error)
	SubAppChannels(ctx context.Context, appID string, live bool) ([]*store.SubAppChannel, error)
	DeleteSubAppChannel(ctx context.Context, appID string, live bool, channel string) error
	DeleteChannelConfig(ctx context.Context, appID string, live bool, family string) error
	InsertIdentification(ctx context.Context, v *store.Identification) error
}

// Tx is every concern at once: what a Hook may touch, since it runs inside
// whichever transaction produced the caller's object.
type Tx interface {
	ChargeStore
	RefundStore
	EventStore
	LedgerStore
	OrderStore
	AppStore
	IdempotencyStore
	CardStore
	RiskStore
	PayoutStore
	AccountStore
	CouponStore
	PaycodeStore
	AgreementStore
	SubscriptionStore
	SubAppStore
	RoyaltyStore
	MerchantStore
	logoStore
}

// read and write run fn in one transaction of the service's store.
func (s *Service) read(ctx context.Context, fn func(Tx) error) error {
	return s.DB.Read(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (s *Service) write(ctx context.Context, fn func(Tx) error) error {
	return s.DB.Write(ctx, func(tx *store.Tx) error { return fn(tx) })
}

// Combinations the state changes need: each is one transaction over the
// concerns named.
type (
	// chargeEvents changes a charge and announces it (a charge renders
	// with its refunds).
	chargeEvents interface {
		ChargeStore
		RefundStore
		EventStore
		RiskStore
	}
	// chargeBooks changes a charge, posts to the ledger and announces it.
	chargeBooks interface {
		chargeEvents
		LedgerStore
	}
	// refundBooks settles a refund against its charge.
	refundBooks interface {
		chargeBooks
		OrderStore
		CouponStore
		AccountStore
		RoyaltyStore
	}
	// accountBooks moves users' balances with their postings and events,
	// and renders the charges recharges embed.
	accountBooks interface {
		AccountStore
		chargeBooks
	}
	// orderBooks changes an order with its charges and discounts; a paid
	// charge may be a recharge's.
	orderBooks interface {
		OrderStore
		CouponStore
		accountBooks
		RoyaltyStore
		MerchantStore
	}
)

// The store implements every concern on both backends.
var (
	_ ChargeStore = (*store.Tx)(nil)
	_ RefundStore = (*store.Tx)(nil)
	_ EventStore  = (*store.Tx)(nil)
	_ LedgerStore = (*store.Tx)(nil)
	_ OrderStore  = (*store.Tx)(nil)
	_ AppStore    = (*store.Tx)(nil)

	_ Tx = (*store.Tx)(nil)
)

type (
	// orderCharges renders an order with its charges.
	orderCharges interface {
		OrderStore
		ChargeStore
		RefundStore
		AccountStore
	}
)
