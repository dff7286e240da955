package chromium

import (
	"bytes"
	"fmt"

	"image/png"
)

// NonBlank checks that a screenshot (PNG) shows something: at least a
// hundredth of its pixels differ from the top-left one and it has more
// than a handful of colours. A page whose styles, fonts or images failed
// comes out as a flat or near-flat picture.
func NonBlank(shot []byte) error {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return fmt.Errorf("screenshot is not a PNG: %w", err)
	}
	b := img.Bounds()
	if b.Dx() < 100 || b.Dy() < 100 {
		return fmt.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgc, bb, _ := bg.RGBA()
	colours := map[[3]uint32]bool{}
	differ, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r != br || g != bgc || bl != bb {
				differ++
			}
			if len(colours) <= 64 {
				colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			}
		}
	}
	if differ*100 < total || len(colours) < 16 {
		return fmt.Errorf("screenshot looks blank: %d of %d sampled pixels differ from the background, %d colours", differ, total, len(colours))
	}
	return nil
}

// Overview is a screenshot made small enough to keep in a repository:
// decoded and encoded again at best compression.
func Overview(shot []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img)
	return out.Bytes(), err
}
