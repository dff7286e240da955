package wechatpay_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"sort"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/wechatpay"
)

// agreementHarness signs on wx (wx_pub and wx_wap sign too): the
// credential is the entrustweb URL the simulator's customer opens and
// confirms; the customer ends contracts in the simulated WeChat, and is
// short of money by the simulator's contract balance. Contract
// notifications are v2 XML signed with the APIv2 key: resignV2 rewrites
// them.
func agreementHarness(e *env) *channeltest.AgreementHarness {
	return &channeltest.AgreementHarness{
		Channel:  wechatpay.ChannelApp,
		AlsoSign: []string{wechatpay.ChannelPub, wechatpay.ChannelWap},
		NewAgreement: func(contractNo string) *polypay.Agreement {
			return &polypay.Agreement{ContractNo: contractNo, Extra: json.RawMessage(`{"plan_id":"12535"}`)}
		},
		// wx is APP signing: the credential is the OpenSDK request with
		// preentrustweb's id, which the customer's WeChat opens.
		Sign: func(t *testing.T, a *polypay.Agreement, cred []byte) string {
			var app wechatpay.AppSignCredential
			if err := json.Unmarshal(cred, &app); err != nil || app.BusinessType != 12 || app.QueryInfo["pre_entrustweb_id"] == "" {
				t.Fatalf("the credential is no APP signing request: %s", cred)
			}
			id, err := e.sim.SignPreEntrust(context.Background(), app.QueryInfo["pre_entrustweb_id"])
			if err != nil {
				t.Fatalf("signing %s: %v", a.ContractNo, err)
			}
			return id
		},
		UserTerminate: func(t *testing.T, a *polypay.Agreement) {
			if err := e.sim.UserTerminateContract(context.Background(), mchID, a.ContractID); err != nil {
				t.Fatalf("the customer ending %s: %v", a.ContractID, err)
			}
		},
		DebitFails: func(t *testing.T, a *polypay.Agreement, fail bool) {
			e.sim.SetContractBalance(a.ContractID, !fail)
		},
		DebitFailCode: "NOTENOUGH",
		Resign:        resignV2,
	}
}

// resignV2 rewrites a v2 XML notification: the merchant changed, then
// signed with the APIv2 key (genuine), another key (forged), or the old
// sign kept.
func resignV2(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
	fields := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(n.Body))
	var key string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case xml.StartElement:
			key = v.Name.Local
		case xml.CharData:
			if key != "" && key != "xml" {
				fields[key] += string(v)
			}
		case xml.EndElement:
			key = ""
		}
	}
	if ch.Merchant != "" {
		fields["mch_id"] = ch.Merchant
	}
	switch sg {
	case channeltest.SignGenuine:
		fields["sign"] = md5Sign(fields, apiV2Key)
	case channeltest.SignForged:
		fields["sign"] = md5Sign(fields, strings.Repeat("F", 32))
	}
	var b bytes.Buffer
	b.WriteString("<xml>")
	for k, v := range fields {
		b.WriteString("<" + k + "><![CDATA[" + v + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
	n.Body = b.Bytes()
	return n
}

func md5Sign(fields map[string]string, key string) string {
	var kv []string
	for k, v := range fields {
		if k != "sign" && v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	d := md5.Sum([]byte(strings.Join(kv, "&") + "&key=" + key))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}
