package polypay

// Posting is one line of a double-entry ledger transaction, in minor units
// of the transaction's currency: Amount > 0 debits Account, < 0 credits it.
// Which accounts a business event moves is package ledger's to say.
type Posting struct {
	Account string
	Amount  int64
}
