package ledger

// Royalty is a royalty as the books see it: its payer app's book and its
// signed amount (a refund's take-back is negative).
type Royalty struct {
	ID       string
	AppID    string // the payer app
	Livemode bool
	Currency string
	Amount   int64
}

// RoyaltyBooked is a royalty owed: what the gateway owed the payer
// merchant is now owed to the royalty's recipient until it is settled. A
// take-back (amount < 0) moves the other way.
//
//	debit  merchant   amount
//	credit royalties  amount
func RoyaltyBooked(r Royalty) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefRoyalty, RefID: r.ID}
	return move(t, AccountMerchant, AccountRoyalties, r.Amount)
}

// RoyaltyManual is a royalty the merchant settled outside polypay: the
// merchant paid the recipient itself, so the gateway owes it the share
// again.
//
//	debit  royalties  amount
//	credit merchant   amount
func RoyaltyManual(r Royalty) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefRoyaltyManual, RefID: r.ID}
	return move(t, AccountRoyalties, AccountMerchant, r.Amount)
}

// RoyaltyPayment is a royalty transaction paid to its recipient's
// balance: a user's stored value (User set) or, for an app taking its
// share itself, that app's merchant balance. RecipientBook is the app
// whose book holds that balance.
type RoyaltyPayment struct {
	ID            string // the royalty transaction
	PayerApp      string
	Livemode      bool
	Currency      string
	Amount        int64
	RecipientBook string
	User          string
	// ByTransfer: paid by a transfer from the payer's funds to the
	// recipient's settle account (its TransferPaid posting moves the money
	// out of the merchant's balance), not to a balance in polypay.
	ByTransfer bool
}

func (p RoyaltyPayment) credit() string {
	if p.User != "" {
		return UserAccount(p.User)
	}
	return AccountMerchant
}

// RoyaltyPaid is the payer's side of a royalty transaction paid. Within
// one book the recipient's balance is credited directly; across books the
// payer's book owes the recipient's (RoyaltyReceived is the other side).
//
//	debit  royalties                   amount
//	credit user:<id> | due_to_apps     amount
func RoyaltyPaid(p RoyaltyPayment) Txn {
	t := Txn{AppID: p.PayerApp, Livemode: p.Livemode, Currency: p.Currency, RefType: RefRoyaltyPaid, RefID: p.ID}
	if p.ByTransfer {
		// The transfer paid it from the merchant's funds: the royalty owed
		// becomes the merchant's again, which the transfer's own posting
		// (merchant -> channel) then moves out.
		return move(t, AccountRoyalties, AccountMerchant, p.Amount)
	}
	if p.RecipientBook == p.PayerApp {
		return move(t, AccountRoyalties, p.credit(), p.Amount)
	}
	return move(t, AccountRoyalties, AccountDueToApps, p.Amount)
}

// RoyaltyReceived is the recipient's side of a royalty transaction paid
// across books; no lines when both sides are one book.
//
//	debit  due_from_apps               amount
//	credit user:<id> | merchant        amount
func RoyaltyReceived(p RoyaltyPayment) Txn {
	t := Txn{AppID: p.RecipientBook, Livemode: p.Livemode, Currency: p.Currency, RefType: RefRoyaltyReceived, RefID: p.ID}
	if p.RecipientBook == p.PayerApp || p.ByTransfer {
		return t
	}
	return move(t, AccountDueFromApps, p.credit(), p.Amount)
}

// RoyaltyRecord is a royalty with its entries: Manual when it was settled
// outside polypay.
type RoyaltyRecord struct {
	Royalty Royalty
	Manual  bool
	Entries []Entry
}

// RoyaltyTxnRecord is a royalty transaction with its entries: Paid when
// it succeeded.
type RoyaltyTxnRecord struct {
	Payment RoyaltyPayment
	Paid    bool
	Entries []Entry
}

// royalty: a royalty has its RoyaltyBooked postings, and its
// RoyaltyManual ones exactly when it was settled outside polypay.
func (c *checker) royalty(r RoyaltyRecord) error {
	c.record(r.Entries)
	c.agree("royalty", r.Royalty.ID, RoyaltyBooked(r.Royalty), r.Entries)
	manual := RoyaltyManual(r.Royalty)
	if !r.Manual {
		manual.Lines = nil
	}
	c.agree("royalty", r.Royalty.ID, manual, r.Entries)
	return nil
}

// royaltyTxn: a paid royalty transaction has its RoyaltyPaid postings and
// (across books) its RoyaltyReceived ones; any other has none.
func (c *checker) royaltyTxn(r RoyaltyTxnRecord) error {
	c.record(r.Entries)
	paid, recv := RoyaltyPaid(r.Payment), RoyaltyReceived(r.Payment)
	if !r.Paid {
		paid.Lines, recv.Lines = nil, nil
	}
	c.agree("royalty transaction", r.Payment.ID, paid, r.Entries)
	c.agree("royalty transaction", r.Payment.ID, recv, r.Entries)
	return nil
}
