package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The balance channel (Ping++'s `balance`): a charge paid from an app's
// user's stored value (extra.user). No channel is called: the charge is
// stored paid in the transaction that debits the balance, with its
// postings and charge.succeeded, or refused (400 naming amount) when the
// balance cannot cover it. Its refunds succeed at once and give the
// amount back to the user, in the transaction that records them.

// BalanceChannel is the balance channel's name.
const BalanceChannel = ledger.BalanceChannel

// balancePayer is who a balance charge debits: the user named in
// extra.user, or the user a scanned payment code (extra.scan_code, with
// extra.terminal_id) resolves to.
type balancePayer struct{ user, scanCode, terminal string }

// balanceUser reads and checks a balance charge's extra: {"user": id} or
// {"scan_code": code, "terminal_id": id}.
func balanceUser(p ChargeParams) (balancePayer, error) {
	var extra map[string]json.RawMessage
	_ = json.Unmarshal(p.Extra, &extra)
	var b balancePayer
	for k, raw := range extra {
		var v string
		if json.Unmarshal(raw, &v) != nil || v == "" || len(v) > 64 {
			return b, polypay.ParamError("extra["+k+"]", "extra[%s] 须为 1 到 64 个字符的字符串", k)
		}
		switch k {
		case "user":
			b.user = v
		case "scan_code":
			b.scanCode = v
		case "terminal_id":
			b.terminal = v
		default:
			return b, polypay.ParamError("extra["+k+"]", "balance 渠道不支持参数 extra[%s]", k)
		}
	}
	switch {
	case b.user == "" && b.scanCode == "":
		return b, polypay.ParamError("extra[user]", "balance 渠道须在 extra[user] 中填写付款用户的 id，或在 extra[scan_code] 中填写扫到的付款码")
	case b.user != "" && b.scanCode != "":
		return b, polypay.ParamError("extra[scan_code]", "extra[user] 与 extra[scan_code] 只能填一个")
	case b.scanCode != "" && b.terminal == "":
		return b, polypay.ParamError("extra[terminal_id]", "扫码付款须在 extra[terminal_id] 中填写终端号")
	case p.AuthOnly:
		return b, polypay.ParamError("capture", "balance 渠道不支持预授权")
	case p.Currency != polypay.BalanceCurrency:
		return b, polypay.ParamError("currency", "balance 渠道只支持 cny")
	}
	return b, nil
}

// payerExtra is what a balance charge keeps in its extra: the user, and
// for a scanned code its terminal and the code's last four digits (a
// used code is worth nothing, but it is still not kept whole).
func payerExtra(b balancePayer, user string) json.RawMessage {
	m := map[string]string{"user": user}
	if b.scanCode != "" {
		m["terminal_id"], m["scan_code"] = b.terminal, "***"+b.scanCode[max(0, len(b.scanCode)-4):]
	}
	out, _ := json.Marshal(m)
	return out
}

// createBalanceCharge debits the user and stores the charge paid, in one
// transaction. An order_no seen before answers its charge (or refuses
// other parameters) as for any channel.
func (s *Service) createBalanceCharge(ctx context.Context, who Caller, p ChargeParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	payer, err := balanceUser(p)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	if p.TimeExpire, err = timeExpire(p.TimeExpire, "", now); err != nil {
		return nil, err
	}
	hashed := p
	hashed.TimeExpire = 0
	paramsHash := hashJSON(hashed)
	if existing, err := s.chargeByOrderNo(ctx, who.App.ID, who.Live, p.OrderNo); err != nil || existing != nil {
		if err != nil {
			return nil, err
		}
		return s.existingCharge(ctx, existing, paramsHash, hook)
	}
	if err := s.heldByRecharge(ctx, who, p.OrderNo); err != nil {
		return nil, err
	}
	c := newCharge(who, p, now, paramsHash)
	var out any
	queued := 0
	err = s.write(ctx, func(tx Tx) error {
		queued = 0
		user := payer.user
		if payer.scanCode != "" {
			if user, err = s.resolvePaycode(ctx, tx, who, payer.scanCode, payer.terminal, c.Amount, c.ID); err != nil {
				return err
			}
		}
		c.Extra = payerExtra(payer, user)
		if _, err := activeUser(ctx, tx, who, user, "extra[user]"); err != nil {
			return err
		}
		bt, err := moveBalance(ctx, tx, who, user, -c.Amount, polypay.BalanceTxnPayment, c.ID, c.Subject, "amount")
		if err != nil {
			return err
		}
		recordPayment(c, &polypay.Trade{Amount: c.Amount, TransactionNo: bt.ID}, tx.Now())
		c.Credential = json.RawMessage(`{}`)
		if err := tx.InsertCharge(ctx, c, 0); err != nil {
			return err
		}
		if err := tx.Post(ctx, ledger.ChargePaid(c)); err != nil {
			return err
		}
		if err := tx.Post(ctx, ledger.BalancePaid(c, user)); err != nil {
			return err
		}
		if queued, err = s.emitPaid(ctx, tx, c); err != nil {
			return err
		}
		w, err := RenderCharge(ctx, tx, c)
		if err != nil {
			return err
		}
		out = w
		return runHook(hook, tx, w)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) && out == nil {
		return s.createBalanceCharge(again, who, p, hook) // a concurrent request stored it first
	}
	if r, ok := asPaycodeRefusal(err); ok {
		s.recordPaycodeFailure(ctx, who, r) // counted after the refusal rolled back
		return nil, r.err
	}
	s.kick(queued)
	return out, err
}

// refundToBalance settles a balance charge's new refund at once, in the
// transaction that created it: the charge's books as any refund's, and
// the amount back on the user's balance.
func (s *Service) refundToBalance(ctx context.Context, tx Tx, c *polypay.Charge, r *polypay.Refund) (*wire.Refund, int, error) {
	user := balanceUserOf(c)
	done, err := s.applyRefundTx(ctx, tx, c.ID, r.OrderNo, &polypay.RefundResult{Status: polypay.RefundSucceeded,
		Amount: r.Amount, TransactionNo: r.ID}, 0)
	if err != nil {
		return nil, 0, err
	}
	who := Caller{App: &polypay.App{ID: c.AppID}, Live: c.Livemode}
	if _, err := moveBalance(ctx, tx, who, user, r.Amount, polypay.BalanceTxnRefund, r.ID, r.Description, "amount"); err != nil {
		return nil, 0, err
	}
	if err := tx.Post(ctx, ledger.BalanceRefunded(r, user)); err != nil {
		return nil, 0, err
	}
	out, _ := done.out.(*wire.Refund)
	return out, done.queued, nil
}

// balanceUserOf is the user a balance charge was paid by.
func balanceUserOf(c *polypay.Charge) string {
	var extra struct {
		User string `json:"user"`
	}
	_ = json.Unmarshal(c.Extra, &extra)
	return extra.User
}
