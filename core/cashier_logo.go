package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// Logo limits. Logos are shown about 40px high (80 device pixels on a
// phone), so these leave room without letting one upload cost much memory
// to decode (1024×1024 RGBA is 4 MiB).
const (
	MaxLogoBytes = 256 << 10
	MaxLogoSide  = 1024
	MinLogoSide  = 16
	// MaxDisplayNameRunes bounds cashier_settings.display_name.
	MaxDisplayNameRunes = 64
)

// CashierLogo describes an app's cashier logo (the image itself is in the
// store, under its SHA-256, and the cashier serves it at URL).
type CashierLogo struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

// LogoPath is where the cashier serves a logo, below the node's base URL.
func LogoPath(l *CashierLogo) string {
	ext := ".png"
	if l.ContentType == "image/jpeg" {
		ext = ".jpg"
	}
	return "/cashier/static/logo/" + l.SHA256 + ext
}

// DecodeLogo checks a logo given as a data URL (data:image/png;base64,… or
// data:image/jpeg;base64,…) and returns its description and the bytes to
// store. Only PNG and JPEG are taken: SVG is a document that can carry
// script and external references, and a logo needs none of that. The image
// is decoded whole (so what is stored is known to render) and encoded
// again, which drops metadata (EXIF locations, text chunks) and anything
// after the image, so the bytes served are ones polypay wrote. Errors name
// param.
func DecodeLogo(param, dataURL string) (*CashierLogo, []byte, error) {
	typ, raw, err := splitDataURL(param, dataURL)
	if err != nil {
		return nil, nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || "image/"+format != typ {
		return nil, nil, polypay.ParamError(param, "%s 的内容不是有效的 %s 图片", param, typ)
	}
	if cfg.Width < MinLogoSide || cfg.Height < MinLogoSide || cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide {
		return nil, nil, polypay.ParamError(param, "%s 的尺寸须在 %d×%d 到 %d×%d 像素之间（现为 %d×%d）",
			param, MinLogoSide, MinLogoSide, MaxLogoSide, MaxLogoSide, cfg.Width, cfg.Height)
	}
	out, err := reencode(raw, typ)
	if err != nil {
		return nil, nil, polypay.ParamError(param, "%s 的内容不是有效的 %s 图片", param, typ)
	}
	sum := sha256.Sum256(out)
	return &CashierLogo{ContentType: typ, Width: cfg.Width, Height: cfg.Height, Size: len(out),
		SHA256: hex.EncodeToString(sum[:])}, out, nil
}

// splitDataURL reads data:<type>;base64,<data> with a type polypay takes.
func splitDataURL(param, s string) (string, []byte, error) {
	head, data, ok := strings.Cut(s, ",")
	typ, isB64 := strings.CutSuffix(strings.TrimPrefix(head, "data:"), ";base64")
	if !ok || !strings.HasPrefix(head, "data:") || !isB64 {
		return "", nil, polypay.ParamError(param, `%s 须为 base64 的 data URL，如 "data:image/png;base64,iVBORw0KGgo…"`, param)
	}
	switch typ = strings.ToLower(typ); typ {
	case "image/png", "image/jpeg":
	case "image/jpg":
		typ = "image/jpeg"
	case "image/svg+xml":
		return "", nil, polypay.ParamError(param, "%s 不接受 SVG（SVG 可含脚本与外部引用）：请导出为 PNG 或 JPEG", param)
	default:
		if !utf8.ValidString(typ) || len(typ) > 40 {
			typ = "?"
		}
		return "", nil, polypay.ParamError(param, "%s 的类型 %q 不被接受：只接受 image/png 或 image/jpeg", param, typ)
	}
	if base64.StdEncoding.DecodedLen(len(data)) > MaxLogoBytes+3 {
		return "", nil, polypay.ParamError(param, "%s 最大 %d KiB", param, MaxLogoBytes>>10)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", nil, polypay.ParamError(param, "%s 的 base64 数据无效", param)
	}
	if len(raw) > MaxLogoBytes {
		return "", nil, polypay.ParamError(param, "%s 最大 %d KiB", param, MaxLogoBytes>>10)
	}
	return typ, raw, nil
}

// reencode decodes raw (already known to be of type typ and of bounded
// size) and encodes it again in the same format.
func reencode(raw []byte, typ string) ([]byte, error) {
	var buf bytes.Buffer
	if typ == "image/png" {
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
		return buf.Bytes(), err
	}
	img, err := jpeg.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes(), err
}

// checkDisplayName checks cashier_settings.display_name: "" (none) or one
// line of at most MaxDisplayNameRunes characters without surrounding
// spaces.
func checkDisplayName(name string) error {
	if name == "" {
		return nil
	}
	n := utf8.RuneCountInString(name)
	if n > MaxDisplayNameRunes || strings.TrimSpace(name) != name || polypay.CheckText("display_name", name, polypay.Line) != nil {
		return polypay.ParamError("display_name", "display_name 须为 1-%d 个字符、首尾无空白的单行文字（\"\" 表示不显示）", MaxDisplayNameRunes)
	}
	return nil
}

// logoStore is what setting a logo needs of a write transaction.
type logoStore interface {
	PutCashierLogo(ctx context.Context, appID string, live bool, sha, contentType string, data []byte, updated int64) error
	DeleteCashierLogo(ctx context.Context, appID string, live bool) error
}

// setLogo stores the caller's new logo (a data URL), or removes it for "",
// and returns its description.
func setLogo(ctx context.Context, tx logoStore, who Caller, dataURL string, now int64) (*CashierLogo, error) {
	if dataURL == "" {
		return nil, tx.DeleteCashierLogo(ctx, who.App.ID, who.Live)
	}
	l, b, err := DecodeLogo("logo", dataURL)
	if err != nil {
		return nil, err
	}
	return l, tx.PutCashierLogo(ctx, who.App.ID, who.Live, l.SHA256, l.ContentType, b, now)
}
