package core

import (
	"context"
	"encoding/json"
	"regexp"
	"unicode/utf8"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Sub-apps (Ping++'s sub_apps, issue 21): a platform's merchants, each an
// app of its own — own keys, own objects, isolated like any two apps —
// placed under a parent app, several levels deep. The parent's keys act
// for every sub-app under it (api resolves the app a request names); a
// sub-app's own keys see only its own objects. A sub-app without channel
// credentials of its own takes payments on its parent's accounts
// (credstore); its channels can be banned, with the message payers see.

// SubAppParams create or change a sub-app; nil fields are left as they
// are.
type SubAppParams struct {
	DisplayName *string
	User        *string
	Description *string
	Metadata    json.RawMessage
	// ParentApp places a new sub-app under one of the caller's sub-apps
	// ("": under the caller).
	ParentApp string
	// Status moves it: pending, active or suspended (update only).
	Status *string
	// Onboarding replaces what a channel needs to register it.
	Onboarding *Onboarding
}

// Onboarding is a sub-merchant's registration details. The bank
// account's number is sealed; only its last four are shown.
type Onboarding struct {
	BusinessName string       `json:"business_name"`
	LicenseNo    string       `json:"license_no"`
	ContactName  string       `json:"contact_name"`
	ContactPhone string       `json:"contact_phone"`
	BankAccount  *BankAccount `json:"bank_account,omitempty"`
}

// BankAccount is where a sub-merchant is settled to.
type BankAccount struct {
	Name   string `json:"name"`
	Bank   string `json:"bank"`
	Number string `json:"number,omitempty"` // in only: never stored or shown
	Last4  string `json:"last4"`
}

var (
	licenseRe = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
	phoneRe   = regexp.MustCompile(`^[0-9+\-]{6,20}$`)
	accountRe = regexp.MustCompile(`^[0-9]{6,32}$`)
)

func checkOnboarding(o *Onboarding) error {
	switch {
	case o == nil:
		return nil
	case o.BusinessName == "" || utf8.RuneCountInString(o.BusinessName) > 128:
		return polypay.ParamError("onboarding[business_name]", "onboarding[business_name] 须为 1 到 128 个字符")
	case o.LicenseNo != "" && !licenseRe.MatchString(o.LicenseNo):
		return polypay.ParamError("onboarding[license_no]", "onboarding[license_no] 须为 1 到 32 位字母或数字")
	case utf8.RuneCountInString(o.ContactName) > 64:
		return polypay.ParamError("onboarding[contact_name]", "onboarding[contact_name] 不能超过 64 个字符")
	case o.ContactPhone != "" && !phoneRe.MatchString(o.ContactPhone):
		return polypay.ParamError("onboarding[contact_phone]", "onboarding[contact_phone] 不是有效的电话号码")
	case o.BankAccount != nil && !accountRe.MatchString(o.BankAccount.Number):
		return polypay.ParamError("onboarding[bank_account][number]", "onboarding[bank_account][number] 须为 6 到 32 位数字")
	case o.BankAccount != nil && (o.BankAccount.Name == "" || utf8.RuneCountInString(o.BankAccount.Name) > 64 || utf8.RuneCountInString(o.BankAccount.Bank) > 64):
		return polypay.ParamError("onboarding[bank_account][name]", "onboarding[bank_account] 须有 name（64 个字符以内）与 bank")
	}
	return nil
}

// setOnboarding stores o on a, the bank account's number sealed apart.
func (s *Service) setOnboarding(a *store.SubApp, o *Onboarding) error {
	if o == nil {
		return nil
	}
	cp := *o
	if b := o.BankAccount; b != nil {
		if s.Box == nil {
			return polypay.Errorf(polypay.ENotSupported, "本节点没有用于银行账户的加密密钥")
		}
		a.BankSealed = s.Box.Seal("sub_app_bank:"+a.AppID, []byte(b.Number))
		cp.BankAccount = &BankAccount{Name: b.Name, Bank: b.Bank, Last4: b.Number[len(b.Number)-4:]}
	}
	a.Onboarding, _ = json.Marshal(cp)
	return nil
}

// checkSubAppStatus refuses a charge for a suspended sub-app, or a live
// one for a sub-app still pending.
func checkSubAppStatus(ctx context.Context, tx Tx, appID string, live bool) error {
	a, err := tx.GetSubApp(ctx, appID)
	switch {
	case err != nil || a == nil:
		return err
	case a.Status == store.SubAppSuspended:
		return polypay.ParamError("app", "商户 %s 已被平台暂停收款", appID)
	case a.Status == store.SubAppPending && live:
		return polypay.ParamError("app", "商户 %s 尚未入驻完成（pending），live 模式不能收款", appID)
	}
	return nil
}

func checkSubAppText(p SubAppParams) error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"display_name", p.DisplayName, 64}, {"user", p.User, 64}, {"description", p.Description, 255}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			return polypay.ParamError(f.name, "%s 不能超过 %d 个字符", f.name, f.max)
		}
	}
	if p.DisplayName != nil && *p.DisplayName == "" {
		return polypay.ParamError("display_name", "display_name 不能为空")
	}
	return nil
}

// CreateSubApp makes a sub-app under the caller (or under parent_app, one
// of the caller's sub-apps) with keys of its own, shown in this answer only.
func (s *Service) CreateSubApp(ctx context.Context, who Caller, p SubAppParams) (*wire.SubApp, error) {
	if p.DisplayName == nil {
		return nil, polypay.ParamError("display_name", "缺少参数: display_name")
	}
	if err := checkSubAppText(p); err != nil {
		return nil, err
	}
	if err := checkOnboarding(p.Onboarding); err != nil {
		return nil, err
	}
	keys := &NewApp{AppID: polypay.NewAppID(), Name: *p.DisplayName, SecretKeyTest: newKey("sk_test_"), SecretKeyLive: newKey("sk_live_"),
		PublishableKeyTest: newKey("pk_test_"), PublishableKeyLive: newKey("pk_live_")}
	a := &store.SubApp{AppID: keys.AppID, ParentApp: who.App.ID, DisplayName: *p.DisplayName, Metadata: p.Metadata, Status: store.SubAppPending}
	if err := s.setOnboarding(a, p.Onboarding); err != nil {
		return nil, err
	}
	if p.User != nil {
		a.User = *p.User
	}
	if p.Description != nil {
		a.Description = *p.Description
	}
	err := s.write(ctx, func(tx Tx) error {
		if err := s.placeSubApp(ctx, tx, who, p.ParentApp, a); err != nil {
			return err
		}
		a.Created = tx.Now()
		if err := insertApp(ctx, tx, keys); err != nil {
			return err
		}
		return tx.InsertSubApp(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	out := wire.FromSubApp(a, nil)
	out.Keys = &wire.SubAppKeys{SecretKeyTest: keys.SecretKeyTest, SecretKeyLive: keys.SecretKeyLive,
		PublishableKeyTest: keys.PublishableKeyTest, PublishableKeyLive: keys.PublishableKeyLive}
	return out, nil
}

// placeSubApp sets a new sub-app's parent, platform and level: under the
// caller, or under parent (one of the caller's sub-apps), no deeper than
// store.MaxSubAppLevel.
func (s *Service) placeSubApp(ctx context.Context, tx Tx, who Caller, parent string, a *store.SubApp) error {
	a.ParentApp, a.PlatformApp, a.Level = who.App.ID, who.App.ID, 1
	under := who.App.ID
	if parent != "" && parent != who.App.ID {
		if _, err := tx.SubAppOf(ctx, who.App.ID, parent); err != nil {
			return paramNotFound(err, "parent_app")
		}
		under = parent
	}
	up, err := tx.GetSubApp(ctx, under)
	if err != nil {
		return err
	}
	if up != nil { // under is itself a sub-app
		a.ParentApp, a.PlatformApp, a.Level = under, up.PlatformApp, up.Level+1
	}
	if a.Level > store.MaxSubAppLevel {
		return polypay.ParamError("parent_app", "sub_app 最多 %d 层", store.MaxSubAppLevel)
	}
	return nil
}

// subAppOf reads a sub-app under the caller, ENotFound naming id.
func (s *Service) subAppOf(ctx context.Context, who Caller, id string) (*store.SubApp, error) {
	var a *store.SubApp
	err := s.read(ctx, func(tx Tx) (err error) { a, err = tx.SubAppOf(ctx, who.App.ID, id); return })
	return a, err
}

// availableMethods are the channels a sub-app set up and may take
// payments on, in the caller's mode.
func (s *Service) availableMethods(ctx context.Context, tx Tx, appID string, live bool) ([]string, error) {
	cs, err := tx.SubAppChannels(ctx, appID, live)
	var out []string
	for _, c := range cs {
		if !c.Banned {
			out = append(out, c.Channel)
		}
	}
	return out, err
}

// GetSubApp answers a sub-app under the caller.
func (s *Service) GetSubApp(ctx context.Context, who Caller, id string) (any, error) {
	var out *wire.SubApp
	err := s.read(ctx, func(tx Tx) error {
		a, err := tx.SubAppOf(ctx, who.App.ID, id)
		if err != nil {
			return err
		}
		m, err := s.availableMethods(ctx, tx, a.AppID, who.Live)
		out = wire.FromSubApp(a, m)
		return err
	})
	return out, err
}

// ListSubApps pages through the caller's direct sub-apps.
func (s *Service) ListSubApps(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	return listPage(ctx, s, who, "sub_apps", url, p, func(tx Tx) ([]*store.SubApp, bool, error) {
		return tx.ListSubApps(ctx, who.App.ID, p)
	}, func(a *store.SubApp) any { return wire.FromSubApp(a, nil) })
}

// UpdateSubApp changes a sub-app's display name, user, description or
// metadata.
func (s *Service) UpdateSubApp(ctx context.Context, who Caller, id string, p SubAppParams) (any, error) {
	if err := checkSubAppText(p); err != nil {
		return nil, err
	}
	if err := checkOnboarding(p.Onboarding); err != nil {
		return nil, err
	}
	if p.Status != nil {
		switch *p.Status {
		case store.SubAppPending, store.SubAppActive, store.SubAppSuspended:
		default:
			return nil, polypay.ParamError("status", "status 须为 pending、active 或 suspended")
		}
	}
	if err := s.write(ctx, func(tx Tx) error {
		a, err := tx.SubAppOf(ctx, who.App.ID, id)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			to   *string
			from *string
		}{{&a.DisplayName, p.DisplayName}, {&a.User, p.User}, {&a.Description, p.Description}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if p.Metadata != nil {
			a.Metadata = p.Metadata
		}
		if p.Status != nil {
			a.Status = *p.Status
		}
		if err := s.setOnboarding(a, p.Onboarding); err != nil {
			return err
		}
		return tx.UpdateSubApp(ctx, a)
	}); err != nil {
		return nil, err
	}
	return s.GetSubApp(ctx, who, id)
}

// DeleteSubApp removes a sub-app with no sub-apps of its own: its keys
// stop working and its parent no longer acts for it; its objects stay.
func (s *Service) DeleteSubApp(ctx context.Context, who Caller, id string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		a, err := tx.SubAppOf(ctx, who.App.ID, id)
		if err != nil {
			return err
		}
		if kids, _, err := tx.ListSubApps(ctx, a.AppID, store.Page{Limit: 1}); err != nil || len(kids) > 0 {
			if err == nil {
				err = polypay.ParamError("id", "sub_app %s 下还有 sub_app，请先删除它们", id)
			}
			return err
		}
		a.Deleted = tx.Now()
		if err := tx.UpdateSubApp(ctx, a); err != nil {
			return err
		}
		return tx.DeleteAPIKeys(ctx, a.AppID)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "object": "sub_app", "deleted": true}, nil
}

// SubAppChannelParams set a sub-app's channel; nil fields are left as
// they are (false, "" on a new one).
type SubAppChannelParams struct {
	Channel     string
	Banned      *bool
	BannedMsg   *string
	Description *string
}

// PutSubAppChannel stores a sub-app's channel in the caller's mode (its
// credentials, when given, are stored by the caller beforehand).
func (s *Service) PutSubAppChannel(ctx context.Context, who Caller, sub string, p SubAppChannelParams) (*store.SubAppChannel, error) {
	if !s.Channels.Supported(p.Channel) {
		return nil, polypay.ParamError("channel", "不支持的渠道: %s", p.Channel)
	}
	if p.BannedMsg != nil && utf8.RuneCountInString(*p.BannedMsg) > 255 {
		return nil, polypay.ParamError("banned_msg", "banned_msg 不能超过 255 个字符")
	}
	if p.Description != nil && utf8.RuneCountInString(*p.Description) > 255 {
		return nil, polypay.ParamError("description", "description 不能超过 255 个字符")
	}
	var c *store.SubAppChannel
	err := s.write(ctx, func(tx Tx) error {
		if _, err := tx.SubAppOf(ctx, who.App.ID, sub); err != nil {
			return err
		}
		cur, err := tx.GetSubAppChannel(ctx, sub, who.Live, p.Channel)
		if err != nil {
			return err
		}
		now := tx.Now()
		if cur == nil {
			cur = &store.SubAppChannel{AppID: sub, Livemode: who.Live, Channel: p.Channel, Created: now}
		}
		if p.Banned != nil {
			cur.Banned = *p.Banned
		}
		if p.BannedMsg != nil {
			cur.BannedMsg = *p.BannedMsg
		}
		if p.Description != nil {
			cur.Description = *p.Description
		}
		cur.Updated, c = now, cur
		return tx.PutSubAppChannel(ctx, cur)
	})
	return c, err
}

// GetSubAppChannel reads a sub-app's channel in the caller's mode.
func (s *Service) GetSubAppChannel(ctx context.Context, who Caller, sub, channel string) (*store.SubAppChannel, error) {
	var c *store.SubAppChannel
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.SubAppOf(ctx, who.App.ID, sub); err != nil {
			return err
		}
		var err error
		if c, err = tx.GetSubAppChannel(ctx, sub, who.Live, channel); err == nil && c == nil {
			err = polypay.NotFound("channel", channel)
		}
		return err
	})
	return c, err
}

// DeleteSubAppChannel removes a sub-app's channel; its family's
// credentials go with the family's last channel, after which it takes
// payments on its parent's accounts again.
func (s *Service) DeleteSubAppChannel(ctx context.Context, who Caller, sub, channel string) error {
	family := s.Channels.Family(channel)
	return s.write(ctx, func(tx Tx) error {
		if _, err := tx.SubAppOf(ctx, who.App.ID, sub); err != nil {
			return err
		}
		if c, err := tx.GetSubAppChannel(ctx, sub, who.Live, channel); err != nil || c == nil {
			if err == nil {
				err = polypay.NotFound("channel", channel)
			}
			return err
		}
		if err := tx.DeleteSubAppChannel(ctx, sub, who.Live, channel); err != nil {
			return err
		}
		rest, err := tx.SubAppChannels(ctx, sub, who.Live)
		if err != nil {
			return err
		}
		for _, c := range rest {
			if s.Channels.Family(c.Channel) == family {
				return nil
			}
		}
		return tx.DeleteChannelConfig(ctx, sub, who.Live, family)
	})
}

// checkBanned refuses a charge on a channel the app's platform banned for
// it, with the platform's message.
func checkBanned(ctx context.Context, tx Tx, appID string, live bool, channel string) error {
	c, err := tx.GetSubAppChannel(ctx, appID, live, channel)
	if err != nil || c == nil || !c.Banned {
		return err
	}
	msg := c.BannedMsg
	if msg == "" {
		msg = "该商户的渠道 " + channel + " 已被平台停用"
	}
	return &polypay.Error{Code: polypay.EInvalid, Param: "channel", Message: msg}
}

// ParentOf returns the app a sub-app hangs under, "" for a top app.
func (s *Service) ParentOf(ctx context.Context, appID string) (string, error) {
	var parent string
	err := s.read(ctx, func(tx Tx) (err error) {
		parent, err = tx.ParentOf(ctx, appID)
		return err
	})
	return parent, err
}
