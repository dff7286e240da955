package wechatsim_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
)

// v2Request is a v2 call built by hand: fields in order, signed by this
// file's own implementation (MD5, or HMAC-SHA256 with sign_type) unless
// sign is given.
type v2Request struct {
	fields [][2]string
	key    string // default apiV2Key
	sign   string
}

func v2Sign(fields [][2]string, key string) string {
	signType := ""
	for _, f := range fields {
		if f[0] == "sign_type" {
			signType = f[1]
		}
	}
	return v2SignAs(fields, key, signType)
}

// v2SignAs signs with signType's algorithm, whatever the fields say.
func v2SignAs(fields [][2]string, key, signType string) string {
	var kv []string
	for _, f := range fields {
		if f[0] != "sign" && f[1] != "" {
			kv = append(kv, f[0]+"="+f[1])
		}
	}
	sort.Strings(kv)
	msg := strings.Join(kv, "&") + "&key=" + key
	if signType == "HMAC-SHA256" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	d := md5.Sum([]byte(msg))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

// v2Reply is an answer's fields.
type v2Reply map[string]string

func (e *env) v2(t *testing.T, op string, r v2Request) v2Reply {
	t.Helper()
	return e.v2At(t, "/mmpaymkttransfers/"+op, r)
}

// v2At makes a v2 call to a path of the sim.
func (e *env) v2At(t *testing.T, path string, r v2Request) v2Reply {
	t.Helper()
	key := r.key
	if key == "" {
		key = apiV2Key
	}
	sign := r.sign
	if sign == "" {
		sign = v2Sign(r.fields, key)
	}
	var b strings.Builder
	b.WriteString("<xml>")
	for _, f := range append(r.fields, [2]string{"sign", sign}) {
		b.WriteString("<" + f[0] + "><![CDATA[" + f[1] + "]]></" + f[0] + ">")
	}
	b.WriteString("</xml>")
	return e.v2RawAt(t, path, b.String())
}

func (e *env) v2Raw(t *testing.T, op, body string) v2Reply {
	t.Helper()
	return e.v2RawAt(t, "/mmpaymkttransfers/"+op, body)
}

func (e *env) v2RawAt(t *testing.T, op, body string) v2Reply {
	t.Helper()
	resp, err := http.Post(e.base+op, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: HTTP %d %s", op, resp.StatusCode, raw)
	}
	return decodeV2(t, op, raw)
}

// decodeV2 reads a v2 body; nested elements are keyed by their dotted
// path ("hblist.hbinfo.openid").
func decodeV2(t *testing.T, op string, raw []byte) v2Reply {
	t.Helper()
	out := v2Reply{}
	dec := xml.NewDecoder(strings.NewReader(string(raw)))
	var stack []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s answered bad XML %s: %v", op, raw, err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			stack = append(stack, x.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 {
				out[strings.Join(stack[1:], ".")] += string(x)
			}
		}
	}
	return out
}

func redpack(billno string, amount string, extra ...[2]string) [][2]string {
	f := [][2]string{{"nonce_str", "n0123456789"}, {"mch_billno", billno}, {"mch_id", mchid}, {"wxappid", appid},
		{"send_name", "测试商户"}, {"re_openid", zhang.OpenID}, {"total_amount", amount}, {"total_num", "1"},
		{"wishing", "恭喜发财"}, {"client_ip", "127.0.0.1"}, {"act_name", "新年红包"}, {"remark", "感谢参与"}}
	return append(f, extra...)
}

func hbQuery(billno string) [][2]string {
	return [][2]string{{"nonce_str", "n0123456789"}, {"mch_billno", billno}, {"mch_id", mchid}, {"appid", appid}, {"bill_type", "MCHT"}}
}

func set(f [][2]string, k, v string) [][2]string {
	out := append([][2]string(nil), f...)
	for i := range out {
		if out[i][0] == k {
			out[i][1] = v
			return out
		}
	}
	return append(out, [2]string{k, v})
}

func wantV2(t *testing.T, r v2Reply, returnCode, errCode string) {
	t.Helper()
	if r["return_code"] != returnCode || (errCode != "" && r["err_code"] != errCode) {
		t.Fatalf("answer %v, want return_code %s err_code %s", r, returnCode, errCode)
	}
}

func TestRedpackRejected(t *testing.T) {
	e := newEnv(t)
	ok := redpack("100001", "100")
	cases := []struct {
		name       string
		op         string
		req        v2Request
		returnCode string
		errCode    string
	}{
		{"ErrSign", "sendredpack", v2Request{fields: ok, sign: "0123456789ABCDEF0123456789ABCDEF"}, "FAIL", "SIGN_ERROR"},
		{"ErrKey", "sendredpack", v2Request{fields: ok, key: "otherKEY0123456789abcdefghijklmn"}, "FAIL", "SIGN_ERROR"},
		{"ErrSignType", "sendredpack", v2Request{fields: set(ok, "sign_type", "RSA")}, "FAIL", "SIGN_ERROR"},
		{"ErrMerchant", "sendredpack", v2Request{fields: set(ok, "mch_id", "1234")}, "FAIL", "NO_AUTH"},
		{"ErrMissing", "sendredpack", v2Request{fields: set(ok, "send_name", "")}, "SUCCESS", "PARAM_ERROR"},
		{"ErrTotalNum", "sendredpack", v2Request{fields: set(ok, "total_num", "2")}, "SUCCESS", "PARAM_ERROR"},
		{"ErrBillNo", "sendredpack", v2Request{fields: set(ok, "mch_billno", "1-2")}, "SUCCESS", "PARAM_ERROR"},
		{"ErrBillNo29", "sendredpack", v2Request{fields: set(ok, "mch_billno", strings.Repeat("1", 29))}, "SUCCESS", "PARAM_ERROR"},
		{"ErrAppID", "sendredpack", v2Request{fields: set(ok, "wxappid", "wx_not_bound")}, "SUCCESS", "ILLEGAL_APPID"},
		{"ErrBelow1Yuan", "sendredpack", v2Request{fields: set(ok, "total_amount", "99")}, "SUCCESS", "MONEY_LIMIT"},
		{"ErrAbove200Yuan", "sendredpack", v2Request{fields: set(ok, "total_amount", "20001")}, "SUCCESS", "MONEY_LIMIT"},
		{"ErrSceneBelow", "sendredpack", v2Request{fields: redpack("100002", "29", [2]string{"scene_id", "PRODUCT_2"})}, "SUCCESS", "MONEY_LIMIT"},
		{"ErrScene", "sendredpack", v2Request{fields: redpack("100003", "100", [2]string{"scene_id", "PRODUCT_0"})}, "SUCCESS", "PARAM_ERROR"},
		{"ErrOpenID", "sendredpack", v2Request{fields: set(ok, "re_openid", "oUpF8uNoSuchUser000000000000")}, "SUCCESS", "OPENID_ERROR"},
		{"ErrSendName", "sendredpack", v2Request{fields: set(ok, "send_name", strings.Repeat("x", 33))}, "SUCCESS", "PARAM_ERROR"},
		{"ErrBillType", "gethbinfo", v2Request{fields: set(hbQuery("100001"), "bill_type", "X")}, "SUCCESS", "PARAM_ERROR"},
		{"NotFound", "gethbinfo", v2Request{fields: hbQuery("100001")}, "SUCCESS", "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantV2(t, e.v2(t, tc.op, tc.req), tc.returnCode, tc.errCode) })
	}
	for _, body := range []string{"", "not xml", "<xml><a><b>1</b></a></xml>", "<root><mch_id>1</mch_id></root>",
		"<xml><mch_id>" + mchid + "</mch_id><mch_id>" + mchid + "</mch_id></xml>"} {
		wantV2(t, e.v2Raw(t, "sendredpack", body), "FAIL", "")
	}
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds || len(e.sim.RedEnvelopes()) != 0 {
		t.Fatalf("refusals moved money (%d) or sent envelopes (%v)", got, e.sim.RedEnvelopes())
	}
}

// TestRedpack: sent (HMAC-SHA256 signed too), repeated (the same
// envelope), opened on the merchant's query; an envelope with a scene
// outside 1–200 yuan.
func TestRedpack(t *testing.T) {
	e := newEnv(t)
	sent := e.v2(t, "sendredpack", v2Request{fields: redpack("200001", "500")})
	wantV2(t, sent, "SUCCESS", "SUCCESS")
	if sent["result_code"] != "SUCCESS" || sent["send_listid"] == "" || sent["mch_billno"] != "200001" || sent["total_amount"] != "500" {
		t.Fatalf("sendredpack: %v", sent)
	}
	again := e.v2(t, "sendredpack", v2Request{fields: set(redpack("200001", "500"), "sign_type", "HMAC-SHA256")})
	if again["send_listid"] != sent["send_listid"] {
		t.Fatalf("sent again: %v, first %v", again, sent)
	}
	wantV2(t, e.v2(t, "sendredpack", v2Request{fields: redpack("200001", "501")}), "SUCCESS", "FATAL_ERROR")
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds-500 {
		t.Fatalf("funds %d, want %d", got, wechatsim.DefaultFunds-500)
	}
	q := e.v2(t, "gethbinfo", v2Request{fields: hbQuery("200001")})
	if q["status"] != "RECEIVED" || q["detail_id"] != sent["send_listid"] || q["total_amount"] != "500" ||
		q["hblist.hbinfo.openid"] != zhang.OpenID || q["hblist.hbinfo.amount"] != "500" || q["hblist.hbinfo.rcv_time"] == "" {
		t.Fatalf("gethbinfo: %v", q)
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", q["send_time"], cst); err != nil {
		t.Fatalf("send_time %q: %v", q["send_time"], err)
	}
	wantV2(t, e.v2(t, "gethbinfo", v2Request{fields: set(hbQuery("200001"), "appid", "wx_other_app_0001")}), "SUCCESS", "NOT_FOUND")
	big := e.v2(t, "sendredpack", v2Request{fields: redpack("200002", "499900", [2]string{"scene_id", "PRODUCT_8"})})
	wantV2(t, big, "SUCCESS", "SUCCESS")
	if n := len(e.sim.RedEnvelopes()); n != 2 {
		t.Fatalf("the books hold %d envelopes, want 2", n)
	}
}

// TestRedpackHeld: held, an envelope waits SENT; 24 hours later it is
// refunded; the sandbox endpoint opens another.
func TestRedpackHeld(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	s := wechatsim.New(wechatsim.Options{PrivateKey: platformKey, PublicKeyID: keyID, Merchant: merchants, Now: clk.Now, HoldPayouts: true})
	t.Cleanup(s.Close)
	e := &env{sim: s, clock: clk, base: serve(t, s)}
	for _, no := range []string{"300001", "300002"} {
		wantV2(t, e.v2(t, "sendredpack", v2Request{fields: redpack(no, "100")}), "SUCCESS", "SUCCESS")
		if q := e.v2(t, "gethbinfo", v2Request{fields: hbQuery(no)}); q["status"] != "SENT" {
			t.Fatalf("held envelope: %v", q)
		}
	}
	sandboxPost(t, e, "redpack", url.Values{"mch_billno": {"300002"}, "action": {"open"}})
	clk.Add(24 * time.Hour)
	if q := e.v2(t, "gethbinfo", v2Request{fields: hbQuery("300001")}); q["status"] != "REFUND" || q["refund_amount"] != "100" || q["refund_time"] != "2026-11-22 10:00:00" {
		t.Fatalf("unopened for 24 h: %v", q)
	}
	if q := e.v2(t, "gethbinfo", v2Request{fields: hbQuery("300002")}); q["status"] != "RECEIVED" {
		t.Fatalf("opened: %v", q)
	}
	if got := s.Funds(mchid); got != wechatsim.DefaultFunds-100 {
		t.Fatalf("funds %d, want %d (the refunded envelope's money back)", got, wechatsim.DefaultFunds-100)
	}
	if err := s.OpenRedEnvelope(mchid, "300001"); err == nil {
		t.Fatal("a refunded envelope was opened")
	}
}
