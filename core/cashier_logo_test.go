package core_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

func encodeImage(t testing.TB, format string, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.NRGBA{0xff, 0, 0, 0xff})
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
	return buf.Bytes()
}

func dataURL(typ string, b []byte) string {
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func TestDecodeLogo(t *testing.T) {
	pngB, jpgB := encodeImage(t, "png", 40, 20), encodeImage(t, "jpeg", 32, 32)
	withText := append(append([]byte(nil), pngB...), []byte("<script>trailing</script>")...)
	for _, tc := range []struct {
		name, in, typ string
		w, h          int
		ok            bool
	}{
		{"OKPNG", dataURL("image/png", pngB), "image/png", 40, 20, true},
		{"OKJPEG", dataURL("image/jpeg", jpgB), "image/jpeg", 32, 32, true},
		{"OKJPGAlias", dataURL("image/jpg", jpgB), "image/jpeg", 32, 32, true},
		{"OKTrailingBytesDropped", dataURL("image/png", withText), "image/png", 40, 20, true},
		{"ErrSVG", dataURL("image/svg+xml", []byte("<svg/>")), "", 0, 0, false},
		{"ErrWebP", dataURL("image/webp", pngB), "", 0, 0, false},
		{"ErrMismatch", dataURL("image/png", jpgB), "", 0, 0, false},
		{"ErrNoComma", "data:image/png;base64", "", 0, 0, false},
		{"ErrNotData", "https://shop.example/logo.png", "", 0, 0, false},
		{"ErrTooSmall", dataURL("image/png", encodeImage(t, "png", 15, 40)), "", 0, 0, false},
		{"ErrTooTall", dataURL("image/png", encodeImage(t, "png", 40, 1025)), "", 0, 0, false},
		{"ErrEmptyImage", "data:image/png;base64,", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, b, err := core.DecodeLogo("logo", tc.in)
			if !tc.ok {
				if polypay.ErrorCode(err) != polypay.EInvalid || !strings.Contains(err.Error(), "logo") {
					t.Fatalf("got %v, want an invalid-parameter error naming logo", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.ContentType != tc.typ || l.Width != tc.w || l.Height != tc.h || l.Size != len(b) || len(l.SHA256) != 64 {
				t.Fatalf("got %+v (%d bytes), want %s %dx%d", l, len(b), tc.typ, tc.w, tc.h)
			}
			if bytes.Contains(b, []byte("<script>")) {
				t.Fatal("stored bytes keep what followed the image")
			}
		})
	}
}

// FuzzDecodeLogo: any input is refused with an error naming logo, or
// gives a bounded image of the declared type whose stored bytes decode
// again to the same size.
func FuzzDecodeLogo(f *testing.F) {
	f.Add("data:image/png;base64," + base64.StdEncoding.EncodeToString(encodeImage(f, "png", 16, 16)))
	f.Add("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(encodeImage(f, "jpeg", 20, 16)))
	f.Add("data:image/svg+xml;base64,PHN2Zy8+")
	f.Add("data:image/png;base64,iVBORw0KGgo=")
	f.Add("data:,")
	f.Fuzz(func(t *testing.T, in string) {
		l, b, err := core.DecodeLogo("logo", in)
		if err != nil {
			if polypay.ErrorCode(err) != polypay.EInvalid {
				t.Fatalf("error %v is not an invalid-parameter error", err)
			}
			return
		}
		if l.ContentType != "image/png" && l.ContentType != "image/jpeg" {
			t.Fatalf("accepted type %q", l.ContentType)
		}
		if l.Width < core.MinLogoSide || l.Height < core.MinLogoSide || l.Width > core.MaxLogoSide || l.Height > core.MaxLogoSide {
			t.Fatalf("accepted size %dx%d", l.Width, l.Height)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil || "image/"+format != l.ContentType || cfg.Width != l.Width || cfg.Height != l.Height {
			t.Fatalf("stored bytes: %v %s %dx%d, want %+v", err, format, cfg.Width, cfg.Height, l)
		}
	})
}
