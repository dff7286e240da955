package unionpay_test

import (
	"crypto/rsa"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/unionpay"
)

func TestConformance(t *testing.T) { channeltest.Run(t, harness) }

// harness runs the connector on unionpaysim: the customer pays the app's
// tn, Apple Pay's token or the front gateway's card page; every channel
// takes pre-authorizations.
var harness = harnessWith(nil)

// harnessWith is the harness with every connector's configuration passed
// through mod (nil: as is).
func harnessWith(mod func(*unionpay.Config)) channeltest.Harness {
	return channeltest.Harness{Family: &unionpay.Family, Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
		return simWith(t, wrap, mod)
	}}
}

func simWith(t *testing.T, wrap func(http.Handler) http.Handler, mod func(*unionpay.Config)) *channeltest.Sim {
	f := newFixtureWith(t, wrap)
	with := func(c *unionpay.Config) {
		if mod != nil {
			mod(c)
		}
	}
	return &channeltest.Sim{
		MerchantID: merID,
		TradeID:    unionpay.TradeID,
		Conn:       func(t *testing.T, ch string) polypay.Channel { return f.client(t, ch, with) },
		// Another key in a certificate with the merchant's serial (so the
		// merchant's certId): only checking the signature tells them apart.
		Forger: func(t *testing.T) polypay.Channel {
			forged := selfSigned(otherKey, 69629715988, "041@"+merID+"@merchant@1")
			return f.client(t, unionpay.Family.Channels[0].Name, func(c *unionpay.Config) {
				with(c)
				c.PrivateKeyPEM, c.SignCertPEM = pemKey(otherKey), forged
			})
		},
		Charge: newCharge,
		Pay:    f.payCredential,
		Resign: func(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
			v, err := url.ParseQuery(string(n.Body))
			if err != nil {
				t.Fatal(err)
			}
			form := map[string]string{}
			for k := range v {
				form[k] = v.Get(k)
			}
			if ch.Amount != 0 {
				form["txnAmt"] = strconv.FormatInt(ch.Amount, 10)
			}
			if ch.Currency != "" {
				form["currencyCode"] = map[string]string{"cny": "156", "usd": "840", "jpy": "392"}[ch.Currency]
			}
			if ch.Merchant != "" {
				form["merId"] = ch.Merchant
			}
			key := map[channeltest.Signing]*rsa.PrivateKey{channeltest.SignGenuine: simKey, channeltest.SignForged: otherKey}[sg]
			if key != nil {
				form["signPubKeyCert"] = f.sim.SignCertPEM()
				if err := unionpay.Sign(key, form); err != nil {
					t.Fatal(err)
				}
			}
			out := url.Values{}
			for k, x := range form {
				out.Set(k, x)
			}
			n.Body = []byte(out.Encode())
			return n
		},
		PreAuth: unionpay.PreAuthChannels,
		StatementDay: func(*testing.T) string {
			return time.Now().In(time.FixedZone("CST", 8*3600)).Add(time.Hour).Format("2006-01-02")
		},
	}
}
