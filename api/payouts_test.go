package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// with returns base (a JSON object) with the top-level keys of set
// replaced (a nil value deletes the key).
func with(t *testing.T, base string, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// wantParam checks that err is a parameter error naming param.
func wantParam(t *testing.T, err error, param string) {
	t.Helper()
	var e *polypay.Error
	if !errors.As(err, &e) || e.Code != polypay.EInvalid || e.Param != param {
		t.Fatalf("error %v, want a parameter error naming %q", err, param)
	}
}

const transferBody = `{"app":{"id":"app_x"},"channel":"alipay","order_no":"T1","amount":100,"type":"b2c","currency":"cny",
	"recipient":"payee@sandbox.com","description":"提现","extra":{"recipient_name":"沙箱环境"},"metadata":{"k":"v"}}`

func TestParseTransferParams(t *testing.T) {
	p, err := parseTransferParams([]byte(transferBody))
	if err != nil {
		t.Fatal(err)
	}
	if p.AppID != "app_x" || p.Channel != "alipay" || p.Amount != 100 || p.Type != "b2c" || string(p.Extra) != `{"recipient_name":"沙箱环境"}` {
		t.Fatalf("parsed %+v", p)
	}
	// GO leaves recipient, extra and metadata out when empty; PHP sends [].
	if _, err := parseTransferParams(with(t, transferBody, map[string]any{"recipient": nil, "extra": []any{}, "metadata": nil})); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set   map[string]any
		param string
	}{
		{map[string]any{"app": nil}, "app"},
		{map[string]any{"app": map[string]any{"ID": "app_x"}}, "app[id]"},
		{map[string]any{"channel": nil}, "channel"},
		{map[string]any{"channel": "wx_pub_qr"}, "channel"},
		{map[string]any{"channel": "bitcoin"}, "channel"},
		{map[string]any{"order_no": nil}, "order_no"},
		{map[string]any{"order_no": "T-1"}, "order_no"},
		{map[string]any{"order_no": strings.Repeat("1", 65)}, "order_no"},
		{map[string]any{"amount": nil}, "amount"},
		{map[string]any{"amount": 0}, "amount"},
		{map[string]any{"amount": -5}, "amount"},
		{map[string]any{"amount": 1.5}, "amount"},
		{map[string]any{"amount": "100"}, "amount"},
		{map[string]any{"amount": core.MaxAmount + 1}, "amount"},
		{map[string]any{"type": nil}, "type"},
		{map[string]any{"type": "c2c"}, "type"},
		{map[string]any{"currency": nil}, "currency"},
		{map[string]any{"currency": "usd"}, "currency"},
		{map[string]any{"recipient": 1}, "recipient"},
		{map[string]any{"recipient": "a\nb"}, "recipient"},
		{map[string]any{"recipient": strings.Repeat("a", 129)}, "recipient"},
		{map[string]any{"description": nil}, "description"},
		{map[string]any{"description": ""}, "description"},
		{map[string]any{"description": strings.Repeat("字", 256)}, "description"},
		{map[string]any{"extra": "x"}, "extra"},
		{map[string]any{"extra": []any{1}}, "extra"},
		{map[string]any{"metadata": map[string]any{"a": map[string]any{"b": 1}}}, "metadata[a]"},
		{map[string]any{"metadata": map[string]any{"a": strings.Repeat("v", 1000)}}, "metadata"},
		{map[string]any{"batch_no": "B1"}, "batch_no"},
	} {
		t.Run(fmt.Sprint(c.set), func(t *testing.T) {
			_, err := parseTransferParams(with(t, transferBody, c.set))
			wantParam(t, err, c.param)
		})
	}
}

func TestParseCancel(t *testing.T) {
	if err := parseCancel([]byte(`{"status":"canceled"}`)); err != nil {
		t.Fatal(err)
	}
	for raw, param := range map[string]string{
		`{}`:                                 "status",
		`{"status":"paid"}`:                  "status",
		`{"status":"canceled","amount":1}`:   "amount",
		`{"status":"canceled","status":"x"}`: "status",
	} {
		wantParam(t, parseCancel([]byte(raw)), param)
	}
}

const batchTransferBody = `{"app":"app_x","batch_no":"B2024010100001","channel":"alipay","amount":300,"description":"d","type":"b2c",
	"recipients":[{"account":"payee@sandbox.com","amount":100,"name":"沙箱环境"},{"account":"13800138000","amount":200,"name":"张三","description":"d2"}]}`

func TestParseBatchTransferParams(t *testing.T) {
	p, err := parseBatchTransferParams([]byte(batchTransferBody))
	if err != nil {
		t.Fatal(err)
	}
	if p.AppID != "app_x" || p.Currency != "cny" || len(p.Recipients) != 2 || p.Recipients[1].Description != "d2" {
		t.Fatalf("parsed %+v", p)
	}
	rec := func(r map[string]any) map[string]any {
		out := map[string]any{"account": "payee@sandbox.com", "amount": 300, "name": "沙箱环境"}
		for k, v := range r {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return map[string]any{"recipients": []any{out}}
	}
	// WeChat takes a payee without a name; force_check and card_type pass through.
	ok := rec(map[string]any{"name": nil, "force_check": true, "card_type": 0})
	ok["channel"] = "wx_pub"
	if p, err := parseBatchTransferParams(with(t, batchTransferBody, ok)); err != nil || *p.Recipients[0].ForceCheck != true || *p.Recipients[0].CardType != 0 {
		t.Fatalf("wx_pub batch: %+v %v", p, err)
	}
	for _, c := range []struct {
		set   map[string]any
		param string
	}{
		{map[string]any{"app": nil}, "app"},
		{map[string]any{"batch_no": "B123"}, "batch_no"},
		{map[string]any{"batch_no": strings.Repeat("1", 33)}, "batch_no"},
		{map[string]any{"batch_no": "B2024-0101-0001"}, "batch_no"},
		{map[string]any{"channel": "upacp"}, "channel"},
		{map[string]any{"amount": 0}, "amount"},
		{map[string]any{"currency": "usd"}, "currency"},
		{map[string]any{"type": "x"}, "type"},
		{map[string]any{"recipients": nil}, "recipients"},
		{map[string]any{"recipients": []any{}}, "recipients"},
		{map[string]any{"recipients": map[string]any{}}, "recipients"},
		{map[string]any{"recipients": []any{"x"}}, "recipients[0]"},
		{rec(map[string]any{"account": nil}), "recipients[0][account]"},
		{rec(map[string]any{"amount": 0}), "recipients[0][amount]"},
		{rec(map[string]any{"amount": "1"}), "recipients[0][amount]"},
		{rec(map[string]any{"name": nil}), "recipients[0][name]"},
		{rec(map[string]any{"name": ""}), "recipients[0][name]"},
		{rec(map[string]any{"open_bank_code": 1}), "recipients[0][open_bank_code]"},
		{rec(map[string]any{"card_type": 2}), "recipients[0][card_type]"},
		{rec(map[string]any{"force_check": "maybe"}), "recipients[0][force_check]"},
		{rec(map[string]any{"user": "u_1"}), "recipients[0][user]"},
		{map[string]any{"extra": map[string]any{}}, "extra"},
	} {
		t.Run(fmt.Sprint(c.set), func(t *testing.T) {
			_, err := parseBatchTransferParams(with(t, batchTransferBody, c.set))
			wantParam(t, err, c.param)
		})
	}
	// The error names the first bad recipient.
	raw := with(t, batchTransferBody, map[string]any{"recipients": []any{
		map[string]any{"account": "a", "amount": 1, "name": "n"},
		map[string]any{"account": "b", "amount": 1, "name": "n", "foo": 1},
		map[string]any{"account": "c", "amount": 0, "name": "n"},
	}})
	_, err = parseBatchTransferParams(raw)
	wantParam(t, err, "recipients[1][foo]")
}

const redEnvelopeBody = `{"app":{"id":"app_x"},"channel":"wx_pub","order_no":"123456789","amount":100,"currency":"cny",
	"recipient":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","subject":"活动","body":"恭喜发财","description":"备注","extra":{"send_name":"商户","nick_name":""}}`

func TestParseRedEnvelopeParams(t *testing.T) {
	if _, err := parseRedEnvelopeParams([]byte(redEnvelopeBody)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set   map[string]any
		param string
	}{
		{map[string]any{"channel": "wx"}, "channel"},
		{map[string]any{"order_no": "12a"}, "order_no"},
		{map[string]any{"order_no": strings.Repeat("1", 29)}, "order_no"},
		{map[string]any{"amount": 0}, "amount"},
		{map[string]any{"currency": "usd"}, "currency"},
		{map[string]any{"recipient": nil}, "recipient"},
		{map[string]any{"subject": strings.Repeat("a", 33)}, "subject"},
		{map[string]any{"body": nil}, "body"},
		{map[string]any{"description": nil}, "description"},
		{map[string]any{"extra": nil}, "extra"},
		{map[string]any{"extra": "x"}, "extra"},
		{map[string]any{"type": "b2c"}, "type"},
	} {
		t.Run(fmt.Sprint(c.set), func(t *testing.T) {
			_, err := parseRedEnvelopeParams(with(t, redEnvelopeBody, c.set))
			wantParam(t, err, c.param)
		})
	}
}

const batchRefundBody = `{"app":"app_x","batch_no":"BR001","description":"批量退款",
	"charges":[{"charge":"ch_a","amount":10,"description":"d","funding_source":"unsettled_funds"},"ch_b"]}`

func TestParseBatchRefundParams(t *testing.T) {
	p, err := parseBatchRefundParams([]byte(batchRefundBody))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Charges) != 2 || p.Charges[0].Amount != 10 || p.Charges[1].Charge != "ch_b" || p.Charges[1].Amount != 0 {
		t.Fatalf("parsed %+v", p)
	}
	many := make([]any, 101)
	for i := range many {
		many[i] = fmt.Sprintf("ch_%d", i)
	}
	for _, c := range []struct {
		set   map[string]any
		param string
	}{
		{map[string]any{"app": nil}, "app"},
		{map[string]any{"batch_no": "B1"}, "batch_no"},
		{map[string]any{"batch_no": strings.Repeat("1", 25)}, "batch_no"},
		{map[string]any{"charges": nil}, "charges"},
		{map[string]any{"charges": []any{}}, "charges"},
		{map[string]any{"charges": many}, "charges"},
		{map[string]any{"charges": []any{1}}, "charges[0]"},
		{map[string]any{"charges": []any{"ch_a", "ch_a"}}, "charges[1][charge]"},
		{map[string]any{"charges": []any{map[string]any{"amount": 1}}}, "charges[0][charge]"},
		{map[string]any{"charges": []any{map[string]any{"charge": "ch_a", "amount": 0}}}, "charges[0][amount]"},
		{map[string]any{"charges": []any{map[string]any{"charge": "ch_a", "funding_source": "x"}}}, "charges[0][funding_source]"},
		{map[string]any{"charges": []any{map[string]any{"charge": "ch_a", "refund": "re_1"}}}, "charges[0][refund]"},
		{map[string]any{"description": nil}, "description"},
		{map[string]any{"description": strings.Repeat("d", 256)}, "description"},
		{map[string]any{"metadata": "x"}, "metadata"},
	} {
		t.Run(fmt.Sprint(c.set), func(t *testing.T) {
			_, err := parseBatchRefundParams(with(t, batchRefundBody, c.set))
			wantParam(t, err, c.param)
		})
	}
}

// TestWalkPages: page n of a page-number list is the cursor list's n-th
// page, and a page past the end is empty.
func TestWalkPages(t *testing.T) {
	var ids []string
	for i := 25; i > 0; i-- {
		ids = append(ids, fmt.Sprintf("%018d", i))
	}
	list := func(p store.Page) (wire.List, error) {
		start := 0
		if p.StartingAfter != "" {
			for i, id := range ids {
				if id == p.StartingAfter {
					start = i + 1
				}
			}
		}
		end := min(start+p.Limit, len(ids))
		var data []any
		for _, id := range ids[start:end] {
			data = append(data, &wire.BatchTransfer{ID: id})
		}
		return wire.NewList("/v1/batch_transfers", end < len(ids), data), nil
	}
	for _, c := range []struct {
		page, first, n int
		more           bool
	}{{1, 25, 10, true}, {2, 15, 10, true}, {3, 5, 5, false}, {4, 0, 0, false}} {
		l, err := walkPages(list, store.Page{Limit: 10}, c.page)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Data) != c.n || l.HasMore != c.more {
			t.Fatalf("page %d: %d objects, has_more %v; want %d, %v", c.page, len(l.Data), l.HasMore, c.n, c.more)
		}
		if c.n > 0 && payoutID(l.Data[0]) != fmt.Sprintf("%018d", c.first) {
			t.Fatalf("page %d starts at %s, want %d", c.page, payoutID(l.Data[0]), c.first)
		}
	}
}

// fuzzPayoutParser: any body yields params or a Ping++ parameter error,
// never a panic.
func fuzzPayoutParser(f *testing.F, seed string, parse func([]byte) error) {
	f.Add([]byte(seed))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"amount":1e3}`))
	f.Add([]byte(`{"recipients":[{"account":"a","amount":1,"account":"b"}]}`))
	f.Add([]byte(`{"charges":["ch_a",{"charge":"ch_a"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := parse(raw); err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("error %v is not a parameter error", err)
		}
	})
}

func FuzzParseTransferParams(f *testing.F) {
	fuzzPayoutParser(f, transferBody, func(raw []byte) error {
		p, err := parseTransferParams(raw)
		if err == nil && (p.Amount < 1 || p.Amount > core.MaxAmount || p.Currency != "cny") {
			panic(fmt.Sprintf("accepted %+v", p))
		}
		return err
	})
}

func FuzzParseBatchTransferParams(f *testing.F) {
	fuzzPayoutParser(f, batchTransferBody, func(raw []byte) error {
		p, err := parseBatchTransferParams(raw)
		if err == nil {
			for _, r := range p.Recipients {
				if r.Amount < 1 || r.Amount > core.MaxAmount || r.Account == "" {
					panic(fmt.Sprintf("accepted recipient %+v", r))
				}
			}
		}
		return err
	})
}

func FuzzParseRedEnvelopeParams(f *testing.F) {
	fuzzPayoutParser(f, redEnvelopeBody, func(raw []byte) error {
		_, err := parseRedEnvelopeParams(raw)
		return err
	})
}

func FuzzParseBatchRefundParams(f *testing.F) {
	fuzzPayoutParser(f, batchRefundBody, func(raw []byte) error {
		p, err := parseBatchRefundParams(raw)
		if err == nil {
			seen := map[string]bool{}
			for _, it := range p.Charges {
				if seen[it.Charge] || it.Amount < 0 {
					panic(fmt.Sprintf("accepted %+v", p.Charges))
				}
				seen[it.Charge] = true
			}
		}
		return err
	})
}
