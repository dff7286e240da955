package api

import (
	"net/http"

	"golang.org/x/text/language"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// errorLangs are the languages error replies come in; the first is the
// default, for Ping++ SDK compatibility. Traditional Chinese is listed so
// that zh-Hant/zh-TW readers, who read the Chinese replies, match it
// rather than fall to a lower-ranked English.
var errorLangs = language.NewMatcher([]language.Tag{language.Chinese, language.English, language.TraditionalChinese})

// acceptLang picks the error language from an Accept-Language header:
// the first of the client's languages, by q-value (q=0 dropped), that the
// matcher serves with high confidence and that is English or Chinese
// itself. The matcher alone would answer English for a language it merely
// guesses at (Bengali, say); a client that did not ask for English or
// Chinese, or sent a malformed header, gets the default Chinese.
func acceptLang(header string) polypay.Lang {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return polypay.LangZH
	}
	for _, t := range tags {
		_, i, conf := errorLangs.Match(t)
		base, _ := t.Base()
		if conf < language.High {
			continue
		}
		switch {
		case i == 1 && base.String() == "en":
			return polypay.LangEN
		case i != 1 && base.String() == "zh":
			return polypay.LangZH
		}
	}
	return polypay.LangZH
}

// errorLang is the language of this request's error reply: the app's
// error_language when it set one (learnt at authentication), else the
// request's Accept-Language.
func errorLang(r *http.Request) polypay.Lang {
	if st, ok := r.Context().Value(keyState).(*reqState); ok && st.lang != "" {
		return st.lang
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// noteAppLanguage remembers the authenticated app's error_language for
// the errors that follow in this request.
func noteAppLanguage(r *http.Request, app *polypay.App) {
	st, ok := r.Context().Value(keyState).(*reqState)
	if !ok || app == nil {
		return
	}
	if l, ok := polypay.ParseLang(app.ErrorLanguage); ok {
		st.lang = l
	}
}

type appSettings struct {
	Object        string `json:"object"`
	App           string `json:"app"`
	ErrorLanguage string `json:"error_language"`
}

// setAppSettings: POST /v1/apps/{app}/settings {"error_language":"en"}.
// "" follows Accept-Language again. Other nodes see it within keyTTL.
func (s *Server) setAppSettings(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if _, ok := b.raw("error_language"); !ok {
		return polypay.ParamError("error_language", "缺少参数: %s", "error_language")
	}
	v, err := b.str("error_language", false, 8)
	if err != nil {
		return err
	}
	if _, ok := polypay.ParseLang(v); !ok {
		return polypay.ParamError("error_language", "error_language 须为 zh、en 或 \"\"（跟随 Accept-Language）")
	}
	if err := b.unknown(); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.DB.Write(ctx, func(tx *store.Tx) error { return tx.SetErrorLanguage(ctx, who.App.ID, v) }); err != nil {
		return err
	}
	s.keys.forgetApp(who.App.ID)
	s.writeJSON(w, r, http.StatusOK, appSettings{Object: "app_settings", App: who.App.ID, ErrorLanguage: v})
	return nil
}

// getAppSettings: GET /v1/apps/{app}/settings.
func (s *Server) getAppSettings(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	ctx := r.Context()
	var app *polypay.App
	if err := s.DB.Read(ctx, func(tx *store.Tx) (err error) { app, err = tx.GetApp(ctx, who.App.ID); return }); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, appSettings{Object: "app_settings", App: app.ID, ErrorLanguage: app.ErrorLanguage})
	return nil
}

// forgetApp drops the app's cached keys so this node applies a settings
// change at once.
func (c *keyCache) forgetApp(appID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.who.App != nil && e.who.App.ID == appID {
			delete(c.m, h)
		}
	}
}
