package ledger

// AccountFeeIncome is the revenue account of an app collecting its
// sub-apps' fees.
const AccountFeeIncome = "fee_income"

// Ref types of a sub-app's fee on a paid charge: the sub-app's side and
// the collector's (both: the charge's id).
const (
	RefPlatformFee       = "platform_fee"
	RefPlatformFeeIncome = "platform_fee_income"
)

// PlatformFee is the fee a sub-app pays its collector on one charge.
type PlatformFee struct {
	ChargeID  string
	AppID     string
	Livemode  bool
	Collector string
	Currency  string
	Amount    int64
}

// PlatformFeeCharged is the sub-app's side of its fee: the gateway owes
// the merchant less, and its book owes the collector's.
//
//	debit  merchant     amount
//	credit due_to_apps  amount
func PlatformFeeCharged(f PlatformFee) Txn {
	t := Txn{AppID: f.AppID, Livemode: f.Livemode, Currency: f.Currency, RefType: RefPlatformFee, RefID: f.ChargeID}
	return move(t, AccountMerchant, AccountDueToApps, f.Amount)
}

// PlatformFeeEarned is the collector's side: a claim on the sub-app's book
// and the revenue.
//
//	debit  due_from_apps  amount
//	credit fee_income     amount
func PlatformFeeEarned(f PlatformFee) Txn {
	t := Txn{AppID: f.Collector, Livemode: f.Livemode, Currency: f.Currency, RefType: RefPlatformFeeIncome, RefID: f.ChargeID}
	return move(t, AccountDueFromApps, AccountFeeIncome, f.Amount)
}

// PlatformFeeRecord is a fee with its entries.
type PlatformFeeRecord struct {
	Fee     PlatformFee
	Entries []Entry
}

// platformFee: a fee has both sides' postings, each in its book.
func (c *checker) platformFee(r PlatformFeeRecord) error {
	c.record(r.Entries)
	c.agree("platform fee", r.Fee.ChargeID, PlatformFeeCharged(r.Fee), r.Entries)
	c.agree("platform fee", r.Fee.ChargeID, PlatformFeeEarned(r.Fee), r.Entries)
	return nil
}
