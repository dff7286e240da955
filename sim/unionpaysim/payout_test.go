package unionpaysim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// payoutReq is a signed payout request to card and name (b2c), the card
// encrypted when enc is set.
func (b *backend) payoutReq(t *testing.T, orderID, card, name string, amount int64, enc bool, mod func(map[string]string)) map[string]string {
	t.Helper()
	return b.request(txnPayout, orderID, merchantKey, func(v map[string]string) {
		delete(v, "frontUrl")
		v["txnSubType"], v["bizType"], v["channelType"], v["txnAmt"] = "00", bizPayout, "07", strconv.FormatInt(amount, 10)
		v["accNo"], v["customerInfo"] = card, base64.StdEncoding.EncodeToString([]byte("{customerNm="+name+"}"))
		if enc {
			ct, err := rsa.EncryptPKCS1v15(rand.Reader, &b.sim.encKey.PublicKey, []byte(card))
			if err != nil {
				t.Fatal(err)
			}
			v["accNo"], v["encryptCertId"] = base64.StdEncoding.EncodeToString(ct), b.sim.encCertID
		}
		if mod != nil {
			mod(v)
		}
	})
}

func (b *backend) back(t *testing.T, v map[string]string) map[string]string {
	t.Helper()
	_, body := post(t, b.srv.URL+"/gateway/api/backTransReq.do", v)
	return answer(t, body)
}

// TestPayoutRequests checks what a payout request must carry: each
// malformed one is refused with UnionPay's code and recorded nowhere.
func TestPayoutRequests(t *testing.T) {
	b := newBackend(t)
	card, name := PayeeCard.Card, PayeeCard.Name
	tests := []struct {
		name string
		enc  bool
		mod  func(map[string]string)
		code string
	}{
		{"OKEncrypted", true, nil, "00"},
		{"OKPlain", false, nil, "00"},
		{"OKCompany", false, func(v map[string]string) {
			delete(v, "customerInfo")
			v["accNo"], v["accType"], v["reserved"] = PayeeCompany.Card, "04", "{comDebitCardAccName="+PayeeCompany.Name+"}"
		}, "00"},
		{"ErrNoAccNo", false, func(v map[string]string) { delete(v, "accNo") }, "13"},
		{"ErrNoCustomerInfo", false, func(v map[string]string) { delete(v, "customerInfo") }, "13"},
		{"ErrCustomerInfoNotBase64", false, func(v map[string]string) { v["customerInfo"] = "{customerNm=张三}" }, "13"},
		{"ErrCompanyNoName", false, func(v map[string]string) { v["accType"], v["reserved"] = "04", "{x=1}" }, "13"},
		{"ErrAccType", false, func(v map[string]string) { v["accType"] = "09" }, "10"},
		{"ErrBizType", false, func(v map[string]string) { v["bizType"] = "000201" }, "10"},
		{"ErrSubType", false, func(v map[string]string) { v["txnSubType"] = "01" }, "10"},
		{"ErrCurrency", false, func(v map[string]string) { v["currencyCode"] = "840" }, "10"},
		{"ErrAccNoLetters", false, func(v map[string]string) { v["accNo"] = "6216x" }, "10"},
		{"ErrEncryptCertID", true, func(v map[string]string) { v["encryptCertId"] = "1" }, "10"},
		{"ErrCiphertext", true, func(v map[string]string) { v["accNo"] = base64.StdEncoding.EncodeToString(make([]byte, 256)) }, "10"},
		{"ErrPlainAccNoAsCiphertext", false, func(v map[string]string) { v["encryptCertId"] = b.sim.encCertID }, "10"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := "po" + strconv.Itoa(100000+i) + "x"
			a := b.back(t, b.payoutReq(t, orderID, card, name, 100, tc.enc, tc.mod))
			if a["respCode"] != tc.code {
				t.Fatalf("respCode %s %s, want %s", a["respCode"], a["respMsg"], tc.code)
			}
			_, recorded := b.sim.Payout(merID, orderID)
			if recorded != (tc.code == "00") || (tc.code == "00" && len(a["queryId"]) != 21) {
				t.Fatalf("recorded %v, queryId %q", recorded, a["queryId"])
			}
		})
	}
	t.Run("ErrSignature", func(t *testing.T) {
		v := b.payoutReq(t, "poSigned001", card, name, 100, false, nil)
		v["txnAmt"] = "1000000"
		if a := b.back(t, v); a["respCode"] != "11" {
			t.Fatalf("a payout changed after signing: respCode %s, want 11", a["respCode"])
		}
	})
}

// TestPayoutFunds: acceptance holds the amount, a failure gives it back,
// short funds (64) and a card's daily limit (33) refuse on the spot, and a
// repeat (12) is one payout in the books.
func TestPayoutFunds(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	if got := b.sim.Funds(merID); got != DefaultPayoutFunds {
		t.Fatalf("funds at first = %d, want %d", got, DefaultPayoutFunds)
	}
	b.sim.SetFunds(merID, 10_000)
	steps := []struct {
		name          string
		order, card   string
		who           string
		amount        int64
		code          string
		funds         int64 // after the request
		decide, after string
		fundsDecided  int64
	}{
		{"OKHeld", "pofunds001", PayeeCard.Card, PayeeCard.Name, 4_000, "00", 6_000, "", "00", 6_000},
		{"OKFailedGivesBack", "pofunds002", UnknownCard, "某人", 5_000, "00", 1_000, "", CodeCardInvalid, 6_000},
		{"ErrNotEnough", "pofunds003", PayeeCard.Card, PayeeCard.Name, 6_001, CodeNotEnough, 6_000, "", "", 6_000},
		{"ErrRepeated", "pofunds001", PayeeCard.Card, PayeeCard.Name, 1, "12", 6_000, "", "", 6_000},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			a := b.back(t, b.payoutReq(t, s.order, s.card, s.who, s.amount, true, nil))
			if a["respCode"] != s.code || b.sim.Funds(merID) != s.funds {
				t.Fatalf("respCode %s, funds %d; want %s, %d", a["respCode"], b.sim.Funds(merID), s.code, s.funds)
			}
			if s.after == "" {
				return
			}
			if got, err := b.sim.DecidePayout(ctx, merID, s.order, s.decide); err != nil || got != s.after || b.sim.Funds(merID) != s.fundsDecided {
				t.Fatalf("decided %s, %v, funds %d; want %s, %d", got, err, b.sim.Funds(merID), s.after, s.fundsDecided)
			}
		})
	}
	t.Run("ErrDailyLimit", func(t *testing.T) {
		b.sim.SetFunds(merID, DefaultPayoutFunds)
		limit := PayeeLimited.DailyLimit
		if a := b.back(t, b.payoutReq(t, "polimit001", PayeeLimited.Card, PayeeLimited.Name, limit, false, nil)); a["respCode"] != "00" {
			t.Fatalf("the card's whole limit: respCode %s", a["respCode"])
		}
		if a := b.back(t, b.payoutReq(t, "polimit002", PayeeLimited.Card, PayeeLimited.Name, 1, false, nil)); a["respCode"] != CodeOverLimit {
			t.Fatalf("one fen past the limit: respCode %s, want %s", a["respCode"], CodeOverLimit)
		}
		// A failed payout frees its share of the limit.
		if _, err := b.sim.DecidePayout(ctx, merID, "polimit001", "30"); err != nil {
			t.Fatal(err)
		}
		if a := b.back(t, b.payoutReq(t, "polimit003", PayeeLimited.Card, PayeeLimited.Name, 1, false, nil)); a["respCode"] != "00" {
			t.Fatalf("after the failure: respCode %s, want 00", a["respCode"])
		}
	})
	t.Run("BooksOncePerOrder", func(t *testing.T) {
		n := 0
		for _, p := range b.sim.Payouts() {
			if p.OrderID == "pofunds001" {
				n++
				if p.State != PayoutPaid || p.Amount != 4_000 || !p.Accepted || strings.Contains(p.Card, "0000000") {
					t.Fatalf("snapshot %+v", p)
				}
			}
		}
		if n != 1 {
			t.Fatalf("pofunds001 is %d times in the books", n)
		}
		if p, _ := b.sim.Payout(merID, "pofunds003"); p.State != PayoutFailed || p.Accepted || p.RespCode != CodeNotEnough {
			t.Fatalf("refused payout's snapshot %+v", p)
		}
	})
}

// TestPayoutQueryDecides: a query finds the payout processing only until
// it decides it (except on a Hold card), then paid with its traceTime; the
// notification follows, signed, with respCode 00.
func TestPayoutQueryDecides(t *testing.T) {
	b := newBackend(t)
	for _, p := range []Payee{PayeeCard, PayeeHeld} {
		order := "poquery" + p.Card[len(p.Card)-6:]
		v := b.payoutReq(t, order, p.Card, p.Name, 100, false, func(v map[string]string) { v["backUrl"] = b.hook.URL })
		if a := b.back(t, v); a["respCode"] != "00" {
			t.Fatalf("respCode %s", a["respCode"])
		}
		q := b.request("00", order, merchantKey, func(q map[string]string) {
			q["txnSubType"], q["bizType"], q["txnTime"] = "00", "000000", v["txnTime"]
		})
		_, body := post(t, b.srv.URL+"/gateway/api/queryTrans.do", q)
		a := answer(t, body)
		want := "00"
		if p.Hold {
			want = CodeAccepted
		}
		if a["respCode"] != "00" || a["origRespCode"] != want || a["txnType"] != txnPayout || (want == "00") != (a["traceTime"] != "") {
			t.Fatalf("%s: query answered %s", p.Name, body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		got := append([]url.Values(nil), b.notified...)
		b.mu.Unlock()
		if len(got) == 1 {
			n := got[0]
			if n.Get("txnType") != txnPayout || n.Get("bizType") != bizPayout || n.Get("respCode") != "00" || n.Get("signature") == "" ||
				strings.Contains(n.Encode(), PayeeCard.Card) {
				t.Fatalf("notification %v", n)
			}
			return
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d notifications, want one (the held payout's not yet)", len(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTestEndpoints: the top-up, funds, decide and payout endpoints, and
// what they refuse.
func TestTestEndpoints(t *testing.T) {
	b := newBackend(t)
	b.sim.SetFunds(merID, 0)
	if a := b.back(t, b.payoutReq(t, "potest0001", PayeeHeld.Card, PayeeHeld.Name, 1, false, nil)); a["respCode"] != CodeNotEnough {
		t.Fatalf("respCode %s with no funds", a["respCode"])
	}
	b.sim.SetFunds(merID, 500)
	if a := b.back(t, b.payoutReq(t, "potest0002", PayeeHeld.Card, PayeeHeld.Name, 200, false, nil)); a["respCode"] != "00" {
		t.Fatalf("respCode %s", a["respCode"])
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the answer
	}{
		{"OKTopUp", "POST", "/payout/topup", `{"merId":"` + merID + `","amount":1000}`, 200, `"funds":1300`},
		{"OKFunds", "GET", "/payout/funds?merId=" + merID, "", 200, `"funds":1300`},
		{"OKPayout", "GET", "/payout?merId=" + merID + "&orderId=potest0002", "", 200, `"state":"processing"`},
		{"OKDecide", "POST", "/payout/decide", `{"merId":"` + merID + `","orderId":"potest0002","respCode":"00"}`, 200, `"state":"paid"`},
		{"OKRefusedPayout", "GET", "/payout?merId=" + merID + "&orderId=potest0001", "", 200, `"respCode":"64"`},
		{"ErrTopUpNegative", "POST", "/payout/topup", `{"merId":"` + merID + `","amount":-1}`, 400, "out of range"},
		{"ErrTopUpOverflow", "POST", "/payout/topup", `{"merId":"` + merID + `","amount":9223372036854775807}`, 400, "out of range"},
		{"ErrTopUpUnknownMerchant", "POST", "/payout/topup", `{"merId":"777000000000000","amount":1}`, 404, "unknown merId"},
		{"ErrTopUpNotJSON", "POST", "/payout/topup", `merId=1`, 400, "JSON"},
		{"ErrTopUpUnknownField", "POST", "/payout/topup", `{"merId":"` + merID + `","amount":1,"fen":1}`, 400, "JSON"},
		{"ErrDecideNoPayout", "POST", "/payout/decide", `{"merId":"` + merID + `","orderId":"nothing0"}`, 404, "no such payout"},
		{"ErrDecideProcessingCode", "POST", "/payout/decide", `{"merId":"` + merID + `","orderId":"potest0002","respCode":"05"}`, 400, "no final"},
		{"ErrDecideUnknownCode", "POST", "/payout/decide", `{"merId":"` + merID + `","orderId":"potest0002","respCode":"Q1"}`, 400, "no final"},
		{"ErrFundsNoMerchant", "GET", "/payout/funds", "", 404, "unknown merId"},
		{"ErrTopUpGet", "GET", "/payout/topup?merId=" + merID, "", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, b.srv.URL+TestPrefix+tc.path, strings.NewReader(tc.body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(res.Body)
			if res.StatusCode != tc.status || !strings.Contains(buf.String(), tc.want) {
				t.Fatalf("HTTP %d %s, want %d with %q", res.StatusCode, buf.String(), tc.status, tc.want)
			}
		})
	}
}

func FuzzCustomerInfo(f *testing.F) {
	for _, s := range []string{"{customerNm=张三}", "{customerNm=全渠道&certifTp=01&certifId=510265790128303}",
		"{customerNm=a&encryptedInfo=QUJD==}", "{}", "{customerNm=a&customerNm=b}", "{=}", "{a}", "customerNm=a", "{{customerNm=a}}"} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, info string) {
		name, ok := customerName(info)
		if ok != (name != "") || strings.ContainsAny(name, "{}&") {
			t.Fatalf("customerName(%q) = %q, %v", info, name, ok)
		}
		if ok {
			// What the connector would send for that name reads the same.
			again, ok2 := customerName(base64.StdEncoding.EncodeToString([]byte("{customerNm=" + name + "}")))
			if !ok2 || again != name {
				t.Fatalf("round trip of %q: %q, %v", name, again, ok2)
			}
		}
	})
}

func FuzzDecryptAccNo(f *testing.F) {
	s := New(Options{})
	defer s.Close()
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &s.encKey.PublicKey, []byte(PayeeCard.Card))
	f.Add(base64.StdEncoding.EncodeToString(ct), s.encCertID)
	f.Add(PayeeCard.Card, "")
	f.Add("", "")
	f.Add("!!", s.encCertID)
	f.Add(strings.Repeat("1", 33), "")
	f.Fuzz(func(t *testing.T, acc, certID string) {
		got, e := s.decryptAccNo(map[string]string{"accNo": acc, "encryptCertId": certID})
		if e != nil {
			if got != "" || (e.code != "10") {
				t.Fatalf("decryptAccNo = %q, %+v", got, e)
			}
			return
		}
		if got == "" || len(got) > 32 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("decryptAccNo accepted %q", got)
		}
	})
}

// FuzzTestEndpoints posts any body to the test endpoints: an answer in
// JSON, never a server error, and funds never negative.
func FuzzTestEndpoints(f *testing.F) {
	b := &backend{}
	b.sim = New(Options{Merchant: func(id string) (*Merchant, bool) {
		return &Merchant{MerID: id, CertID: "1", PublicKey: &merchantKey.PublicKey}, id == merID
	}})
	defer b.sim.Close()
	h := b.sim
	f.Add("topup", `{"merId":"`+merID+`","amount":5}`)
	f.Add("decide", `{"merId":"`+merID+`","orderId":"x","respCode":""}`)
	f.Add("topup", `{"merId":"`+merID+`","amount":1e3}`)
	f.Add("decide", `[]`)
	f.Fuzz(func(t *testing.T, what, body string) {
		path := TestPrefix + "/payout/decide"
		if what == "topup" {
			path = TestPrefix + "/payout/topup"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
		if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("HTTP %d %q", rec.Code, rec.Body.String())
		}
		if b.sim.Funds(merID) < 0 {
			t.Fatal("negative funds")
		}
	})
}
