package wire

import "encoding/json"

// QRCode is polypay's qr_code: the shop's printed receipt code (收款码),
// one for every wallet.
type QRCode struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	App       string          `json:"app"`
	Livemode  bool            `json:"livemode"`
	Label     string          `json:"label"`
	Amount    *int64          `json:"amount"`
	Currency  string          `json:"currency"`
	Expires   *int64          `json:"expires"`
	MaxUses   *int64          `json:"max_uses"`
	TimesUsed int64           `json:"times_used"`
	Active    bool            `json:"active"`
	URL       string          `json:"url"`
	ImagePNG  string          `json:"image_png"`
	ImageSVG  string          `json:"image_svg"`
	Metadata  json.RawMessage `json:"metadata"`
	Created   int64           `json:"created"`
}
