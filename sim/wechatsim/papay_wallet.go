package wechatsim

import (
	"html/template"
	"net/http"
	"sort"
)

// The customer's contracts in the simulated wallet (我 → 服务 → 钱包 →
// 支付设置 → 自动续费): GET <sim>/wallet/contracts lists them,
// ?contract_id=… shows one with a terminate button (id="unsign") while it
// is signed, which does what Sim.UserTerminateContract does.

// maxContractsListed bounds the list; the newest come first.
const maxContractsListed = 200

type contractRow struct {
	ID, MchID, AppID, Merchant, PlanID, Code string
	DisplayAccount, OpenID, State            string
	Signed, Terminated, Mode                 string
	Active                                   bool
}

type contractsView struct {
	Message string
	One     *contractRow
	List    []contractRow
}

func (s *Sim) serveContracts(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("contract_id")
		if id == "" {
			renderContracts(w, http.StatusOK, contractsView{List: s.contractRows()})
			return
		}
		s.showContract(w, id, "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("action") != "unsign" {
			renderContracts(w, http.StatusBadRequest, contractsView{Message: "未知的操作"})
			return
		}
		id := r.PostForm.Get("contract_id")
		row := s.contractRow(id)
		if row == nil {
			renderContracts(w, http.StatusNotFound, contractsView{Message: "协议不存在（unknown contract）"})
			return
		}
		if err := s.UserTerminateContract(r.Context(), row.MchID, id); err != nil {
			renderContracts(w, http.StatusConflict, contractsView{Message: err.Error(), One: row})
			return
		}
		s.showContract(w, id, "已关闭自动扣费（terminated）")
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sim) showContract(w http.ResponseWriter, id, msg string) {
	row := s.contractRow(id)
	if row == nil {
		renderContracts(w, http.StatusNotFound, contractsView{Message: "协议不存在（unknown contract）"})
		return
	}
	renderContracts(w, http.StatusOK, contractsView{Message: msg, One: row})
}

// contractRow is one contract as the wallet shows it; nil when unknown.
func (s *Sim) contractRow(id string) *contractRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	k := s.papay.contracts[id]
	if k == nil {
		return nil
	}
	row := rowOfContract(k)
	return &row
}

func rowOfContract(k *contract) contractRow {
	r := contractRow{ID: k.id, MchID: k.mchid, AppID: k.appid, Merchant: "微信支付沙箱商户 " + k.mchid, PlanID: k.planID,
		Code: k.code, DisplayAccount: k.displayAccount, OpenID: k.openid, State: "已开通（0）",
		Signed: v2Time(k.signed), Active: k.state == contractSigned}
	if !r.Active {
		r.State, r.Terminated, r.Mode = "已解约（1）", v2Time(k.terminated), k.mode
	}
	return r
}

func (s *Sim) contractRows() []contractRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	rows := make([]contractRow, 0, len(s.papay.contracts))
	for _, k := range s.papay.contracts {
		rows = append(rows, rowOfContract(k))
	}
	// Newest first; the times sort as text, contract ids break ties.
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Signed != rows[j].Signed {
			return rows[i].Signed > rows[j].Signed
		}
		return rows[i].ID < rows[j].ID
	})
	return rows[:min(len(rows), maxContractsListed)]
}

var contractsTmpl = template.Must(template.New("contracts").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信支付 - 自动扣费服务（模拟）</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#07c160}
dl,table{font-size:.85rem;color:#555}dt{float:left;clear:left;width:8rem}dd{margin-left:8rem}
td{padding:.2rem .5rem .2rem 0}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:1px solid #07c160;background:#fff;color:#07c160}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>微信支付 - 自动扣费服务（模拟）</h1>
{{with .Message}}<p id="message">{{.}}</p>
{{end}}{{with .One}}<dl><dt>委托代扣协议</dt><dd id="contract_id">{{.ID}}</dd>
<dt>商户</dt><dd id="merchant">{{.Merchant}}</dd><dt>appid</dt><dd id="appid">{{.AppID}}</dd>
<dt>模板 plan_id</dt><dd id="plan_id">{{.PlanID}}</dd><dt>签约协议号</dt><dd id="contract_code">{{.Code}}</dd>
<dt>开通账号</dt><dd id="contract_display_account">{{.DisplayAccount}}</dd><dt>openid</dt><dd id="openid">{{.OpenID}}</dd>
<dt>状态</dt><dd id="contract_state">{{.State}}</dd><dt>签约时间</dt><dd id="contract_signed_time">{{.Signed}}</dd>
{{with .Terminated}}<dt>解约时间</dt><dd id="contract_terminated_time">{{.}}</dd>{{end}}
{{with .Mode}}<dt>解约方式</dt><dd id="contract_termination_mode">{{.}}</dd>{{end}}</dl>
{{if .Active}}<form method="post" action="contracts">
<input type="hidden" name="contract_id" value="{{.ID}}">
<button id="unsign" type="submit" name="action" value="unsign">关闭扣费服务 Terminate</button>
</form>
{{end}}<p><a href="contracts">全部协议（all contracts）</a></p>
{{else}}<form method="get" action="contracts"><input name="contract_id" placeholder="contract_id" size="24"> <button type="submit">查看 View</button></form>
<table>{{range .List}}<tr><td><a href="contracts?contract_id={{.ID}}">{{.ID}}</a></td><td>{{.MchID}}</td><td>{{.PlanID}}</td><td>{{.DisplayAccount}}</td><td>{{.State}}</td></tr>
{{end}}</table>
{{end}}<p class="note">polypay 微信支付模拟器钱包：不会发生真实扣款。</p>
</body>
</html>
`))

func renderContracts(w http.ResponseWriter, status int, v contractsView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = contractsTmpl.Execute(w, v)
}
