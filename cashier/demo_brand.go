package cashier

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// DemoStoreName is the demo store's display_name in its cashier.
const DemoStoreName = "polypay Demo Store"

// brand gives the demo app's cashier the store's name and logo, through
// the same settings call a merchant's API request makes.
func (d *demo) brand(ctx context.Context, a *core.NewApp) error {
	name, logo := DemoStoreName, DemoLogo()
	who := core.Caller{App: &polypay.App{ID: a.AppID, Name: a.Name}}
	_, err := d.c.cfg.Svc.SetCashierSettings(ctx, who, core.CashierSettingsParams{DisplayName: &name, Logo: &logo})
	return err
}

// DemoLogo is the demo store's logo as a data URL: a white T-shirt on an
// orange disc, drawn here so the store needs no image file.
func DemoLogo() string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(demoLogoPNG())
}

// logo serves the logo on the store's own pages (the cashier serves the
// copy its settings hold).
func (d *demo) logo(w http.ResponseWriter, r *http.Request) {
	serveImage(w, "image/png", "logo.png", "public, max-age=3600", demoLogoPNG())
}

func demoLogoPNG() []byte {
	const n = 96
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	orange, white := color.NRGBA{0xff, 0x7a, 0x45, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := range n {
		for x := range n {
			dx, dy := x-n/2, y-n/2
			if dx*dx+dy*dy <= (n/2)*(n/2) {
				img.Set(x, y, orange)
			}
		}
	}
	fill := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.Set(x, y, white)
			}
		}
	}
	fill(34, 28, 62, 72) // body
	fill(20, 28, 34, 44) // sleeves
	fill(62, 28, 76, 44)
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // writing to memory does not fail
	return buf.Bytes()
}

// acceptedMarks are the paths of the marks the demo store shows under
// "we accept": every family's and the card networks', once each.
func acceptedMarks() []string {
	var out []string
	seen := map[string]bool{}
	for _, ch := range polypay.CashierChannels() {
		for _, m := range append([]string{BrandOf(ch)}, cardNetworksOf(ch)...) {
			if m != "" && m != genericCard && !seen[m] {
				seen[m] = true
				out = append(out, brandPath(m))
			}
		}
	}
	return out
}

// cardNetworksOf are the network marks of a card form channel.
func cardNetworksOf(ch string) []string {
	if presents(ch, polypay.PresentCardForm) {
		return cardNetworks
	}
	return nil
}
