package channeltest

import (
	"context"
	"testing"

	"github.com/polypay/polypay"
)

// ProfitHarness is what a family that splits payments at the channel
// (polypay.ProfitSharer, 分账) gives the profit-sharing cases.
type ProfitHarness struct {
	// Channel is the channel whose charges are shared.
	Channel string
	// Receivers are two receivers the channel accepts; the first is a
	// merchant, whose share can be taken back.
	Receivers [2]polypay.ProfitReceiver
	// Hold returns a charge of Channel made for profit sharing (its funds
	// held), as Sim.Charge does for ordinary ones.
	Hold func(amount int64) *polypay.Charge
	// NoReturn says why the channel cannot take a share back on its own
	// (Alipay: only with a refund); ReturnShare must then answer
	// ErrNotSupported.
	NoReturn string
}

// profitSharing runs the profit-sharing cases: a charge not made for it
// cannot be shared; receivers are added; a held charge is split (again
// under the same number answers the same order), queried; a split above
// what is left, to an unknown receiver, or after the end is refused; a
// merchant receiver's share is taken back, not more than it got; the rest
// is unfrozen.
func (s *suite) profitSharing(t *testing.T) {
	h := s.sim.ProfitSharing
	if h == nil {
		if _, ok := s.conn.(polypay.ProfitSharer); ok {
			t.Fatal("the connector is a polypay.ProfitSharer; the harness has no ProfitSharing")
		}
		t.Skip("the family shares no profits at the channel")
	}
	conn := s.sim.Conn(t, h.Channel)
	ps, ok := conn.(polypay.ProfitSharer)
	if !ok {
		t.Fatalf("the %s connector is no polypay.ProfitSharer", h.Channel)
	}
	ctx := context.Background()
	pay := func(t *testing.T, c *polypay.Charge) *polypay.Charge {
		cred := s.create(t, conn, c, false)
		s.sim.Pay(t, c, cred, true)
		tr := s.query(t, conn, c)
		if tr.State != polypay.TradePaid {
			t.Fatalf("the charge to share is %+v, want paid", tr)
		}
		c.TransactionNo = tr.TransactionNo
		return c
	}
	a, b := h.Receivers[0], h.Receivers[1]
	var held *polypay.Charge
	var first *polypay.ProfitShare
	steps(t, []step{
		{"AddReceivers", func(t *testing.T) {
			for _, r := range h.Receivers {
				if err := ps.AddReceiver(ctx, r); err != nil {
					t.Fatalf("AddReceiver %s: %v", r.Account, err)
				}
			}
		}},
		{"ErrNotHeld", func(t *testing.T) {
			c := pay(t, s.sim.Charge(h.Channel, 1000))
			if _, err := ps.ShareProfit(ctx, c, polypay.NewID("PS"), []polypay.ProfitSplit{{Receiver: a, Amount: 10}}, false); err == nil {
				t.Fatal("a charge not made for profit sharing was shared")
			}
		}},
		{"Share", func(t *testing.T) {
			held = pay(t, h.Hold(1000))
			var err error
			first, err = ps.ShareProfit(ctx, held, "PS1"+held.ID[3:12], []polypay.ProfitSplit{{Receiver: a, Amount: 300, Description: "佣金"},
				{Receiver: b, Amount: 100, Description: "奖励"}}, false)
			if err != nil || first.ShareID == "" || len(first.Splits) != 2 || first.Splits[0].Amount != 300 || first.Splits[0].Result == "CLOSED" {
				t.Fatalf("ShareProfit = %+v, %v", first, err)
			}
		}},
		{"ShareAgain", func(t *testing.T) {
			again, err := ps.ShareProfit(ctx, held, first.OrderNo, []polypay.ProfitSplit{{Receiver: a, Amount: 300}, {Receiver: b, Amount: 100}}, false)
			if err != nil || again.ShareID != first.ShareID {
				t.Fatalf("the same order again = %+v, %v; want order %s", again, err, first.ShareID)
			}
		}},
		{"Query", func(t *testing.T) {
			q, err := ps.QueryShare(ctx, held, first.OrderNo)
			if err != nil || q.ShareID != first.ShareID || len(q.Splits) != 2 {
				t.Fatalf("QueryShare = %+v, %v", q, err)
			}
			if _, err := ps.QueryShare(ctx, held, "PSNONE"+held.ID[3:12]); polypay.ErrorCode(err) != polypay.ENotFound {
				t.Fatalf("QueryShare of an unknown order = %v, want ENotFound", err)
			}
		}},
		{"ErrRefused", func(t *testing.T) {
			for name, sp := range map[string]polypay.ProfitSplit{
				"more than is left":  {Receiver: a, Amount: 601},
				"an unknown account": {Receiver: polypay.ProfitReceiver{Type: a.Type, Account: "1234567890"}, Amount: 1},
			} {
				if _, err := ps.ShareProfit(ctx, held, polypay.NewID("PS")[:20], []polypay.ProfitSplit{sp}, false); err == nil {
					t.Errorf("a split to %s was accepted", name)
				}
			}
		}},
		{"Return", func(t *testing.T) {
			if h.NoReturn != "" {
				if _, err := ps.ReturnShare(ctx, held, first.OrderNo, "PR1"+held.ID[3:12], a, 100, "退款"); polypay.ErrorCode(err) != polypay.ENotSupported {
					t.Fatalf("ReturnShare with NoReturn (%s) = %v, want ErrNotSupported", h.NoReturn, err)
				}
				return
			}
			r, err := ps.ReturnShare(ctx, held, first.OrderNo, "PR1"+held.ID[3:12], a, 100, "退款")
			if err != nil || r.Amount != 100 || r.Result == "FAILED" {
				t.Fatalf("ReturnShare = %+v, %v", r, err)
			}
			if _, err := ps.ReturnShare(ctx, held, first.OrderNo, "PR2"+held.ID[3:12], a, 201, "退款"); err == nil {
				t.Fatal("more than the receiver's share was taken back")
			}
		}},
		{"Finish", func(t *testing.T) {
			f, err := ps.FinishShare(ctx, held, "PSEND"+held.ID[3:12], "完结")
			if err != nil || f.State != "FINISHED" {
				t.Fatalf("FinishShare = %+v, %v", f, err)
			}
			if _, err := ps.ShareProfit(ctx, held, polypay.NewID("PS")[:20], []polypay.ProfitSplit{{Receiver: a, Amount: 1}}, false); err == nil {
				t.Fatal("a finished charge was shared again")
			}
		}},
	})
}
