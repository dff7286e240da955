package channel_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

// sampleExtra is a plausible value for each required extra parameter, so
// that the next check of the connector is reached.
var sampleExtra = map[string]any{
	"success_url": "https://shop.example/done", "result_url": "https://shop.example/done",
	"scan_code": "281234567890123456", "terminal_id": "T1", "buyer_id": "2088102146225135",
	"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "product_id": "P1",
	"source": "tok_doesnotexist", "apple_pay_token": map[string]any{},
}

// TestRequiredExtras checks the descriptors' extra lists (and so
// docs/channels.md) against what creating a charge on a live node
// refuses: starting from an empty extra, each refusal naming extra[X] must
// be a parameter the descriptor calls required, and once X is given the
// next refusal is looked at; the parameters refused this way must be
// exactly the required ones.
func TestRequiredExtras(t *testing.T) {
	node, app := gatewaytest.Start(t, "extras", nil)
	n := 0
	for _, f := range channel.Families {
		for _, c := range f.Channels {
			t.Run(c.Name, func(t *testing.T) {
				var want []string
				for _, e := range c.Extra {
					if e.Required {
						want = append(want, e.Name)
					}
				}
				currency := "cny"
				if f.Name == "stripe" || f.Name == "paypal" {
					currency = "usd"
				}
				extra := map[string]any{}
				var refused []string
				for {
					n++
					param := createCharge(t, node.URL, app.SecretKeyTest, app.AppID, c.Name, currency, fmt.Sprintf("ex%08d", n), extra)
					name, ok := strings.CutPrefix(param, "extra[")
					if !ok {
						break
					}
					name = strings.TrimSuffix(name, "]")
					if _, given := extra[name]; given {
						break // the sample value itself was refused: the parameter is known
					}
					refused = append(refused, name)
					v, ok := sampleExtra[name]
					if !ok {
						t.Fatalf("creating a %s charge refused %s, which has no sample value here", c.Name, param)
					}
					extra[name] = v
				}
				slices.Sort(refused)
				slices.Sort(want)
				if !slices.Equal(refused, want) {
					t.Errorf("a %s charge refuses a missing extra %v; the descriptor says %v are required", c.Name, refused, want)
				}
			})
		}
	}
}

// createCharge returns the param of the error the node answers ("" for
// none).
func createCharge(t *testing.T, base, key, app, ch, currency, orderNo string, extra map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"order_no": orderNo, "app": map[string]string{"id": app}, "channel": ch,
		"amount": 100, "currency": currency, "client_ip": "127.0.0.1", "subject": "T-shirt", "body": "One T-shirt", "extra": extra})
	req, err := http.NewRequest(http.MethodPost, base+"/v1/charges", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	raw, _ := io.ReadAll(rsp.Body)
	var e struct {
		Error *struct {
			Param string `json:"param"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("POST /v1/charges (%s): HTTP %d %s", ch, rsp.StatusCode, raw)
	}
	if e.Error == nil {
		return ""
	}
	return e.Error.Param
}
