package alipaysim

import (
	"html/template"
	"net/http"
	"sort"
)

// The payer's agreements in the simulated wallet (支付宝 → 设置 → 支付设置 →
// 免密支付/自动扣款): GET <sim>/wallet/agreements lists the agreements,
// ?agreement_no=... shows one with a terminate button (id="unsign"), which
// does what Sim.UserUnsign does.

// agreementsPath is the wallet page's path suffix, wherever the sim is
// mounted.
const agreementsPath = "/wallet/agreements"

// maxListed bounds the list; the newest come first.
const maxListed = 200

type agreementRow struct {
	No, AppID, Merchant, Product, Status string
	SignTime, UnsignTime                 string
	Normal                               bool
}

type agreementsView struct {
	Message string
	One     *agreementRow
	List    []agreementRow
}

// serveAgreements answers the wallet's agreements page.
func (s *Sim) serveAgreements(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		no := r.URL.Query().Get("agreement_no")
		if no == "" {
			renderAgreements(w, http.StatusOK, agreementsView{List: s.agreementRows()})
			return
		}
		s.showAgreement(w, no, "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("action") != "unsign" {
			renderAgreements(w, http.StatusBadRequest, agreementsView{Message: "未知的操作"})
			return
		}
		no := r.PostForm.Get("agreement_no")
		row := s.agreementRow(no)
		if row == nil {
			renderAgreements(w, http.StatusNotFound, agreementsView{Message: "协议不存在（unknown agreement）"})
			return
		}
		if err := s.UserUnsign(r.Context(), row.AppID, no); err != nil {
			renderAgreements(w, http.StatusNotFound, agreementsView{Message: err.Error()})
			return
		}
		s.showAgreement(w, no, "已解除协议（terminated）")
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sim) showAgreement(w http.ResponseWriter, no, msg string) {
	row := s.agreementRow(no)
	if row == nil {
		renderAgreements(w, http.StatusNotFound, agreementsView{Message: "协议不存在（unknown agreement）"})
		return
	}
	renderAgreements(w, http.StatusOK, agreementsView{Message: msg, One: row})
}

// agreementRow is one agreement as the wallet shows it; nil when unknown.
func (s *Sim) agreementRow(no string) *agreementRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agr.init()
	a := s.agr.byNo[no]
	if a == nil {
		return nil
	}
	row := rowOf(a)
	return &row
}

func rowOf(a *agreement) agreementRow {
	r := agreementRow{No: a.no, AppID: a.appID, Merchant: "支付宝沙箱商户 " + sellerID(a.appID),
		Product: productName(a.product), Status: a.status, SignTime: formatTime(a.signed), Normal: a.status == agreementNormal}
	if !a.unsigned.IsZero() {
		r.UnsignTime = formatTime(a.unsigned)
	}
	return r
}

func (s *Sim) agreementRows() []agreementRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]agreementRow, 0, len(s.agr.byNo))
	for _, a := range s.agr.byNo {
		rows = append(rows, rowOf(a))
	}
	// Newest first; SignTime sorts as text, agreement numbers break ties.
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].SignTime != rows[j].SignTime {
			return rows[i].SignTime > rows[j].SignTime
		}
		return rows[i].No < rows[j].No
	})
	return rows[:min(len(rows), maxListed)]
}

var agreementsTmpl = template.Must(template.New("agreements").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝 - 自动扣款协议（模拟）</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#1677ff}
dl,table{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem}
td{padding:.2rem .5rem .2rem 0}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:1px solid #1677ff;background:#fff;color:#1677ff}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>支付宝 - 自动扣款协议（模拟）</h1>
{{with .Message}}<p id="message">{{.}}</p>
{{end}}{{with .One}}<dl><dt>协议号</dt><dd id="agreement_no">{{.No}}</dd>
<dt>商户</dt><dd id="merchant">{{.Merchant}}</dd><dt>商户 app_id</dt><dd id="app_id">{{.AppID}}</dd>
<dt>产品</dt><dd id="product">{{.Product}}</dd><dt>状态</dt><dd id="status">{{.Status}}</dd>
<dt>签约时间</dt><dd id="sign_time">{{.SignTime}}</dd>
{{with .UnsignTime}}<dt>解约时间</dt><dd id="unsign_time">{{.}}</dd>{{end}}</dl>
{{if .Normal}}<form method="post" action="agreements">
<input type="hidden" name="agreement_no" value="{{.No}}">
<button id="unsign" type="submit" name="action" value="unsign">解除协议 Terminate</button>
</form>
{{end}}<p><a href="agreements">全部协议（all agreements）</a></p>
{{else}}<form method="get" action="agreements"><input name="agreement_no" placeholder="agreement_no" size="24"> <button type="submit">查看 View</button></form>
<table>{{range .List}}<tr><td><a href="agreements?agreement_no={{.No}}">{{.No}}</a></td><td>{{.AppID}}</td><td>{{.Product}}</td><td>{{.Status}}</td></tr>
{{end}}</table>
{{end}}<p class="note">polypay 支付宝模拟器钱包：不会发生真实扣款。</p>
</body>
</html>
`))

func renderAgreements(w http.ResponseWriter, status int, v agreementsView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = agreementsTmpl.Execute(w, v)
}
