package core

import (
	"context"
	"encoding/json"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Settlement runs: once per sub-app, mode, currency and day (Beijing
// time), what the gateway owes the sub-merchant for takings before the
// day's cutoff (T+N: the start of the day N-1 days back), less what
// earlier runs paid, less a rolling reserve (holdback_bp of the takings
// of the holdback_days before the cutoff), is paid to the bank account of
// its onboarding through the transfer engine, if it reaches min_payout.
// The run is stored before its transfer (unique per day: a second node or
// a retry finds it), and the transfer's outcome ends it: paid, or failed
// and owed again at the next run.

const day = 24 * time.Hour

// settleDay parses a settlement date (YYYY-MM-DD, Beijing time).
func settleDay(date string) (time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", date, beijing)
	if err != nil {
		return d, polypay.ParamError("date", "date 须为 YYYY-MM-DD（北京时间）")
	}
	return d, nil
}

// settleCutoff is the cutoff of date's run under a T+delay schedule.
func settleCutoff(d time.Time, delay int) time.Time {
	return d.Add(time.Duration(1-delay) * day)
}

// latestSettleDate is the last date whose cutoff has passed at now.
func latestSettleDate(now time.Time, delay int) string {
	d := now.In(beijing)
	today := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, beijing)
	if settleCutoff(today, delay).After(now) {
		today = today.Add(-day)
	}
	return today.Format("2006-01-02")
}

// RunSettlement runs sub's settlement for date ("" for the latest date
// whose cutoff has passed) in the caller's mode; the caller is one of its
// ancestors. It answers the day's runs, one per currency.
func (s *Service) RunSettlement(ctx context.Context, who Caller, sub, date string) (any, error) {
	if err := s.read(ctx, func(tx Tx) error {
		_, err := tx.SubAppOf(ctx, who.App.ID, sub)
		return err
	}); err != nil {
		return nil, err
	}
	runs, err := s.runSettlement(ctx, sub, who.Live, date)
	if err != nil {
		return nil, err
	}
	data := make([]any, len(runs))
	for i, m := range runs {
		data[i] = renderSettlement(m)
	}
	return map[string]any{"object": "list", "url": "/v1/apps/" + who.App.ID + "/sub_apps/" + sub + "/settlements", "has_more": false,
		"data": data}, nil
}

func (s *Service) runSettlement(ctx context.Context, sub string, live bool, date string) ([]*store.MerchantSettlement, error) {
	now := s.now()
	var runs []*store.MerchantSettlement
	err := s.write(ctx, func(tx Tx) error {
		runs = nil
		f, err := tx.FeeScheduleOf(ctx, sub)
		if err == nil && f == nil {
			err = polypay.ParamError("sub", "子应用 %s 没有结算设置（fee_schedule）", sub)
		}
		if err != nil {
			return err
		}
		if date == "" {
			// The scheduler's run: once the day's run exists there is
			// nothing to compute.
			date = latestSettleDate(now, f.DelayDays)
			if done, err := tx.SettledOn(ctx, sub, live, date); err != nil || done {
				return err
			}
		}
		d, err := settleDay(date)
		if err != nil {
			return err
		}
		cutoff := settleCutoff(d, f.DelayDays)
		if cutoff.After(now) {
			return polypay.ParamError("date", "%s 的结算截止时间（T+%d）还未到", date, f.DelayDays)
		}
		curs, err := tx.BookCurrencies(ctx, sub, live)
		if err != nil {
			return err
		}
		for _, cur := range curs {
			m, err := s.settleCurrency(ctx, tx, f, live, cur, date, cutoff.Unix(), now)
			if err != nil {
				return err
			}
			if m != nil {
				runs = append(runs, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, m := range runs {
		if m.Status == settlePending {
			s.sendSettlement(ctx, m)
		}
	}
	return s.reloadRuns(ctx, runs)
}

// Settlement run statuses.
const (
	settlePending = "pending"
	settlePaid    = "paid"
	settleFailed  = "failed"
	settleSkipped = "skipped"
)

// settleCurrency computes and stores one currency's run of the day; nil
// when that day's run exists already.
func (s *Service) settleCurrency(ctx context.Context, tx Tx, f *store.FeeSchedule, live bool, cur, date string, cutoff int64,
	now time.Time) (*store.MerchantSettlement, error) {
	before, err := tx.MerchantOwed(ctx, f.AppID, live, cur, cutoff)
	if err != nil {
		return nil, err
	}
	all, err := tx.MerchantOwed(ctx, f.AppID, live, cur, 0)
	if err != nil {
		return nil, err
	}
	settled, err := tx.SettledOut(ctx, f.AppID, live, cur)
	if err != nil {
		return nil, err
	}
	var hold int64
	if f.HoldbackBP > 0 && f.HoldbackDays > 0 {
		taken, err := tx.ChargeTakings(ctx, f.AppID, live, cur, cutoff-int64(f.HoldbackDays)*int64(day/time.Second), cutoff)
		if err != nil {
			return nil, err
		}
		hold = taken * int64(f.HoldbackBP) / 10000
	}
	eligible := min(before, all) - settled
	m := &store.MerchantSettlement{ID: polypay.NewID("mst_"), AppID: f.AppID, Livemode: live, Currency: cur, SettleDate: date,
		Cutoff: cutoff, Eligible: eligible, Holdback: hold, Amount: eligible - hold, Status: settlePending, Channel: f.PayoutChannel,
		Created: now.Unix()}
	if m.Amount < max(1, f.MinPayout) {
		m.Amount, m.Status, m.Finished = 0, settleSkipped, now.Unix()
	} else {
		m.TransferOrderNo = transferOrderNo(f.PayoutChannel, now)
	}
	fresh, err := tx.InsertMerchantSettlement(ctx, m)
	if err != nil || !fresh {
		return nil, err
	}
	return m, nil
}

// sendSettlement makes a pending run's transfer to the sub-app's bank
// account and links it. A transfer that cannot be made (no bank account,
// refused payee) fails the run; other errors leave it to the poller.
func (s *Service) sendSettlement(ctx context.Context, m *store.MerchantSettlement) {
	who := Caller{App: &polypay.App{ID: m.AppID}, Live: m.Livemode}
	p, err := s.settlementTransfer(ctx, m)
	if err == nil {
		_, err = s.CreateTransfer(ctx, who, p, func(tx Tx, obj any) error {
			cur, err := tx.GetMerchantSettlement(ctx, m.AppID, m.Livemode, m.ID)
			if err != nil || cur.TransferID != "" || cur.Status != settlePending {
				return err
			}
			cur.TransferID = obj.(*wire.Transfer).ID
			_, err = tx.MoveMerchantSettlement(ctx, cur, settlePending)
			return err
		})
	}
	if code := polypay.ErrorCode(err); err != nil && (code == polypay.EInvalid || code == polypay.ENotFound) {
		queued := 0
		err = s.write(ctx, func(tx Tx) error {
			cur, gerr := tx.GetMerchantSettlement(ctx, m.AppID, m.Livemode, m.ID)
			if gerr != nil || cur.Status != settlePending || cur.TransferID != "" {
				return gerr
			}
			cur.Status, cur.FailureMsg, cur.Finished = settleFailed, errorText(err), tx.Now()
			queued, gerr = s.moveSettlement(ctx, tx, cur)
			return gerr
		})
		s.kick(queued)
	}
	if err != nil {
		s.Log.Warn("settlement transfer not sent", "settlement", m.ID, "err", err)
	}
}

// settlementTransfer is the transfer paying a run to the sub-app's bank
// account (its onboarding's, opened from its seal).
func (s *Service) settlementTransfer(ctx context.Context, m *store.MerchantSettlement) (TransferParams, error) {
	var sub *store.SubApp
	if err := s.read(ctx, func(tx Tx) (err error) { sub, err = tx.GetSubApp(ctx, m.AppID); return }); err != nil {
		return TransferParams{}, err
	}
	var onb Onboarding
	if sub != nil {
		_ = json.Unmarshal(sub.Onboarding, &onb)
	}
	if sub == nil || sub.BankSealed == "" || onb.BankAccount == nil || s.Box == nil {
		return TransferParams{}, polypay.ParamError("onboarding", "子应用 %s 没有登记结算银行账户", m.AppID)
	}
	number, err := s.Box.Open("sub_app_bank:"+m.AppID, sub.BankSealed)
	if err != nil {
		return TransferParams{}, err
	}
	extra, _ := json.Marshal(map[string]any{"card_number": string(number), "user_name": onb.BankAccount.Name,
		"open_bank": onb.BankAccount.Bank})
	return TransferParams{AppID: m.AppID, Channel: m.Channel, OrderNo: m.TransferOrderNo, Amount: m.Amount, Type: "b2b", Currency: m.Currency,
		Description: "结算 " + m.SettleDate, Extra: extra, Metadata: []byte(`{}`)}, nil
}

// endSettlement ends the run a decided transfer pays out, in the
// transaction that decides the transfer.
func (s *Service) endSettlement(ctx context.Context, tx Tx, t *polypay.Transfer) (int, error) {
	m, err := tx.SettlementByTransfer(ctx, t.AppID, t.Livemode, t.Channel, t.OrderNo)
	if err != nil || m == nil || m.Status != settlePending {
		return 0, err
	}
	m.TransferID, m.Finished = t.ID, tx.Now()
	m.Status, m.FailureMsg = settlePaid, ""
	if t.Status != polypay.TransferPaid {
		m.Status, m.FailureMsg = settleFailed, t.FailureMsg
	}
	return s.moveSettlement(ctx, tx, m)
}

// moveSettlement records a pending run's outcome and announces it:
// settlement.paid or settlement.failed, to the sub-app (and so its
// platform).
func (s *Service) moveSettlement(ctx context.Context, tx Tx, m *store.MerchantSettlement) (int, error) {
	moved, err := tx.MoveMerchantSettlement(ctx, m, settlePending)
	if err != nil || !moved {
		return 0, err
	}
	typ := polypay.EventSettlementPaid
	if m.Status == settleFailed {
		typ = polypay.EventSettlementFailed
	}
	return s.emit(ctx, tx, m.AppID, m.Livemode, typ, "", renderSettlement(m))
}

func (s *Service) reloadRuns(ctx context.Context, runs []*store.MerchantSettlement) ([]*store.MerchantSettlement, error) {
	out := make([]*store.MerchantSettlement, 0, len(runs))
	err := s.read(ctx, func(tx Tx) error {
		for _, m := range runs {
			cur, err := tx.GetMerchantSettlement(ctx, m.AppID, m.Livemode, m.ID)
			if err != nil {
				return err
			}
			out = append(out, cur)
		}
		return nil
	})
	return out, err
}

// pollSettlements runs the day's settlement of every auto-settled
// sub-app in both modes (once a day: the run is unique per day) and
// sends runs a crash left without their transfer.
func (s *Service) pollSettlements(ctx context.Context) (int, error) {
	var subs []string
	var unsent []*store.MerchantSettlement
	err := s.read(ctx, func(tx Tx) (err error) {
		if subs, err = tx.AutoSettled(ctx); err != nil {
			return err
		}
		unsent, err = tx.UnsentSettlements(ctx, 50)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sub := range subs {
		for _, live := range []bool{false, true} {
			runs, err := s.runSettlement(ctx, sub, live, "")
			if err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
				return n, err
			}
			n += len(runs)
		}
	}
	for _, m := range unsent {
		s.sendSettlement(ctx, m)
		n++
	}
	return n, nil
}

// GetSettlement answers one run of sub (the caller's sub-app or the
// caller itself).
func (s *Service) GetSettlement(ctx context.Context, who Caller, sub, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		if err := ownOrSub(ctx, tx, who, sub); err != nil {
			return err
		}
		m, err := tx.GetMerchantSettlement(ctx, sub, who.Live, id)
		if err == nil {
			out = renderSettlement(m)
		}
		return err
	})
	return out, err
}

// ListSettlements pages through sub's runs, newest first.
func (s *Service) ListSettlements(ctx context.Context, who Caller, url, sub string, p store.Page) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		if err := ownOrSub(ctx, tx, who, sub); err != nil {
			return err
		}
		ms, more, err := tx.ListMerchantSettlements(ctx, sub, who.Live, p)
		if err != nil {
			return err
		}
		list, err := renderList(url, ms, more, func(m *store.MerchantSettlement) (any, error) { return renderSettlement(m), nil })
		out = list
		return err
	})
	return out, err
}

// ownOrSub refuses a sub-app the caller is neither nor an ancestor of.
func ownOrSub(ctx context.Context, tx Tx, who Caller, sub string) error {
	if sub == who.App.ID {
		return nil
	}
	_, err := tx.SubAppOf(ctx, who.App.ID, sub)
	return err
}

func renderSettlement(m *store.MerchantSettlement) map[string]any {
	out := map[string]any{"id": m.ID, "object": "settlement", "app": m.AppID, "livemode": m.Livemode, "currency": m.Currency,
		"settle_date": m.SettleDate, "cutoff": m.Cutoff, "eligible": m.Eligible, "holdback": m.Holdback, "amount": m.Amount,
		"status": m.Status, "channel": m.Channel, "transfer": nil, "failure_msg": nil, "created": m.Created, "time_finished": nil}
	if m.TransferID != "" {
		out["transfer"] = m.TransferID
	}
	if m.FailureMsg != "" {
		out["failure_msg"] = m.FailureMsg
	}
	if m.Finished != 0 {
		out["time_finished"] = m.Finished
	}
	return out
}
