package channel

import (
	"fmt"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/paypal"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// Families are the channel families polypay charges on: the one list that
// registers them (each family's descriptor lives in its folder). Their
// order is the hosted cashier's (polypay.CashierChannels). A family added
// here also needs its glue in NewRegistry, which refuses to start without,
// and its simulator in package sandbox.
var Families = []*polypay.Family{
	&alipay.Family,
	&wechatpay.Family,
	&unionpay.Family,
	&stripech.Family,
	&paypal.Family,
}

func init() { polypay.RegisterFamilies(Families...) }

// checkGlue makes sure every registered family has its glue in the
// registry, and the glue serves the family's channels.
func (r *Registry) checkGlue() error {
	for _, d := range Families {
		f, ok := r.families[d.Name]
		if !ok {
			return fmt.Errorf("channel family %s has no connector glue", d.Name)
		}
		if got, want := fmt.Sprint(f.channels()), fmt.Sprint(d.ChannelNames()); got != want {
			return fmt.Errorf("channel family %s: glue serves %s, descriptor lists %s", d.Name, got, want)
		}
	}
	if len(r.families) != len(Families) {
		return fmt.Errorf("the registry has %d channel families, the list %d", len(r.families), len(Families))
	}
	return nil
}
