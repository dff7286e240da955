package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/paycode"
	"github.com/polypay/polypay/store/storetest"
)

// polypay's own payment codes end to end: a device registered, its
// offline codes and online codes paid as balance charges, and every way a
// code is refused.

func (e *env) device(t *testing.T, user string, body map[string]any) (secret string, index uint32, version int, id string) {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	d := ok(t, "device", e.do("POST", e.acct("/users/"+user+"/payment_code_devices"), e.sk(), body))
	return d.str("secret"), uint32(d.num("index")), int(d.num("version")), d.str("id")
}

func (e *env) scan(orderNo, code, terminal string, amount int64) *resp {
	return e.do("POST", "/v1/charges", e.sk(), map[string]any{"order_no": orderNo, "app": map[string]any{"id": e.app.AppID},
		"channel": "balance", "amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "门店消费",
		"body": "扫码付款", "extra": map[string]any{"scan_code": code, "terminal_id": terminal}})
}

func code(t *testing.T, secret string, index uint32, version int, at time.Time) string {
	t.Helper()
	c, err := paycode.Generate(secret, index, version, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPaycodeOffline: an offline code pays once; its replay, a wrong
// check digit, an amount over the device's limit, a day past its count
// and a revoked device are refused naming the parameter; the ledger agrees.
func TestPaycodeOffline(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "alice")
		ok(t, "bonus", e.bonus("PCB00001", "alice", 10000))
		secret, idx, v, id := e.device(t, "alice", map[string]any{"max_amount": 1000, "daily_count": 2})
		if secret == "" || v != 2 {
			t.Fatalf("device: secret %q version %d", secret, v)
		}
		now := time.Now()
		c1 := code(t, secret, idx, v, now.Add(-paycode.Period))
		ch := ok(t, "pay", e.scan("PC0000001", c1, "T1", 500))
		if ch.JSON["paid"] != true || ch.str("extra", "user") != "alice" || ch.str("extra", "scan_code") != "***"+c1[15:] {
			t.Fatalf("scanned charge: %s", ch.Body)
		}
		if again := ok(t, "retry", e.scan("PC0000001", c1, "T1", 500)); again.str("id") != ch.str("id") {
			t.Fatalf("a retried scan made another charge: %s", again.Body)
		}
		bad := []byte(code(t, secret, idx, v, now))
		bad[18] = '0' + (bad[18]-'0'+1)%10
		refusals := []struct {
			name  string
			r     *resp
			param string
		}{
			{"replay", e.scan("PC0000002", c1, "T1", 500), "extra[scan_code]"},
			{"check digit", e.scan("PC0000003", string(bad), "T1", 500), "extra[scan_code]"},
			{"over the limit", e.scan("PC0000004", code(t, secret, idx, v, now), "T1", 1001), "amount"},
			{"no terminal", e.do("POST", "/v1/charges", e.sk(), map[string]any{"order_no": "PC0000005", "app": map[string]any{"id": e.app.AppID},
				"channel": "balance", "amount": 1, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b",
				"extra": map[string]any{"scan_code": c1}}), "extra[terminal_id]"},
			{"too far ahead", e.scan("PC0000006", code(t, secret, idx, v, now.Add(3*paycode.Period)), "T1", 100), "extra[scan_code]"},
		}
		for _, r := range refusals {
			refused(t, r.name, r.r, 400, r.param)
		}
		ok(t, "second today", e.scan("PC0000007", code(t, secret, idx, v, now), "T1", 500))
		refused(t, "third today", e.scan("PC0000008", code(t, secret, idx, v, now.Add(paycode.Period)), "T1", 100), 400, "extra[scan_code]")
		if bal := e.balanceOf(t, "alice"); bal != 9000 {
			t.Fatalf("balance %d after two codes of 500", bal)
		}
		ok(t, "revoke", e.do("DELETE", e.acct("/users/alice/payment_code_devices/"+id), e.sk(), nil))
		s2, i2, v2, _ := e.device(t, "alice", map[string]any{"version": 1})
		ok(t, "v1 device", e.scan("PC0000009", code(t, s2, i2, v2, now), "T1", 100))
		refused(t, "revoked", e.scan("PC0000010", code(t, secret, idx, v, now.Add(paycode.Period)), "T2", 100), 400, "extra[scan_code]")
		checkLedger(t, e)
	})
}

// TestPaycodeOnline: an online code pays once, only in its app and mode.
func TestPaycodeOnline(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	e.newUser(t, "bob")
	ok(t, "bonus", e.bonus("PCB00002", "bob", 1000))
	pc := ok(t, "code", e.do("POST", e.acct("/users/bob/payment_codes"), e.sk(), nil))
	c := pc.str("code")
	if _, err := paycode.Parse(c); err != nil || pc.num("expires")-pc.num("created") != 60 {
		t.Fatalf("online code: %s", pc.Body)
	}
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/charges", other.SecretKeyTest, map[string]any{"order_no": "PCO000001", "app": map[string]any{"id": other.AppID},
		"channel": "balance", "amount": 100, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b",
		"extra": map[string]any{"scan_code": c, "terminal_id": "T1"}})
	refused(t, "another app", r, 400, "extra[scan_code]")
	ok(t, "pay", e.scan("PCO000002", c, "T1", 300))
	refused(t, "used", e.scan("PCO000003", c, "T1", 300), 400, "extra[scan_code]")
	refused(t, "unknown user", e.do("POST", e.acct("/users/nobody/payment_codes"), e.sk(), nil), 400, "user")
	if bal := e.balanceOf(t, "bob"); bal != 700 {
		t.Fatalf("balance %d", bal)
	}
}

// TestPaycodeLockouts: wrong codes lock their device (even its right code
// is refused) and the terminal that scans them.
func TestPaycodeLockouts(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	e.newUser(t, "carol")
	ok(t, "bonus", e.bonus("PCB00003", "carol", 1000))
	secret, idx, v, _ := e.device(t, "carol", nil)
	forged := code(t, "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3DOOBZ", idx, v, time.Now())
	for i := range 5 {
		refused(t, "forged", e.scan(fmt.Sprintf("PCL%06d", i), forged, fmt.Sprintf("T%d", i), 100), 400, "extra[scan_code]")
	}
	r := e.scan("PCL000010", code(t, secret, idx, v, time.Now()), "T9", 100)
	refused(t, "a locked device's right code", r, 400, "extra[scan_code]")
	for i := range 5 {
		junk, _ := paycode.NewOnline(fmt.Sprintf("%016d", i))
		refused(t, "junk", e.scan(fmt.Sprintf("PCT%06d", i), junk, "TERM", 100), 400, "extra[scan_code]")
	}
	refused(t, "locked terminal", e.scan("PCT000010", "9"+fmt.Sprint(v)+"00000000000000000", "TERM", 100), 400, "extra[terminal_id]")
}

// TestPaycodeVersions: a node accepting only version 2 refuses a
// version-1 device's codes (retired), and both stay live elsewhere.
func TestPaycodeVersions(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := start(t, b, func(c *gateway.Config) { c.PaycodeVersions = []int{2} })
	e.newUser(t, "dave")
	ok(t, "bonus", e.bonus("PCB00004", "dave", 1000))
	refused(t, "register v1", e.do("POST", e.acct("/users/dave/payment_code_devices"), e.sk(), map[string]any{"version": 1}), 400, "version")
	s2, i2, v2, _ := e.device(t, "dave", nil)
	ok(t, "v2", e.scan("PCV000001", code(t, s2, i2, v2, time.Now()), "T1", 100))
	if _, err := paycode.Parse(code(t, s2, i2, 1, time.Now())); err != nil {
		t.Fatal(err)
	}
	refused(t, "a v1 code", e.scan("PCV000002", code(t, s2, i2, 1, time.Now()), "T1", 100), 400, "extra[scan_code]")
}

// TestPaycodeTwoNodes: one offline code scanned at once at two nodes on
// one PostgreSQL (different order numbers, as two counters would) pays
// once; so does an online code.
func TestPaycodeTwoNodes(t *testing.T) {
	base := os.Getenv(storetest.EnvPostgres)
	if base == "" {
		t.Skipf("set %s to run the two-node payment-code test", storetest.EnvPostgres)
	}
	dsn := storetest.FreshSchema(t, base)
	dir := t.TempDir() // the master key both share
	var envs []*env
	for range 2 {
		n, err := gateway.Start(ctx, gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: dsn,
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), PollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(ctx) })
		envs = append(envs, &env{t: t, node: n})
	}
	app, err := envs[0].node.CreateApp(ctx, "two nodes")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		e.app = app
	}
	e := envs[0]
	e.newUser(t, "erin")
	ok(t, "bonus", e.bonus("PCB00005", "erin", 10000))
	secret, idx, v, _ := e.device(t, "erin", nil)
	online := ok(t, "online", e.do("POST", e.acct("/users/erin/payment_codes"), e.sk(), map[string]any{})).str("code")
	for round, c := range []string{code(t, secret, idx, v, time.Now()), online} {
		var wg sync.WaitGroup
		paid := make(chan int, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := envs[i%2].scan(fmt.Sprintf("PC2N%d%04d", round, i), c, fmt.Sprintf("T%d%d", round, i), 100)
				if r.Status == 200 {
					paid <- 1
				} else if r.str("error", "param") != "extra[scan_code]" {
					t.Errorf("a losing scan: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		close(paid)
		if len(paid) != 1 {
			t.Fatalf("round %d: the code paid %d times", round, len(paid))
		}
	}
	if bal := e.balanceOf(t, "erin"); bal != 10000-200 {
		t.Fatalf("balance %d", bal)
	}
	checkLedger(t, e)
}

// TestIsvScan: Ping++'s isv_scan makes the charge on the scan channel the
// code belongs to: Alipay's, WeChat's or polypay's own.
func TestIsvScan(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	e.newUser(t, "frank")
	ok(t, "bonus", e.bonus("PCB00006", "frank", 1000))
	online := ok(t, "online", e.do("POST", e.acct("/users/frank/payment_codes"), e.sk(), map[string]any{})).str("code")
	isv := func(no, code string, extra map[string]any) *resp {
		x := map[string]any{"scan_code": code, "terminal_id": "POS-9"}
		for k, v := range extra {
			x[k] = v
		}
		return e.do("POST", "/v1/charges", e.sk(), map[string]any{"order_no": no, "app": map[string]any{"id": e.app.AppID},
			"channel": "isv_scan", "amount": 100, "client_ip": "127.0.0.1", "currency": "cny", "subject": "门店", "body": "扫码",
			"extra": x})
	}
	for _, c := range []struct{ no, code, channel string }{
		{"ISV000001", "281234567890123456", "alipay_scan"},
		{"ISV000002", "134567890123456789", "wx_pub_scan"},
		{"ISV000003", online, "balance"},
		{"ISV000006", "6220123456789012345", "upacp_scan"},
	} {
		r := ok(t, c.channel, isv(c.no, c.code, nil))
		if r.str("channel") != c.channel {
			t.Fatalf("isv_scan with %s: %s", c.code, r.Body)
		}
	}
	refused(t, "unknown code", isv("ISV000004", "6312345678901234567", nil), 400, "extra[scan_code]")
	refused(t, "no terminal", isv("ISV000005", "281234567890123456", map[string]any{"terminal_id": ""}), 400, "extra[terminal_id]")
	if bal := e.balanceOf(t, "frank"); bal != 900 {
		t.Fatalf("balance %d", bal)
	}
}

// TestInStoreIsolation: another app's key, and the live key, reach none of
// an app's payment-code devices, online codes, QR codes or recharge
// refunds.
func TestInStoreIsolation(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	e.newUser(t, "gina")
	_, _, _, dev := e.device(t, "gina", nil)
	qr := ok(t, "qr", e.do("POST", e.acct("/qr_codes"), e.sk(), map[string]any{"label": "店"})).str("id")
	rec := ok(t, "recharge", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("ISOIS0001", "gina", 100, 0, 0)))
	e.pay(rec.str("charge", "id"))
	re := ok(t, "refund", e.do("POST", e.acct("/recharges/"+rec.str("id")+"/refunds"), e.sk(), map[string]any{}))
	for _, p := range []string{"/users/gina/payment_code_devices", "/users/gina/payment_code_devices/" + dev, "/qr_codes", "/qr_codes/" + qr,
		"/recharges/" + rec.str("id") + "/refunds", "/recharges/" + rec.str("id") + "/refunds/" + re.str("id")} {
		refused(t, "other app "+p, e.do("GET", e.acct(p), other.SecretKeyTest, nil), 404, "app")
		r := e.do("GET", e.acct(p), e.app.SecretKeyLive, nil)
		if r.Status == 200 && len(ids(r)) != 0 || r.Status != 200 && r.Status != 404 {
			t.Fatalf("live %s: %d %s", p, r.Status, r.Body)
		}
	}
	for _, p := range []string{"/users/gina/payment_codes", "/users/gina/payment_code_devices"} {
		refused(t, "other app POST "+p, e.do("POST", e.acct(p), other.SecretKeyTest, map[string]any{}), 404, "app")
		refused(t, "live POST "+p, e.do("POST", e.acct(p), e.app.SecretKeyLive, map[string]any{}), 400, "user")
	}
	refused(t, "other app deletes the device", e.do("DELETE", e.acct("/users/gina/payment_code_devices/"+dev), other.SecretKeyTest, nil), 404, "app")
	if r := e.do("DELETE", e.acct("/qr_codes/"+qr), e.app.SecretKeyLive, nil); r.Status != 404 {
		t.Fatalf("live key deletes a test QR code: %d %s", r.Status, r.Body)
	}
}

// TestReverseScan: a payment-code charge the customer has not confirmed
// (WeChat's 1300… code waits in USERPAYING) is canceled with Ping++'s
// reverse: closed at the channel, reversed, charge.reversed sent, and the
// customer can no longer pay it. A paid scan charge is not reversed (it is
// refunded), and other channels still refuse reverse.
func TestReverseScan(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	scan := func(no, code string) string {
		body := e.chargeBody(no, 100)
		body["channel"], body["extra"] = "wx_pub_scan", map[string]any{"scan_code": code}
		return ok(t, "create "+no, e.do("POST", "/v1/charges", e.sk(), body)).str("id")
	}
	waiting := scan("REVSCAN01", "130012345678901234")
	r := ok(t, "reverse", e.do("POST", "/v1/charges/"+waiting+"/reverse", e.sk(), map[string]any{}))
	if r.JSON["reversed"] != true || r.JSON["paid"] != false {
		t.Fatalf("reversed charge %s", r.Body)
	}
	waitFor(t, "charge.reversed", func() bool { return rc.count(waiting, "charge.reversed") == 1 })
	// The customer confirming now finds the trade closed at WeChat.
	mch, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "wx")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.node.Sandbox.WechatSim().Pay(ctx, mch, waiting, true); err == nil {
		t.Fatal("the simulator took a payment on a reversed trade")
	}
	if r := ok(t, "again", e.do("POST", "/v1/charges/"+waiting+"/reverse", e.sk(), map[string]any{})); r.JSON["reversed"] != true {
		t.Fatalf("second reverse %s", r.Body)
	}
	paid := scan("REVSCAN02", "134567890123456789")
	refused(t, "paid", e.do("POST", "/v1/charges/"+paid+"/reverse", e.sk(), map[string]any{}), 400, "id")
	body := e.chargeBody("REVSCAN03", 100)
	refused(t, "alipay_qr", e.do("POST", "/v1/charges/"+ok(t, "qr", e.do("POST", "/v1/charges", e.sk(), body)).str("id")+"/reverse", e.sk(), map[string]any{}), 400, "id")
	if n := rc.count(paid, "charge.reversed"); n != 0 {
		t.Fatalf("a paid scan charge sent charge.reversed %d times", n)
	}
}
