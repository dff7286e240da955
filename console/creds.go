package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/polypay/polypay"
)

// credSchema is a family's credential fields as the set-credentials form
// shows them (the family descriptor's schema).
type credSchema struct {
	Family string
	Fields []credField
}

type credField struct {
	Name             string
	Secret, Required bool
	Multiline        bool // PEM keys and certificates
	Hint             string
}

func credSchemas(families []string, lang string) []credSchema {
	var out []credSchema
	for _, fam := range families {
		f := polypay.LookupFamily(fam)
		if f == nil || len(f.Credentials) == 0 {
			continue
		}
		s := credSchema{Family: fam}
		for _, cf := range f.Credentials {
			s.Fields = append(s.Fields, credField{Name: cf.Name, Secret: cf.Secret, Required: cf.Required,
				Multiline: multiline(cf.Name), Hint: cf.Hint.In(lang)})
		}
		out = append(out, s)
	}
	return out
}

// multiline: PEM blocks (keys, certificates) need a text area.
func multiline(name string) bool {
	return strings.HasSuffix(name, "_cert") || strings.HasSuffix(name, "public_key") || name == "private_key"
}

// maxField bounds one credential field (a PEM certificate chain fits).
const maxField = 16 << 10

// credParams builds a family's credentials from the form's fields. A
// secret left blank is kept from the stored credentials (keep lists those;
// the form never shows secrets back); a required field left blank is an
// error naming it, unless kept.
func credParams(f *polypay.Family, form map[string][]string, stored bool) (json.RawMessage, []string, error) {
	m := map[string]string{}
	var keep []string
	for _, cf := range f.Credentials {
		v := strings.TrimSpace(first(form["f_"+cf.Name]))
		if len(v) > maxField {
			return nil, nil, polypay.ParamError(cf.Name, "%s is longer than %d bytes", cf.Name, maxField)
		}
		switch {
		case v != "":
			m[cf.Name] = v
		case cf.Secret && stored:
			keep = append(keep, cf.Name)
		case cf.Required:
			return nil, nil, polypay.ParamError(cf.Name, "%s is required", cf.Name)
		}
	}
	b, err := json.Marshal(m)
	return b, keep, err
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// setChannel stores an app's credentials for a family from the form the
// family's schema generates. Test mode always uses the built-in simulator,
// so its form has no fields: posting it resets the sandbox credentials.
func (c *Console) setChannel(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	appID := r.PathValue("app")
	fam := r.PostForm.Get("family")
	live, err := formMode(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	f := polypay.LookupFamily(fam)
	if f == nil || !slices.Contains(c.cfg.Families, fam) {
		c.failErr(w, r, p, polypay.ParamError("family", "unknown channel family %q", fam))
		return
	}
	if err := c.appExists(r); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if !live {
		err = c.cfg.Credentials.Configure(ctx, appID, false, fam, json.RawMessage(`{"sandbox":true}`))
	} else {
		_, derr := c.cfg.Credentials.Describe(ctx, appID, true, fam)
		stored := derr == nil
		var params json.RawMessage
		var keep []string
		if params, keep, err = credParams(f, r.PostForm, stored); err == nil {
			err = c.cfg.Credentials.ConfigureKeeping(ctx, appID, true, fam, params, keep)
		}
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	// Names only: the values, secrets among them, are never logged.
	c.log().Info("console: channel credentials set", "user", p.User.ID, "app", appID, "family", fam, "live", live)
	redirectDone(w, r, "/console/apps/"+appID, "saved", "")
}
