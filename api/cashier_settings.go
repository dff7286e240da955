package api

import (
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// parseCashierSettings reads POST /v1/apps/{app}/cashier_settings: any of
// channel_order, labels, disabled_channels, allowed_origins, display_name,
// logo (null or absent: unchanged); core checks the values.
func parseCashierSettings(raw []byte) (core.CashierSettingsParams, error) {
	var p core.CashierSettingsParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	list := func(name, example string) (*[]string, error) {
		v, ok := b.raw(name)
		if !ok {
			return nil, nil
		}
		var out []string
		if json.Unmarshal(v, &out) != nil {
			return nil, polypay.ParamError(name, "%s 须为字符串数组，如 %s", name, example)
		}
		if out == nil {
			out = []string{}
		}
		return &out, nil
	}
	ex := cashierExamples()
	if p.ChannelOrder, err = list("channel_order", jsonText([]string{ex[1], ex[0]})); err != nil {
		return p, err
	}
	if p.DisabledChannels, err = list("disabled_channels", jsonText([]string{ex[2]})); err != nil {
		return p, err
	}
	if p.AllowedOrigins, err = list("allowed_origins", `["https://shop.example"]`); err != nil {
		return p, err
	}
	if p.DisplayName, err = optString(b, "display_name", `"Acme 商店"`); err != nil {
		return p, err
	}
	if p.Logo, err = optString(b, "logo", `"data:image/png;base64,iVBORw0KGgo…"（"" 删除）`); err != nil {
		return p, err
	}
	if v, ok := b.raw("labels"); ok {
		var m map[string]map[string]string
		if json.Unmarshal(v, &m) != nil {
			return p, polypay.ParamError("labels", `labels 须为 {%s: {"zh": "…", "en": "…"}} 形式的对象`, jsonText(ex[0]))
		}
		if m == nil {
			m = map[string]map[string]string{}
		}
		p.Labels = &m
	}
	return p, b.unknown()
}

// optString reads an optional string parameter: nil when absent or null.
func optString(b *body, name, example string) (*string, error) {
	v, ok := b.raw(name)
	if !ok {
		return nil, nil
	}
	var s *string
	if json.Unmarshal(v, &s) != nil {
		return nil, polypay.ParamError(name, "%s 须为字符串，如 %s", name, example)
	}
	return s, nil
}

// cashierExamples are three cashier channels for the examples in error
// messages: the cashier's first three.
func cashierExamples() [3]string {
	ex := [3]string{"…", "…", "…"}
	copy(ex[:], polypay.CashierChannels())
	return ex
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// setCashierSettings: POST /v1/apps/{app}/cashier_settings, in the key's mode.
func (s *Server) setCashierSettings(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	p, err := parseCashierSettings(raw)
	if err != nil {
		return err
	}
	out, err := s.Svc.SetCashierSettings(r.Context(), who, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// getCashierSettings: GET /v1/apps/{app}/cashier_settings.
func (s *Server) getCashierSettings(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	out, err := s.Svc.GetCashierSettings(r.Context(), who)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
