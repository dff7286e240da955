package wire

import (
	"encoding/json"

	"github.com/polypay/polypay/store"
)

// SubApp is Ping++'s sub_app: an app of its own under a parent (a
// platform's merchant). Keys is set only in the answer that created it.
type SubApp struct {
	ID               string          `json:"id"`
	Object           string          `json:"object"`
	Created          int64           `json:"created"`
	DisplayName      string          `json:"display_name"`
	User             *string         `json:"user"`
	Description      *string         `json:"description"`
	Level            int             `json:"level"`
	ParentApp        string          `json:"parent_app"`
	AvailableMethods []string        `json:"available_methods"`
	Metadata         json.RawMessage `json:"metadata"`
	Status           string          `json:"status"`
	Onboarding       json.RawMessage `json:"onboarding"`
	Keys             *SubAppKeys     `json:"keys,omitempty"`
}

// SubAppKeys are a new sub-app's own keys, shown once (only their hashes
// are stored): with them the sub-merchant sees its own objects only.
type SubAppKeys struct {
	SecretKeyTest      string `json:"secret_key_test"`
	SecretKeyLive      string `json:"secret_key_live"`
	PublishableKeyTest string `json:"publishable_key_test"`
	PublishableKeyLive string `json:"publishable_key_live"`
}

// FromSubApp renders a sub-app; methods are the channels it may take
// payments on in the caller's mode.
func FromSubApp(a *store.SubApp, methods []string) *SubApp {
	if methods == nil {
		methods = []string{}
	}
	return &SubApp{ID: a.AppID, Object: "sub_app", Created: a.Created, DisplayName: a.DisplayName, User: nullStr(a.User),
		Description: nullStr(a.Description), Level: a.Level, ParentApp: a.ParentApp, AvailableMethods: methods,
		Metadata: metaOrEmpty(a.Metadata), Status: a.Status, Onboarding: metaOrEmpty(a.Onboarding)}
}

// SubAppChannel is a sub-app's channel: Ping++'s params (secrets shown as
// fingerprints; {} while the sub-app uses its parent's accounts), banned
// and banned_msg.
type SubAppChannel struct {
	Object      string         `json:"object"`
	App         string         `json:"app"`
	Channel     string         `json:"channel"`
	Livemode    bool           `json:"livemode"`
	Params      map[string]any `json:"params"`
	Banned      bool           `json:"banned"`
	BannedMsg   *string        `json:"banned_msg"`
	Description *string        `json:"description"`
	Created     int64          `json:"created"`
	Updated     int64          `json:"updated"`
}

// FromSubAppChannel renders a sub-app's channel.
func FromSubAppChannel(c *store.SubAppChannel, params map[string]any) *SubAppChannel {
	if params == nil {
		params = map[string]any{}
	}
	return &SubAppChannel{Object: "channel", App: c.AppID, Channel: c.Channel, Livemode: c.Livemode, Params: params, Banned: c.Banned,
		BannedMsg: nullStr(c.BannedMsg), Description: nullStr(c.Description), Created: c.Created, Updated: c.Updated}
}

func metaOrEmpty(m []byte) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage(`{}`)
	}
	return m
}
