package api

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/webhook"
)

// SignatureSkew is how far Pingplusplus-Request-Timestamp may be from now.
const SignatureSkew = 300 * time.Second

// verifyRequestSignature checks Pingplusplus-Signature: RSA-SHA256 over
// raw body + request target (path with /v1 and query, as sent) + timestamp
// (spec §1.4). Once the app registered a key it is required on every
// method: a secret key alone must not be able to delete or read either (the
// Ping++ SDKs sign GET and DELETE too). The variants absorb the SDKs'
// differences: NODE's trailing "?" on GETs, PHP signing POSTs without the
// query string.
func verifyRequestSignature(r *http.Request, body []byte, pubPEM string, now time.Time) error {
	sig := r.Header.Get("Pingplusplus-Signature")
	if sig == "" {
		return &polypay.Error{Code: polypay.EUnauthorized, Param: "Pingplusplus-Signature", Message: "该应用已启用请求签名验证，请求缺少 Pingplusplus-Signature"}
	}
	fail := &polypay.Error{Code: polypay.EUnauthorized, Param: "Pingplusplus-Signature", Message: "请求签名验证失败"}
	tsText := r.Header.Get("Pingplusplus-Request-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return &polypay.Error{Code: polypay.EUnauthorized, Param: "Pingplusplus-Request-Timestamp", Message: "请求缺少有效的 Pingplusplus-Request-Timestamp"}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureSkew || d < -SignatureSkew {
		return &polypay.Error{Code: polypay.EUnauthorized, Param: "Pingplusplus-Request-Timestamp", Message: "请求时间戳与服务器时间相差超过 300 秒"}
	}
	pub, err := webhook.ParsePublicKey([]byte(pubPEM))
	if err != nil {
		return fail
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fail
	}
	target := r.RequestURI
	candidates := []string{target}
	if t, ok := strings.CutSuffix(target, "?"); ok {
		candidates = append(candidates, t)
	} else if !strings.Contains(target, "?") {
		candidates = append(candidates, target+"?")
	}
	if p, _, ok := strings.Cut(target, "?"); ok {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		msg := make([]byte, 0, len(body)+len(c)+len(tsText))
		msg = append(append(append(msg, body...), c...), tsText...)
		sum := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], raw) == nil {
			return nil
		}
	}
	return fail
}

// checkRequestSignature verifies the request's signature and spends it: a
// signature is accepted once, on whichever node sees it first, until its
// timestamp leaves the window (after which the timestamp check refuses it).
// RSASSA-PKCS1-v1_5 is deterministic, so a client repeating the very same
// request within one second must wait for the next second's timestamp.
func (s *Server) checkRequestSignature(r *http.Request, body []byte, pubPEM string) error {
	now := time.Now()
	if err := verifyRequestSignature(r, body, pubPEM, now); err != nil {
		return err
	}
	ts, _ := strconv.ParseInt(r.Header.Get("Pingplusplus-Request-Timestamp"), 10, 64)
	digest := sha256.Sum256([]byte(r.Header.Get("Pingplusplus-Signature")))
	var fresh bool
	err := s.DB.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		fresh, err = tx.SpendRequestSignature(r.Context(), hex.EncodeToString(digest[:]), ts+int64(SignatureSkew/time.Second)+1)
		return err
	})
	if err != nil {
		return polypay.Errorf(polypay.EInternal, "recording the request signature: %v", err)
	}
	if !fresh {
		return &polypay.Error{Code: polypay.EUnauthorized, Param: "Pingplusplus-Signature", Message: "请求签名已被使用（重放的请求）"}
	}
	return nil
}
