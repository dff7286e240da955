package wechatsim

// WeChat Pay's v2 protocol, which the red envelope calls still speak: an
// XML body of flat <xml><key>value</key>…</xml> fields, signed with the
// merchant's APIv2 key (sort the non-empty fields but sign, join them
// k=v&…, append &key=KEY, then MD5, or HMAC-SHA256 keyed by KEY when
// sign_type says so; upper-case hex), sent over TLS with the merchant's API
// certificate as the client certificate. Answers are XML too:
// return_code FAIL for a refused call (signature, certificate, XML),
// otherwise result_code and err_code say what became of it. They carry no
// signature: TLS authenticates WeChat. The entrusted debit calls (papay.go)
// speak the same XML but need no certificate, and their answers are
// signed.

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// v2Path tells whether a request path is a v2 call the sim serves,
// wherever the sim is mounted: …/mmpaymkttransfers/{sendredpack,gethbinfo}.
func v2Path(p string) (op string, ok bool) {
	i := strings.LastIndex(p, "/mmpaymkttransfers/")
	if i < 0 || strings.Contains(p, "/v3/") {
		return "", false
	}
	switch op = p[i+len("/mmpaymkttransfers/"):]; op {
	case "sendredpack", "gethbinfo":
		return op, true
	}
	return "", false
}

// v2Error is a refused v2 call: return_code FAIL, with the err_code the
// red envelope calls also give.
type v2Error struct{ code, msg string }

var (
	errXML    = &v2Error{"XML_ERROR", "输入xml参数格式错误"}
	errV2Sign = &v2Error{"SIGN_ERROR", "签名错误"}
	errCA     = &v2Error{"CA_ERROR", "请求未携带证书或证书与商户号不匹配"}
	errNoAuth = &v2Error{"NO_AUTH", "商户号不存在或未设置 APIv2 密钥"}
)

// fields is a v2 body in the order written.
type fields []field

type field struct{ k, v string }

func (f fields) get(k string) string {
	for _, x := range f {
		if x.k == k {
			return x.v
		}
	}
	return ""
}

// parseV2 reads <xml><k>v</k>…</xml>: one level of elements, each once,
// holding text (CDATA or not).
func parseV2(body []byte) (fields, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var out fields
	seen := map[string]bool{}
	depth := 0
	var key string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local != "xml":
				return nil, errors.New("root is not <xml>")
			case depth == 2:
				key = t.Name.Local
				text.Reset()
			case depth > 2:
				return nil, errors.New("nested element")
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				if seen[key] {
					return nil, errors.New("repeated field " + key)
				}
				seen[key] = true
				out = append(out, field{key, strings.TrimSpace(text.String())})
			}
			depth--
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no fields")
	}
	return out, nil
}

// v2Sign signs f's non-empty fields but sign with key: MD5 unless
// signType is HMAC-SHA256.
func v2Sign(f fields, key, signType string) string {
	var kv []string
	for _, x := range f {
		if x.k != "sign" && x.v != "" {
			kv = append(kv, x.k+"="+x.v)
		}
	}
	sort.Strings(kv)
	msg := strings.Join(kv, "&") + "&key=" + key
	if signType == "HMAC-SHA256" {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	d := md5.Sum([]byte(msg))
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

// writeV2 answers XML; numbers go bare, text in CDATA.
func writeV2(w http.ResponseWriter, f fields) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, encodeV2(f))
}

// encodeV2 writes f as a v2 body, as answers and notifications carry it.
func encodeV2(f fields) string {
	var b strings.Builder
	b.WriteString("<xml>")
	for _, x := range f {
		b.WriteString("<" + x.k + ">")
		switch {
		case nestedV2[x.k]:
			b.WriteString(x.v) // built by the sim as XML
		case isDigits(x.v):
			b.WriteString(x.v)
		default:
			b.WriteString(cdata(x.v))
		}
		b.WriteString("</" + x.k + ">")
	}
	b.WriteString("</xml>")
	return b.String()
}

// nestedV2 are the answer fields whose value is XML (gethbinfo's list of
// who opened the envelope).
var nestedV2 = map[string]bool{"hblist": true}

func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func v2Fail(e *v2Error) fields {
	return fields{{"return_code", "FAIL"}, {"return_msg", e.msg}, {"result_code", "FAIL"}, {"err_code", e.code}, {"err_code_des", e.msg}}
}

// v2Call is one authenticated v2 call.
type v2Call struct {
	merchant *Merchant
	f        fields
}

// serveV2 authenticates a v2 call (XML, merchant, certificate, signature)
// and runs it under the lock.
func (s *Sim) serveV2(w http.ResponseWriter, r *http.Request, op string) {
	c, ok := s.acceptV2(w, r, op, true)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	var out fields
	if op == "sendredpack" {
		out = s.sendRedpack(c, now)
	} else {
		out = s.getHBInfo(c, now)
	}
	s.mu.Unlock()
	writeV2(w, out)
}

// authenticateV2 checks a v2 call: well-formed XML, a merchant with an
// APIv2 key, with cert its API certificate as the TLS client certificate
// (when the sim is served over TLS; plain HTTP is refused only with
// Options.RequireClientCert), and the signature.
func (s *Sim) authenticateV2(r *http.Request, body []byte, cert bool) (*v2Call, *v2Error) {
	f, err := parseV2(body)
	if err != nil {
		return nil, errXML
	}
	m, ok := s.merchant(f.get("mch_id"))
	if !ok || m == nil || m.APIv2Key == "" {
		return nil, errNoAuth
	}
	if cert {
		if e := s.checkClientCert(r, m); e != nil {
			return nil, e
		}
	}
	signType := f.get("sign_type")
	if signType != "" && signType != "MD5" && signType != "HMAC-SHA256" {
		return nil, errV2Sign
	}
	want := v2Sign(f, m.APIv2Key, signType)
	if subtle.ConstantTimeCompare([]byte(want), []byte(f.get("sign"))) != 1 {
		return nil, errV2Sign
	}
	return &v2Call{merchant: m, f: f}, nil
}

// checkClientCert requires the merchant's API certificate: the client
// certificate of the TLS connection must carry the merchant's API key (the
// one its v3 signatures verify with) and the serial number it signs under.
func (s *Sim) checkClientCert(r *http.Request, m *Merchant) *v2Error {
	if r.TLS == nil {
		if s.requireCert {
			return errCA
		}
		return nil
	}
	if len(r.TLS.PeerCertificates) == 0 || m.PublicKey == nil {
		return errCA
	}
	cert := r.TLS.PeerCertificates[0]
	if !m.PublicKey.Equal(cert.PublicKey) || !strings.EqualFold(cert.SerialNumber.Text(16), strings.TrimLeft(m.SerialNo, "0")) {
		return errCA
	}
	if now := s.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return errCA
	}
	return nil
}

// v2Time is how the v2 answers write times: Beijing, no zone.
func v2Time(t time.Time) string { return t.In(cst).Format("2006-01-02 15:04:05") }

// acceptV2 reads and authenticates a v2 POST (cert: the merchant's API
// certificate is required too), answering the refusal itself; ok is false
// when it did.
func (s *Sim) acceptV2(w http.ResponseWriter, r *http.Request, op string, cert bool) (*v2Call, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeV2(w, v2Fail(errXML))
		return nil, false
	}
	c, e := s.authenticateV2(r, body, cert)
	if e != nil {
		s.log.Info("wechatsim: v2 request rejected", "op", op, "code", e.code)
		writeV2(w, v2Fail(e))
		return nil, false
	}
	return c, true
}
