package cashier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/cashier"
)

// TestEveryChannelHasABrand: each channel of each family has a mark that
// the cashier serves, so no button shows a blank square.
func TestEveryChannelHasABrand(t *testing.T) {
	marks := map[string]bool{}
	for _, m := range cashier.BrandMarks() {
		marks[m] = true
	}
	for _, f := range polypay.RegisteredFamilies() {
		for _, ch := range f.ChannelNames() {
			if b := cashier.BrandOf(ch); !marks[b] {
				t.Errorf("channel %s (family %s): mark %q, want one of %v", ch, f.Name, b, cashier.BrandMarks())
			}
		}
	}
	for _, want := range []string{"alipay", "wechatpay", "unionpay", "paypal", "applepay", "card", "visa", "mastercard", "amex", "jcb", "polypay"} {
		if !marks[want] {
			t.Errorf("no %s mark", want)
		}
	}
}

// TestBrandMarksAreInertSVG: every mark is an SVG with a size (an <img>
// of it has a natural size), a title, and nothing active.
func TestBrandMarksAreInertSVG(t *testing.T) {
	nd := start(t)
	for _, m := range cashier.BrandMarks() {
		t.Run(m, func(t *testing.T) {
			res, body := get(t, nd.n.URL+"/cashier/static/brand/"+m+".svg")
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" ||
				!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
				res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("got %d %v", res.StatusCode, res.Header)
			}
			var svg struct {
				XMLName xml.Name
				Width   string `xml:"width,attr"`
				Height  string `xml:"height,attr"`
				Title   string `xml:"title"`
			}
			if err := xml.Unmarshal(body, &svg); err != nil || svg.XMLName.Local != "svg" || svg.Title == "" {
				t.Fatalf("not a titled SVG: %v %s", err, body)
			}
			if w, _ := strconv.Atoi(svg.Width); w <= 0 {
				t.Fatalf("width %q", svg.Width)
			}
			if h, _ := strconv.Atoi(svg.Height); h <= 0 {
				t.Fatalf("height %q", svg.Height)
			}
			for _, bad := range []string{"<script", "href", "on", "<foreignObject", "url("} {
				if bad == "on" {
					bad = " on" // an event attribute
				}
				if strings.Contains(strings.ToLower(string(body)), strings.ToLower(bad)) {
					t.Fatalf("mark contains %q", bad)
				}
			}
		})
	}
	for _, p := range []string{"/cashier/static/brand/nope.svg", "/cashier/static/brand/alipay.png", "/cashier/static/brand/..%2fcashier.css", "/cashier/static/logo/abc.png",
		"/cashier/static/logo/" + strings.Repeat("0", 64) + ".png"} {
		if res, _ := get(t, nd.n.URL+p); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, nd.n.URL+"/cashier/favicon.svg"); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %v", res.StatusCode, res.Header)
	}
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", desktopUA)
	req.Header.Set("Accept-Language", "en")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// testImage encodes a w×h image as a data URL of format ("png", "jpeg").
func testImage(t testing.TB, format string, w, h int) string {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 0x80, 0xff})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// TestCashierBranding: display_name and logo are checked (errors name
// the parameter), stored, served with safe headers and shown on the page.
func TestCashierBranding(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/cashier_settings"
	png64 := testImage(t, "png", 120, 48)
	pngBytes, _ := base64.StdEncoding.DecodeString(png64[strings.Index(png64, ",")+1:])
	for _, tc := range []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"ErrNameTooLong", map[string]any{"display_name": strings.Repeat("店", 65)}, "display_name"},
		{"ErrNameNewline", map[string]any{"display_name": "Acme\nShop"}, "display_name"},
		{"ErrNameSpaces", map[string]any{"display_name": " Acme"}, "display_name"},
		{"ErrNameNotString", map[string]any{"display_name": 7}, "display_name"},
		{"ErrLogoNotString", map[string]any{"logo": map[string]string{"url": "https://x"}}, "logo"},
		{"ErrLogoURL", map[string]any{"logo": "https://shop.example/logo.png"}, "logo"},
		{"ErrLogoSVG", map[string]any{"logo": "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))}, "logo"},
		{"ErrLogoGIF", map[string]any{"logo": "data:image/gif;base64,R0lGODlhAQABAAAAACw="}, "logo"},
		{"ErrLogoNotBase64", map[string]any{"logo": "data:image/png,rawbytes"}, "logo"},
		{"ErrLogoBadBase64", map[string]any{"logo": "data:image/png;base64,!!!!"}, "logo"},
		{"ErrLogoTypeMismatch", map[string]any{"logo": strings.Replace(png64, "image/png", "image/jpeg", 1)}, "logo"},
		{"ErrLogoNotAnImage", map[string]any{"logo": "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("<html>hi</html>"))}, "logo"},
		{"ErrLogoTruncated", map[string]any{"logo": "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes[:len(pngBytes)/2])}, "logo"},
		{"ErrLogoTooSmall", map[string]any{"logo": testImage(t, "png", 8, 8)}, "logo"},
		{"ErrLogoTooWide", map[string]any{"logo": testImage(t, "png", 1100, 20)}, "logo"},
		{"ErrLogoTooBig", map[string]any{"logo": "data:image/png;base64," + strings.Repeat("A", 400<<10)}, "logo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m, raw := nd.do("POST", path, tc.body)
			e, _ := m["error"].(map[string]any)
			if status != 400 || e["param"] != tc.param || e["message"] == "" {
				t.Fatalf("got %d %s, want 400 naming %s", status, raw, tc.param)
			}
		})
	}
	if _, m, raw := nd.do("GET", path, nil); m["display_name"] != "" || m["logo"] != nil {
		t.Fatalf("settings changed by refused requests: %s", raw)
	}

	s, m, raw := nd.do("POST", path, map[string]any{"display_name": "Acme 商店", "logo": png64})
	logo, _ := m["logo"].(map[string]any)
	if s != 200 || m["display_name"] != "Acme 商店" || logo["content_type"] != "image/png" || logo["width"] != 120.0 || logo["height"] != 48.0 {
		t.Fatalf("set: %d %s", s, raw)
	}
	logoURL := logo["url"].(string)
	res, body := get(t, logoURL)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'none'") || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("logo: %d %v", res.StatusCode, res.Header)
	}
	if img, err := png.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Dx() != 120 {
		t.Fatalf("served logo does not decode as the 120px PNG: %v", err)
	}

	// The page shows both.
	_, _, cu := nd.newOrder(nd.orderBody("BRAND0001"))
	_, page := nd.page(cu)
	if !strings.Contains(page, `id="merchant_name">Acme 商店<`) || !strings.Contains(page, `src="`+strings.TrimPrefix(logoURL, nd.n.URL)+`"`) {
		t.Fatalf("page lacks the merchant's name or logo:\n%s", page)
	}

	// A JPEG replaces it; the old URL is gone. An update without logo keeps it.
	_, m, raw = nd.do("POST", path, map[string]any{"logo": testImage(t, "jpeg", 64, 64)})
	logo2, _ := m["logo"].(map[string]any)
	if logo2["content_type"] != "image/jpeg" || !strings.HasSuffix(logo2["url"].(string), ".jpg") {
		t.Fatalf("jpeg: %s", raw)
	}
	if res, _ := get(t, logoURL); res.StatusCode != 404 {
		t.Fatalf("replaced logo still served: %d", res.StatusCode)
	}
	if _, m, raw = nd.do("POST", path, map[string]any{"channel_order": []string{"wx_pub_qr"}}); m["logo"] == nil || m["display_name"] != "Acme 商店" {
		t.Fatalf("unrelated update lost the branding: %s", raw)
	}
	// "" removes both.
	_, m, raw = nd.do("POST", path, map[string]any{"logo": "", "display_name": ""})
	if m["logo"] != nil || m["display_name"] != "" {
		t.Fatalf("remove: %s", raw)
	}
	if res, _ := get(t, logo2["url"].(string)); res.StatusCode != 404 {
		t.Fatalf("removed logo still served: %d", res.StatusCode)
	}
	if _, page := nd.page(cu); strings.Contains(page, `id="merchant"`) {
		t.Fatalf("page still shows the merchant block")
	}
}
