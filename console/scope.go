package console

import (
	"net/http"
	"slices"
)

// Tenant isolation. A console user is either org-wide (no apps listed:
// every app, and the only kind that may create apps or manage users) or
// scoped to some apps. A scoped user's lists, charts and searches are
// limited to those apps, and any page or action naming another app's
// object answers 404, as if it did not exist: telling "forbidden" apart
// would confirm the id belongs to someone.

// Scope returns the apps the user may see; nil means every app.
func (p *page) Scope() []string {
	if p.User == nil {
		return nil
	}
	return p.User.Apps
}

// Sees reports whether the user may see and act on the app.
func (p *page) Sees(appID string) bool {
	s := p.Scope()
	return len(s) == 0 || slices.Contains(s, appID)
}

// OrgWide reports whether the user spans every app.
func (p *page) OrgWide() bool { return len(p.Scope()) == 0 }

// inApp runs h only when the {app} of the path is in the user's scope.
func (c *Console) inApp(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		if !p.Sees(r.PathValue("app")) {
			c.fail(w, r, p, http.StatusNotFound, "not_found", "")
			return
		}
		h(w, r, p)
	}
}

// orgWide runs h only for users who span every app (creating an app or
// managing users is beyond any one app).
func (c *Console) orgWide(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		if !p.OrgWide() {
			c.log().Warn("console: action refused to an app-scoped user", "user", p.User.ID, "path", r.URL.Path)
			c.fail(w, r, p, http.StatusForbidden, "forbidden", "")
			return
		}
		h(w, r, p)
	}
}

// seesOrNotFound fails with 404 unless the app is in scope; true when it is.
func (c *Console) seesOrNotFound(w http.ResponseWriter, r *http.Request, p *page, appID string) bool {
	if p.Sees(appID) {
		return true
	}
	c.fail(w, r, p, http.StatusNotFound, "not_found", "")
	return false
}
