package wechatsim

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// authScheme is the only Authorization scheme WeChat Pay API v3 accepts.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// maxSkew is how far a request timestamp may be from the sim's clock.
const maxSkew = 5 * time.Minute

// authenticate checks the Authorization header: the scheme, the five
// parameters, the merchant (by mchid) and its certificate serial, the
// timestamp window, and the SHA256withRSA signature over
// METHOD\nCANONICAL_URL\nTIMESTAMP\nNONCE\nBODY\n. Every failure is 401
// SIGN_ERROR, as WeChat Pay answers.
func (s *Sim) authenticate(method, uri, header string, body []byte, now time.Time) (*call, *apiError) {
	p, err := parseAuthorization(header)
	if err != nil {
		return nil, signError("Authorization 格式错误: " + err.Error())
	}
	m, ok := s.merchant(p["mchid"])
	if !ok || m == nil || m.PublicKey == nil {
		return nil, signError("商户号不存在或未配置 API 证书")
	}
	if p["serial_no"] != m.SerialNo {
		return nil, signError("商户证书序列号有误。请使用签名私钥匹配的证书序列号")
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil {
		return nil, signError("timestamp 不是整数")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return nil, signError("请求的时间戳已过期或超前")
	}
	msg := method + "\n" + uri + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	if err := verify(m.PublicKey, msg, p["signature"]); err != nil {
		return nil, signError("签名错误，请检查签名私钥与商户证书是否匹配、待签名串是否正确")
	}
	return &call{mchid: m.MchID, merchant: m}, nil
}

// parseAuthorization reads `SCHEME k="v",k="v",...`. Every one of mchid,
// nonce_str, timestamp, serial_no and signature must appear exactly once.
func parseAuthorization(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, authScheme+" ")
	if !ok {
		return nil, errors.New("认证类型不是 " + authScheme)
	}
	out := map[string]string{}
	for rest = strings.TrimLeft(rest, " "); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(after, `"`) {
			return nil, errors.New("参数格式应为 key=\"value\"")
		}
		val, tail, ok := strings.Cut(after[1:], `"`)
		if !ok {
			return nil, errors.New("引号未闭合")
		}
		key = strings.TrimSpace(key)
		if _, dup := out[key]; dup {
			return nil, errors.New("参数 " + key + " 重复")
		}
		out[key] = val
		tail = strings.TrimLeft(tail, " ")
		if tail != "" && tail[0] != ',' {
			return nil, errors.New("参数之间应以逗号分隔")
		}
		rest = strings.TrimLeft(strings.TrimPrefix(tail, ","), " ")
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if out[k] == "" {
			return nil, errors.New("缺少 " + k)
		}
	}
	return out, nil
}

var errSignature = errors.New("signature does not verify")

func verify(pub *rsa.PublicKey, msg, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errSignature
	}
	d := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], raw) != nil {
		return errSignature
	}
	return nil
}

// sign signs TIMESTAMP\nNONCE\nBODY\n with the platform key, the message of
// response and notification signatures.
func (s *Sim) sign(ts int64, nonce string, body []byte) (string, error) {
	d := sha256.Sum256([]byte(itoa(ts) + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, d[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// resource is an AEAD_AES_256_GCM-encrypted payload as notifications and
// /v3/certificates carry it.
type resource struct {
	OriginalType   string `json:"original_type,omitempty"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// encrypt seals plaintext with the APIv3 key (its 32 bytes as the AES-256
// key), a 12-character nonce and the associated data; the ciphertext is
// base64 of the sealed bytes with the 16-byte tag at the end.
func encrypt(apiV3Key, associatedData string, plaintext []byte) (resource, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return resource{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return resource{}, err
	}
	nonce := randomString(12, alnum)
	sealed := gcm.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return resource{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(sealed),
		AssociatedData: associatedData,
		Nonce:          nonce,
	}, nil
}

const (
	alnum  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	digits = "0123456789"
	hexLow = "0123456789abcdef"
)

func randomString(n int, alphabet string) string {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("wechatsim: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// requestID is shaped like WeChat Pay's Request-ID.
func requestID() string {
	return strings.ToUpper(randomString(2, hexLow)) + randomString(30, hexLow)
}

// uuid makes a notification id (WeChat Pay's are UUIDs).
func uuid() string {
	h := randomString(32, hexLow)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func unescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

func parseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }
