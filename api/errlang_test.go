package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polypay/polypay"
)

func TestAcceptLang(t *testing.T) {
	tests := []struct {
		header string
		want   polypay.Lang
	}{
		{"", polypay.LangZH},
		{"en", polypay.LangEN},
		{"EN-us", polypay.LangEN},
		{"en-GB;q=0.8, zh;q=0.5", polypay.LangEN},
		{"zh-CN,zh;q=0.9,en;q=0.8", polypay.LangZH}, // Ping++'s SDKs and Chinese browsers
		{"en;q=0.2, zh-Hant;q=0.9", polypay.LangZH},
		{"de, en;q=0.5", polypay.LangEN},
		{"en;q=0", polypay.LangZH},
		{"fr, ja", polypay.LangZH},
		{"*", polypay.LangZH},
		{"en;q=abc", polypay.LangZH},
		{"\x00garbage", polypay.LangZH},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.header), func(t *testing.T) {
			if got := acceptLang(tt.header); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestWriteErrorLanguage: channel refusals and internal errors, which the
// HTTP suite cannot provoke at will, in both languages.
func TestWriteErrorLanguage(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	tests := []struct {
		name                 string
		err                  error
		accept               string
		appLang              string
		status               int
		message, channelText string
	}{
		{"ChannelKnownZH", &polypay.Error{Code: polypay.EChannel, ChannelCode: "ACQ.BILL_DATE_INVALID", Message: "日账单只能下载今天以前的", ChannelMessage: "日账单只能下载今天以前的"}, "", "",
			402, "日账单只能下载今天以前的", "日账单只能下载今天以前的"},
		{"ChannelKnownEN", &polypay.Error{Code: polypay.EChannel, ChannelCode: "ACQ.BILL_DATE_INVALID", Message: "日账单只能下载今天以前的", ChannelMessage: "日账单只能下载今天以前的"}, "en", "",
			402, "The channel refused the request: daily bills can only be downloaded for days before today", "日账单只能下载今天以前的"},
		{"ChannelUnknownEN", fmt.Errorf("wrapped: %w", &polypay.Error{Code: polypay.EChannel, ChannelCode: "NEW", Message: "新的渠道错误", ChannelMessage: "新的渠道错误"}), "en", "",
			402, "The channel refused the request (channel code NEW); its own message, untranslated, is in channel_message", "新的渠道错误"},
		{"ChannelAppEN", &polypay.Error{Code: polypay.EChannel, ChannelCode: "SYSTEMERROR", Message: "系统繁忙", ChannelMessage: "系统繁忙"}, "zh-CN", "en",
			402, "The channel refused the request: the channel is busy", "系统繁忙"},
		{"InternalZH", errors.New("disk on fire"), "", "", 500, "服务器内部错误，请稍后重试 (request )", ""},
		{"InternalEN", errors.New("disk on fire"), "en", "", 500, "Internal error; retry later (request )", ""},
		{"TooLargeEN", &polypay.Error{Code: polypay.ETooLarge, Message: "请求体不能超过 1 MiB"}, "en", "", 413, "the request body must not exceed 1 MiB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/charges", nil)
			r = r.WithContext(context.WithValue(r.Context(), keyState, &reqState{}))
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			noteAppLanguage(r, &polypay.App{ErrorLanguage: tt.appLang})
			w := httptest.NewRecorder()
			s.writeError(w, r, tt.err)
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.status || body.Error.Message != tt.message || body.Error.ChannelMessage != tt.channelText {
				t.Errorf("got %d %+v\nwant %d message %q channel_message %q", w.Code, body.Error, tt.status, tt.message, tt.channelText)
			}
		})
	}
}

// FuzzAcceptLang: any header a client sends picks one of the two
// languages, without panicking, and a header naming no English is Chinese.
func FuzzAcceptLang(f *testing.F) {
	for _, s := range []string{"", "en", "zh-CN,zh;q=0.9,en;q=0.8", "en-GB;q=0.8, zh;q=0.5", "*;q=0.1", "en;q=1e9", ",,;=", "x-klingon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := acceptLang(h)
		if got != polypay.LangZH && got != polypay.LangEN {
			t.Fatalf("%q: got %q", h, got)
		}
		if got == polypay.LangEN && !strings.Contains(strings.ToLower(h), "en") {
			t.Fatalf("%q names no English, got en", h)
		}
	})
}
