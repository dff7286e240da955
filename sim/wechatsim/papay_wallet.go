package wechatsim

import (
	"context"
	"net/http"
	"sort"

	"github.com/polypay/polypay/sim/simkit"
)

// The customer's contracts in the simulated wallet (我 → 服务 → 钱包 →
// 支付设置 → 自动续费): GET <sim>/wallet/contracts lists them,
// ?contract_id=… shows one with a terminate button (id="unsign") while it
// is signed, which does what Sim.UserTerminateContract does. The page is
// simkit.Mandates.

// maxContractsListed bounds the list; the newest come first.
const maxContractsListed = 200

func (s *Sim) serveContracts(w http.ResponseWriter, r *http.Request) {
	page := &simkit.Mandates{Title: "微信支付 - 自动扣费服务（模拟）", Color: "#07c160", Page: "contracts", Param: "contract_id",
		Button: "关闭扣费服务 Terminate", Note: "polypay 微信支付模拟器钱包：不会发生真实扣款。",
		Unknown: "协议不存在（unknown contract）", Ended: "已关闭自动扣费（terminated）",
		List: s.contractMandates, One: s.contractMandate,
		End: func(ctx context.Context, m *simkit.Mandate) error {
			return s.UserTerminateContract(ctx, s.contractMch(m.ID), m.ID)
		}}
	page.ServeHTTP(w, r)
}

// contractMch is a contract's mch_id ("" when unknown).
func (s *Sim) contractMch(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	if k := s.papay.contracts[id]; k != nil {
		return k.mchid
	}
	return ""
}

// contractMandate is one contract as the wallet shows it; nil when
// unknown.
func (s *Sim) contractMandate(id string) *simkit.Mandate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	k := s.papay.contracts[id]
	if k == nil {
		return nil
	}
	m := mandateOfContract(k)
	return &m
}

func mandateOfContract(k *contract) simkit.Mandate {
	active := k.state == contractSigned
	state, terminated, mode := "已开通（0）", "", ""
	if !active {
		state, terminated, mode = "已解约（1）", v2Time(k.terminated), k.mode
	}
	return simkit.Mandate{ID: k.id, Active: active,
		Facts: simkit.Facts("委托代扣协议", "contract_id", k.id, "商户", "merchant", "微信支付沙箱商户 "+k.mchid, "appid", "appid", k.appid,
			"模板 plan_id", "plan_id", k.planID, "签约协议号", "contract_code", k.code,
			"开通账号", "contract_display_account", k.displayAccount, "openid", "openid", k.openid, "状态", "contract_state", state,
			"签约时间", "contract_signed_time", v2Time(k.signed), "解约时间", "contract_terminated_time", terminated,
			"解约方式", "contract_termination_mode", mode),
		Cells: []string{k.mchid, k.planID, k.displayAccount, state}}
}

// contractMandates lists the contracts, newest first (contract ids break
// ties).
func (s *Sim) contractMandates() []simkit.Mandate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	ks := make([]*contract, 0, len(s.papay.contracts))
	for _, k := range s.papay.contracts {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if !ks[i].signed.Equal(ks[j].signed) {
			return ks[i].signed.After(ks[j].signed)
		}
		return ks[i].id < ks[j].id
	})
	out := make([]simkit.Mandate, 0, min(len(ks), maxContractsListed))
	for _, k := range ks[:min(len(ks), maxContractsListed)] {
		out = append(out, mandateOfContract(k))
	}
	return out
}
