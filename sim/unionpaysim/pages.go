package unionpaysim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
)

var pages = template.Must(template.New("").Parse(`
{{define "card"}}<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>银联在线支付（模拟）</title></head><body>
<h1>银联在线支付 <small>polypay 模拟器</small></h1>
<p>订单号 <b id="order">{{.OrderID}}</b>，金额 <b id="amount">¥{{.Amount}}</b></p>
{{if .Error}}<p id="error" style="color:#c00">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="tn" value="{{.TN}}">
<label>银行卡号 <input name="card" id="card" value="{{.Card}}" inputmode="numeric"></label><br>
<label>短信验证码 <input name="sms" id="sms" placeholder="{{.SMS}}" inputmode="numeric"></label><br>
<button name="action" value="pay" id="pay">确认付款</button>
<button name="action" value="cancel" id="cancel">放弃支付</button>
</form><p>测试卡号 {{.Card}}，短信验证码 {{.SMS}}。</p></body></html>{{end}}
{{define "message"}}<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>银联在线支付（模拟）</title></head>
<body><p id="message">{{.}}</p></body></html>{{end}}
{{define "return"}}<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>支付成功</title></head>
<body onload="document.forms[0].submit()"><p id="message">支付成功，正在返回商户……</p>
<form method="post" action="{{.URL}}">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<noscript><button>返回商户</button></noscript></form></body></html>{{end}}
{{define "apple"}}<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Apple Pay（模拟）</title></head><body>
<h1>Apple Pay <small>via UnionPay, polypay 模拟器</small></h1><p>金额 <b>¥{{.Amount}}</b></p>
<form method="post" action="{{.Action}}"><input type="hidden" name="tn" value="{{.TN}}">
<input type="hidden" name="token" value="{{.Token}}"><button id="applepay">使用 Apple Pay 支付（模拟）</button></form></body></html>{{end}}
`))

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func (s *Sim) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, name, data)
}

type cardPage struct {
	OrderID, Amount, TN, Action, Card, SMS, Error string
}

func (s *Sim) cardPage(w http.ResponseWriter, t *trade, action, errMsg string) {
	s.render(w, http.StatusOK, "card", cardPage{OrderID: t.orderID, Amount: yuan(t.amount), TN: t.tn, Action: action,
		Card: TestCard, SMS: TestSMSCode, Error: errMsg})
}

// front takes the browser's auto-submitted form. A request that does not
// verify gets UnionPay's error page with its respCode.
func (s *Sim) front(w http.ResponseWriter, r *http.Request) {
	v, e := s.readRequest(r)
	if e == nil && v["frontUrl"] == "" {
		e = fail("13", "frontUrl")
	}
	var t *trade
	if e == nil {
		t, e = s.purchase(v)
	}
	if e != nil {
		s.render(w, http.StatusOK, "message", fmt.Sprintf("交易失败 respCode=%s %s", e.code, e.msg))
		return
	}
	s.mu.Lock()
	if t.tn == "" {
		t.tn = s.numberLocked(21)
		s.byTN[t.tn] = t
	}
	s.mu.Unlock()
	s.cardPage(w, t, "../../cashier/pay", "")
}

func (s *Sim) byTn(tn string) *trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byTN[tn]
}

// cashier is the card-entry page for a tn (what the in-app control shows).
func (s *Sim) cashier(w http.ResponseWriter, r *http.Request) {
	t := s.byTn(r.URL.Query().Get("tn"))
	if t == nil {
		s.render(w, http.StatusNotFound, "message", "tn 不存在")
		return
	}
	s.cardPage(w, t, "cashier/pay", "")
}

// Luhn reports whether a card number passes the Luhn check.
func Luhn(n string) bool {
	if len(n) < 16 || len(n) > 19 {
		return false
	}
	sum := 0
	for i := 0; i < len(n); i++ {
		d := int(n[len(n)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func (s *Sim) cashierPay(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	t := s.byTn(r.PostForm.Get("tn"))
	if t == nil {
		s.render(w, http.StatusNotFound, "message", "tn 不存在")
		return
	}
	if r.PostForm.Get("action") == "cancel" {
		s.settle(r.Context(), t, false, "")
		s.render(w, http.StatusOK, "message", "支付已取消")
		return
	}
	card := strings.ReplaceAll(r.PostForm.Get("card"), " ", "")
	if !Luhn(card) {
		s.cardPage(w, t, "pay", "卡号无效（61 输入的卡号无效，请确认后输入）")
		return
	}
	if r.PostForm.Get("sms") != TestSMSCode {
		s.cardPage(w, t, "pay", "短信验证码错误")
		return
	}
	if err := s.settle(r.Context(), t, true, card); err != nil {
		s.render(w, http.StatusOK, "message", err.Error())
		return
	}
	if t.frontURL == "" {
		s.render(w, http.StatusOK, "message", "支付成功")
		return
	}
	s.render(w, http.StatusOK, "return", struct {
		URL    string
		Fields url.Values
	}{t.frontURL, s.frontFields(t)})
}

// ApplePayToken is the simulated PKPaymentToken: Apple's real paymentData
// is encrypted to the merchant's payment processing certificate; here
// data is the decrypted payload itself, base64 JSON, so the sim can check
// that it pays this tn's amount in CNY with a valid card.
type ApplePayToken struct {
	PaymentData struct {
		Version   string `json:"version"`
		Data      string `json:"data"`
		Signature string `json:"signature"`
		Header    struct {
			EphemeralPublicKey string `json:"ephemeralPublicKey"`
			PublicKeyHash      string `json:"publicKeyHash"`
			TransactionID      string `json:"transactionId"`
		} `json:"header"`
	} `json:"paymentData"`
	PaymentMethod struct {
		DisplayName string `json:"displayName"`
		Network     string `json:"network"`
		Type        string `json:"type"`
	} `json:"paymentMethod"`
	TransactionIdentifier string `json:"transactionIdentifier"`
}

// applePayload is the decrypted paymentData.data.
type applePayload struct {
	PAN             string `json:"applicationPrimaryAccountNumber"`
	Expiration      string `json:"applicationExpirationDate"`
	CurrencyCode    string `json:"currencyCode"`
	Amount          int64  `json:"transactionAmount"`
	DeviceID        string `json:"deviceManufacturerIdentifier"`
	PaymentDataType string `json:"paymentDataType"`
	PaymentData     struct {
		Cryptogram string `json:"onlinePaymentCryptogram"`
	} `json:"paymentData"`
}

// NewApplePayToken makes a simulated token paying amount fen with card.
func NewApplePayToken(amount int64, card string) []byte {
	rnd := make([]byte, 32)
	rand.Read(rnd)
	p := applePayload{PAN: card, Expiration: "301231", CurrencyCode: "156", Amount: amount,
		DeviceID: "040010030273", PaymentDataType: "3DSecure"}
	p.PaymentData.Cryptogram = base64.StdEncoding.EncodeToString(rnd[:20])
	data, _ := json.Marshal(p)
	var t ApplePayToken
	t.PaymentData.Version = "EC_v1"
	t.PaymentData.Data = base64.StdEncoding.EncodeToString(data)
	t.PaymentData.Signature = base64.StdEncoding.EncodeToString(rnd)
	t.PaymentData.Header.EphemeralPublicKey = base64.StdEncoding.EncodeToString(rnd[:16])
	t.PaymentData.Header.PublicKeyHash = base64.StdEncoding.EncodeToString(rnd[16:])
	t.PaymentData.Header.TransactionID = hex.EncodeToString(rnd)
	t.PaymentMethod.DisplayName, t.PaymentMethod.Network, t.PaymentMethod.Type = "UnionPay "+card[len(card)-4:], "ChinaUnionPay", "debit"
	t.TransactionIdentifier = strings.ToUpper(t.PaymentData.Header.TransactionID)
	out, _ := json.Marshal(t)
	return out
}

// checkToken validates a simulated token for a trade and returns its card.
func checkToken(raw []byte, t *trade) (string, error) {
	var tok ApplePayToken
	if err := json.Unmarshal(raw, &tok); err != nil {
		return "", errors.New("token is not a PKPaymentToken")
	}
	pd := tok.PaymentData
	if pd.Version != "EC_v1" && pd.Version != "RSA_v1" {
		return "", errors.New("paymentData.version must be EC_v1 or RSA_v1")
	}
	if pd.Signature == "" || pd.Header.TransactionID == "" || !strings.EqualFold(pd.Header.TransactionID, tok.TransactionIdentifier) {
		return "", errors.New("paymentData header/signature missing or transactionIdentifier mismatch")
	}
	data, err := base64.StdEncoding.DecodeString(pd.Data)
	if err != nil {
		return "", errors.New("paymentData.data is not base64")
	}
	var p applePayload
	if err := json.Unmarshal(data, &p); err != nil {
		return "", errors.New("paymentData.data is not a payment payload")
	}
	switch {
	case !Luhn(p.PAN):
		return "", errors.New("applicationPrimaryAccountNumber invalid")
	case p.CurrencyCode != "156" || p.Amount != t.amount:
		return "", fmt.Errorf("token pays %d in %s; the order is %d in 156", p.Amount, p.CurrencyCode, t.amount)
	case p.PaymentDataType != "3DSecure" || p.PaymentData.Cryptogram == "":
		return "", errors.New("no 3DSecure onlinePaymentCryptogram")
	}
	return p.PAN, nil
}

// ApplePay pays a tn with a (simulated) Apple Pay token; success=false
// plays the customer dismissing the sheet.
func (s *Sim) ApplePay(ctx context.Context, tn string, token []byte, success bool) error {
	t := s.byTn(tn)
	if t == nil {
		return fmt.Errorf("unionpaysim: unknown tn %s", tn)
	}
	if !success {
		return s.settle(ctx, t, false, "")
	}
	card, err := checkToken(token, t)
	if err != nil {
		return fmt.Errorf("unionpaysim: Apple Pay token: %w", err)
	}
	return s.settle(ctx, t, true, card)
}

func (s *Sim) applePage(w http.ResponseWriter, r *http.Request) {
	tn := r.URL.Query().Get("tn")
	t := s.byTn(tn)
	if t == nil {
		s.render(w, http.StatusNotFound, "message", "tn 不存在")
		return
	}
	s.render(w, http.StatusOK, "apple", map[string]string{"Amount": yuan(t.amount), "TN": tn,
		"Action": "applepay/pay", "Token": string(NewApplePayToken(t.amount, TestCard))})
}

// applePay takes {"tn","token"} as JSON (answering JSON) or as a form
// (answering a page).
func (s *Sim) applePay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TN    string          `json:"tn"`
		Token json.RawMessage `json:"token"`
	}
	isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	if isJSON {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		json.Unmarshal(body, &in)
	} else {
		r.ParseForm()
		in.TN, in.Token = r.PostForm.Get("tn"), json.RawMessage(r.PostForm.Get("token"))
	}
	err := s.ApplePay(r.Context(), in.TN, in.Token, true)
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"respCode": "60", "respMsg": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"respCode": "00", "respMsg": "success"})
		return
	}
	if err != nil {
		s.render(w, http.StatusBadRequest, "message", err.Error())
		return
	}
	s.render(w, http.StatusOK, "message", "支付成功（Apple Pay）")
}
