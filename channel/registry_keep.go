package channel

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
)

// ConfigureKeeping is Configure for a form that never shows secrets back
// (the console's): each field named in keep takes its stored value, so a
// secret left blank stays as it was. The merged credentials are validated
// as a whole. EInvalid (param "params") when there is nothing stored to
// keep from.
func (r *Registry) ConfigureKeeping(ctx context.Context, appID string, live bool, fam string, cfg json.RawMessage, keep []string) error {
	if len(keep) > 0 {
		cur, _, err := r.config(ctx, appID, live, fam)
		if err != nil {
			return err
		}
		var old, m map[string]json.RawMessage
		if cur == nil || json.Unmarshal(cur, &old) != nil {
			return polypay.ParamError("params", "%s has no stored credentials to keep %v from", fam, keep)
		}
		if err := json.Unmarshal(cfg, &m); err != nil || m == nil {
			return polypay.ParamError("params", "credentials must be a JSON object")
		}
		for _, k := range keep {
			if v, ok := old[k]; ok {
				m[k] = v
			}
		}
		if cfg, err = json.Marshal(m); err != nil {
			return err
		}
	}
	return r.Configure(ctx, appID, live, fam, cfg)
}
