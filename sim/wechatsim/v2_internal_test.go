package wechatsim

import (
	"strings"
	"testing"
)

// TestV2SignVector: WeChat's worked example of the v2 signature.
func TestV2SignVector(t *testing.T) {
	f := fields{{"appid", "wxd930ea5d5a258f4f"}, {"mch_id", "10000100"}, {"device_info", "1000"}, {"body", "test"},
		{"nonce_str", "ibuaiVcKdpRxkhJA"}, {"sign", "x"}, {"empty", ""}}
	const key = "192006250b4c09247ec02edce69f6a2d"
	if got := v2Sign(f, key, ""); got != "9A0A8659F005D6984697E2CA0A9CF3B7" {
		t.Errorf("MD5 %s", got)
	}
	if got := v2Sign(f, key, "HMAC-SHA256"); got != "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6" {
		t.Errorf("HMAC-SHA256 %s", got)
	}
}

// FuzzParseV2: no body panics the parser; what it takes is flat fields,
// each once, that survive being written and read again.
func FuzzParseV2(f *testing.F) {
	f.Add([]byte(`<xml><mch_id>1900000109</mch_id><sign><![CDATA[ABC]]></sign></xml>`))
	f.Add([]byte(`<xml><a>1</a><a>2</a></xml>`))
	f.Add([]byte(`<xml><a><b>1</b></a></xml>`))
	f.Add([]byte(`<xml><a>]]&gt;</a></xml>`))
	f.Add([]byte(`<root/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseV2(body)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, x := range got {
			if seen[x.k] {
				t.Fatalf("field %s twice in %q", x.k, body)
			}
			seen[x.k] = true
		}
		var b strings.Builder
		b.WriteString("<xml>")
		for _, x := range got {
			b.WriteString("<" + x.k + ">" + cdata(x.v) + "</" + x.k + ">")
		}
		b.WriteString("</xml>")
		again, err := parseV2([]byte(b.String()))
		if err != nil || len(again) != len(got) {
			t.Fatalf("fields %v written as %s read back as %v, %v", got, b.String(), again, err)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("field %v read back as %v", got[i], again[i])
			}
		}
	})
}
