package apidoctest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const card = `{"id":"card_1","object":"card","created":1,"last4":"4242","funding":"credit","brand":"Visa","bank":"","customer":"cus_1","exp_month":12,"exp_year":2031,"fingerprint":"f"}`

const endpoint = `{"id":"we_1","object":"webhook_endpoint","app":"app_1","url":"https://shop.example/hook","livemode":false,"created":1700000000}`

// TestTransport runs exchanges with a canned server through the
// Transport: documented ones pass, and an undocumented route, reply field
// or accepted request field is reported.
func TestTransport(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		method, path string
		body         string // request
		reqCT        string // request content type; JSON if empty
		status       int
		reply        string
		ct           string // reply content type; JSON if empty
		wantErr      string // "" when the exchange must pass
	}{
		{name: "OK", method: "GET", path: "/v1/webhook_endpoints", status: 200,
			reply: `{"object":"list","url":"/v1/webhook_endpoints","has_more":false,"data":[` + endpoint + `]}`},
		{name: "OKCreate", method: "POST", path: "/v1/webhook_endpoints", body: `{"app":{"id":"app_1"},"url":"https://shop.example/hook"}`,
			status: 200, reply: endpoint},
		{name: "OKErrorOnKnownRoute", method: "GET", path: "/v1/charges/ch_x", status: 404,
			reply: `{"error":{"type":"invalid_request_error","message":"not found","param":"id"}}`},
		{name: "OKErrorOnUnknownRoute", method: "GET", path: "/v1/nowhere", status: 404,
			reply: `{"error":{"type":"invalid_request_error","message":"no route","param":"id"}}`},
		{name: "OKRefusedBadRequest", method: "POST", path: "/v1/webhook_endpoints", body: `{"app":"app_1","url":"https://x","nope":1}`,
			status: 400, reply: `{"error":{"type":"invalid_request_error","message":"unknown","param":"nope"}}`},
		{name: "OKNotAPI", method: "GET", path: "/cashier/whatever", status: 200, ct: "text/html", reply: `<p>hi</p>`},
		{name: "OKForm", method: "POST", path: "/v1/customers/cus_1/sources", body: "source=tok_1",
			reqCT: "application/x-www-form-urlencoded", status: 200, reply: card},
		{name: "ErrFormUndocumentedField", method: "POST", path: "/v1/customers/cus_1/sources", body: "source=tok_1&card%5Bnumber%5D=1",
			reqCT: "application/x-www-form-urlencoded", status: 200, reply: card, wantErr: "card"},
		{name: "ErrUndocumentedReplyField", method: "GET", path: "/v1/webhook_endpoints", status: 200,
			reply: `{"object":"list","url":"/v1/webhook_endpoints","has_more":false,"data":[` +
				strings.Replace(endpoint, `"created"`, `"secret":"x","created"`, 1) + `]}`,
			wantErr: "secret"},
		{name: "ErrUndocumentedTopLevelField", method: "POST", path: "/v1/webhook_endpoints", body: `{"app":"app_1","url":"https://x"}`,
			status: 200, reply: strings.Replace(endpoint, `{`, `{"surprise":true,`, 1), wantErr: "surprise"},
		{name: "ErrUnknownRoute", method: "GET", path: "/v1/nowhere", status: 200, reply: `{}`, wantErr: "undocumented route"},
		{name: "ErrUnknownMethod", method: "PATCH", path: "/v1/charges/ch_1", status: 200, reply: `{}`, wantErr: "undocumented route"},
		{name: "ErrAcceptedUndocumentedRequestField", method: "POST", path: "/v1/webhook_endpoints",
			body: `{"app":"app_1","url":"https://x","events":["charge.succeeded"]}`, status: 200, reply: endpoint, wantErr: "events"},
		{name: "ErrUndocumentedErrorField", method: "GET", path: "/v1/nowhere", status: 404,
			reply: `{"error":{"type":"invalid_request_error","message":"x","detail":"y"}}`, wantErr: "detail"},
		{name: "ErrWrongType", method: "GET", path: "/v1/webhook_endpoints", status: 200,
			reply: `{"object":"list","url":"/v1/webhook_endpoints","has_more":"no","data":[]}`, wantErr: "has_more"},
		{name: "ErrUnknownEventType", method: "GET", path: "/v1/events/evt_1", status: 200,
			reply:   `{"id":"evt_1","created":1,"livemode":false,"type":"charge.teleported","data":{"object":{}},"object":"event","pending_webhooks":0,"request":null}`,
			wantErr: "type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct := tc.ct
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.reply)
			}))
			defer srv.Close()
			var reports []string
			tr := newTransport(func(f string, a ...any) { reports = append(reports, fmt.Sprintf(f, a...)) }, nil, v)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
			reqCT := tc.reqCT
			if reqCT == "" {
				reqCT = "application/json"
			}
			req.Header.Set("Content-Type", reqCT)
			res, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(got) != tc.reply {
				t.Errorf("the caller read %q, want the reply %q unchanged", got, tc.reply)
			}
			switch {
			case tc.wantErr == "" && len(reports) > 0:
				t.Errorf("a documented exchange was reported: %s", reports[0])
			case tc.wantErr != "" && len(reports) == 0:
				t.Errorf("not reported, want a report naming %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(reports[0], tc.wantErr):
				t.Errorf("report %q does not name %q", reports[0], tc.wantErr)
			}
		})
	}
}
