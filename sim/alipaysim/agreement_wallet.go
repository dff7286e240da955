package alipaysim

import (
	"context"
	"net/http"
	"sort"

	"github.com/polypay/polypay/sim/simkit"
)

// The payer's agreements in the simulated wallet (支付宝 → 设置 → 支付设置 →
// 免密支付/自动扣款): GET <sim>/wallet/agreements lists the agreements,
// ?agreement_no=... shows one with a terminate button (id="unsign"), which
// does what Sim.UserUnsign does. The page is simkit.Mandates.

// agreementsPath is the wallet page's path suffix, wherever the sim is
// mounted.
const agreementsPath = "/wallet/agreements"

// maxListed bounds the list; the newest come first.
const maxListed = 200

// serveAgreements answers the wallet's agreements page.
func (s *Sim) serveAgreements(w http.ResponseWriter, r *http.Request) {
	page := &simkit.Mandates{Title: "支付宝 - 自动扣款协议（模拟）", Color: "#1677ff", Page: "agreements", Param: "agreement_no",
		Button: "解除协议 Terminate", Note: "polypay 支付宝模拟器钱包：不会发生真实扣款。",
		Unknown: "协议不存在（unknown agreement）", Ended: "已解除协议（terminated）",
		List: s.agreementMandates, One: s.agreementMandate,
		End: func(ctx context.Context, m *simkit.Mandate) error {
			return s.UserUnsign(ctx, s.agreementApp(m.ID), m.ID)
		}}
	page.ServeHTTP(w, r)
}

// agreementApp is an agreement's app_id ("" when unknown).
func (s *Sim) agreementApp(no string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.agr.byNo[no]; a != nil {
		return a.appID
	}
	return ""
}

// agreementMandate is one agreement as the wallet shows it; nil when
// unknown.
func (s *Sim) agreementMandate(no string) *simkit.Mandate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agr.init()
	a := s.agr.byNo[no]
	if a == nil {
		return nil
	}
	m := mandateOf(a)
	return &m
}

func mandateOf(a *agreement) simkit.Mandate {
	unsigned := ""
	if !a.unsigned.IsZero() {
		unsigned = formatTime(a.unsigned)
	}
	return simkit.Mandate{ID: a.no, Active: a.status == agreementNormal,
		Facts: simkit.Facts("协议号", "agreement_no", a.no, "商户", "merchant", "支付宝沙箱商户 "+sellerID(a.appID),
			"商户 app_id", "app_id", a.appID, "产品", "product", productName(a.product), "状态", "status", a.status,
			"签约时间", "sign_time", formatTime(a.signed), "解约时间", "unsign_time", unsigned),
		Cells: []string{a.appID, productName(a.product), a.status}}
}

// agreementMandates lists the agreements, newest first (sign times sort
// as text, agreement numbers break ties).
func (s *Sim) agreementMandates() []simkit.Mandate {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := make([]*agreement, 0, len(s.agr.byNo))
	for _, a := range s.agr.byNo {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool {
		if !as[i].signed.Equal(as[j].signed) {
			return as[i].signed.After(as[j].signed)
		}
		return as[i].no < as[j].no
	})
	out := make([]simkit.Mandate, 0, min(len(as), maxListed))
	for _, a := range as[:min(len(as), maxListed)] {
		out = append(out, mandateOf(a))
	}
	return out
}
