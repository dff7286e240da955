package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// The balance transfer channel (Ping++'s transfer channel `balance`): the
// merchant pays a user of its account system into the user's balance. It
// goes through the transfer engine like any payout (stored first, the
// approval threshold, the poller), with a connector that pays at once and
// does nothing itself: the user is credited in the transaction that marks
// the transfer paid (decideTransfer), so the credit happens exactly when
// the transfer is paid, once.

// balancePayouter is the balance channel's connector.
type balancePayouter struct{}

func (balancePayouter) CheckTransfer(t *polypay.Transfer) error {
	switch {
	case t.Currency != polypay.BalanceCurrency:
		return polypay.ParamError("currency", "balance 渠道只支持 cny")
	case t.Type != "" && t.Type != "b2c":
		return polypay.ParamError("type", "balance 渠道的 type 只能为 b2c")
	}
	return nil
}

func (balancePayouter) Transfer(_ context.Context, req polypay.PayoutRequest) (*polypay.PayoutResult, error) {
	return &polypay.PayoutResult{State: polypay.PayoutPaid, TransactionNo: req.Transfer.ID}, nil
}

func (balancePayouter) QueryTransfer(_ context.Context, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	return &polypay.PayoutResult{State: polypay.PayoutPaid, TransactionNo: t.ID}, nil
}

// checkBalancePayee refuses a balance transfer to a user the app does not
// have, or a disabled one, naming recipient.
func (s *Service) checkBalancePayee(ctx context.Context, who Caller, user string) error {
	return s.read(ctx, func(tx Tx) error {
		_, err := activeUser(ctx, tx, who, user, "recipient")
		return err
	})
}

// creditBalanceTransfer credits a paid balance transfer's user, with its
// postings, in the transaction that marks it paid.
func creditBalanceTransfer(ctx context.Context, tx Tx, t *polypay.Transfer) error {
	who := Caller{App: &polypay.App{ID: t.AppID}, Live: t.Livemode}
	if _, err := moveBalance(ctx, tx, who, t.Recipient, t.Amount, polypay.BalanceTxnReceipts, t.ID, t.Description, "amount"); err != nil {
		return err
	}
	return tx.Post(ctx, ledger.TransferToBalance(t))
}
