package console

import (
	"context"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// tempPassword is a one-time password for an invited user or a reset: 20
// base62 characters (about 119 bits). It is shown once, in the response
// to the owner or admin who asked, and only its hash is stored.
func tempPassword() string {
	b := make([]byte, 20)
	polypay.RandomBase62(b)
	return string(b)
}

// AddScopedUser is AddUser for a user limited to some apps (none: every
// app). ENotFound when one of the apps does not exist.
func AddScopedUser(ctx context.Context, db *store.DB, email string, role Role, password string, apps []string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return polypay.ParamError("email", "not a valid email address")
	}
	if !role.Valid() {
		return polypay.ParamError("role", "role must be owner, admin, finance or read_only")
	}
	if len([]rune(password)) < MinPasswordLen {
		return polypay.ParamError("password", "password must have at least %d characters", MinPasswordLen)
	}
	u := &store.ConsoleUser{ID: polypay.NewID("usr_"), Email: email, Role: string(role), Password: HashPassword(password), Apps: apps}
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, a := range apps {
			if _, err := tx.GetApp(ctx, a); err != nil {
				return err
			}
		}
		u.Created = tx.Now()
		return tx.InsertConsoleUser(ctx, u)
	})
	if store.IsUniqueViolation(err) {
		return polypay.Errorf(polypay.EConflict, "a console user %s exists already", email)
	}
	return err
}

type usersData struct {
	Users []*store.ConsoleUser
	Apps  []*polypay.App
	Roles []Role
	// Shown once: the one-time password of an invited or reset user.
	NewEmail, NewPassword string
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, p *page) {
	if !p.Can(string(ActManageUsers)) || !p.OrgWide() {
		c.fail(w, r, p, http.StatusForbidden, "forbidden", "")
		return
	}
	c.showUsers(w, r, p, usersData{})
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, p *page, d usersData) {
	ctx := r.Context()
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if d.Users, err = tx.ListConsoleUsers(ctx); err != nil {
			return err
		}
		d.Apps, err = tx.ListApps(ctx)
		return err
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d.Roles = assignable(p.Role)
	p.Title, p.Nav = p.T("users"), "users"
	c.render(w, p, http.StatusOK, "users", d)
}

// assignable lists the roles an actor may give: an admin cannot make
// owners (nor, by manageable, touch them), so no admin can take over.
func assignable(actor Role) []Role {
	if actor == RoleOwner {
		return []Role{RoleOwner, RoleAdmin, RoleFinance, RoleCashier, RoleReadOnly}
	}
	return []Role{RoleAdmin, RoleFinance, RoleCashier, RoleReadOnly}
}

// CanAssign is for the template: whether the signed-in user may give role.
func (p *page) CanAssign(role string) bool { return slices.Contains(assignable(p.Role), Role(role)) }

// Manageable is for the template: whether the signed-in user may change u.
func (p *page) Manageable(u *store.ConsoleUser) bool { return manageable(p, u) == "" }

// manageable says why the actor may not change u ("" when it may): nobody
// changes their own account here (no one locks themselves out), and an
// admin does not touch owners.
func manageable(p *page, u *store.ConsoleUser) string {
	switch {
	case u.ID == p.User.ID:
		return "user_self"
	case Role(u.Role) == RoleOwner && p.Role != RoleOwner:
		return "forbidden"
	}
	return ""
}

func (c *Console) inviteUser(w http.ResponseWriter, r *http.Request, p *page) {
	role, ok := c.formRole(w, r, p)
	if !ok {
		return
	}
	var apps []string
	for _, a := range r.PostForm["apps"] {
		if idLike(a) && !slices.Contains(apps, a) {
			apps = append(apps, a)
		}
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	pw := tempPassword()
	if err := AddScopedUser(r.Context(), c.cfg.DB, email, role, pw, apps); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: user invited", "user", p.User.ID, "email", email, "role", role, "apps", apps)
	c.showUsers(w, r, p, usersData{NewEmail: email, NewPassword: pw})
}

// userAction loads the {user} of the path and checks the actor may change
// it before running h.
func (c *Console) userAction(h func(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser)) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		var u *store.ConsoleUser
		if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
			u, err = tx.ConsoleUserByID(r.Context(), r.PathValue("user"))
			return err
		}); err != nil {
			c.failErr(w, r, p, err)
			return
		}
		if why := manageable(p, u); why != "" {
			c.fail(w, r, p, http.StatusForbidden, why, "")
			return
		}
		h(w, r, p, u)
	}
}

// update writes u, refusing to leave no enabled org-wide owner.
func (c *Console) update(ctx context.Context, u *store.ConsoleUser) error {
	return c.cfg.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateConsoleUser(ctx, u); err != nil {
			return err
		}
		n, err := tx.CountActiveOwners(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return polypay.ParamError("role", "the last owner cannot be demoted or disabled")
		}
		return nil
	})
}

func (c *Console) setRole(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser) {
	role, ok := c.formRole(w, r, p)
	if !ok {
		return
	}
	u.Role = string(role)
	if err := c.update(r.Context(), u); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: user role changed", "user", p.User.ID, "target", u.ID, "role", role)
	redirectDone(w, r, "/console/users", "saved", "")
}

func (c *Console) disableUser(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser) {
	c.setDisabled(w, r, p, u, true)
}

func (c *Console) enableUser(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser) {
	c.setDisabled(w, r, p, u, false)
}

func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser, off bool) {
	u.Disabled = off
	if err := c.update(r.Context(), u); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: user disabled or enabled", "user", p.User.ID, "target", u.ID, "disabled", off)
	redirectDone(w, r, "/console/users", "saved", "")
}

// resetPassword sets a one-time password, shown once, and ends the user's
// sessions.
func (c *Console) resetPassword(w http.ResponseWriter, r *http.Request, p *page, u *store.ConsoleUser) {
	pw := tempPassword()
	if err := c.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
		return tx.SetConsolePassword(r.Context(), u.ID, HashPassword(pw))
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: user password reset", "user", p.User.ID, "target", u.ID)
	c.showUsers(w, r, p, usersData{NewEmail: u.Email, NewPassword: pw})
}

// formRole reads the role field: 400 naming it when it is no role, 403
// when the actor may not give it (an admin making an owner).
func (c *Console) formRole(w http.ResponseWriter, r *http.Request, p *page) (Role, bool) {
	role := Role(r.PostForm.Get("role"))
	if !role.Valid() {
		c.failErr(w, r, p, polypay.ParamError("role", "role must be owner, admin, finance or read_only"))
		return "", false
	}
	if !slices.Contains(assignable(p.Role), role) {
		c.log().Warn("console: role not assignable", "user", p.User.ID, "role", role)
		c.fail(w, r, p, http.StatusForbidden, "forbidden", "")
		return "", false
	}
	return role, true
}
