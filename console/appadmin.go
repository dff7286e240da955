package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

type keyView struct {
	Prefix      string
	Fingerprint string
	Live        bool
	Kind        string
	Created     int64
	Expires     int64
}

type credView struct {
	Family string
	Live   bool
	Params string // redacted JSON, "" when unset
}

type appData struct {
	App                *polypay.App
	Keys               []keyView
	Creds              []credView
	Endpoints          []*polypay.WebhookEndpoint
	Forms              []credSchema
	Overlaps           []int // hours offered for a key roll
	WebhookKeyRotation bool
	// Shown once after a roll: the new keys (only their hashes are kept).
	NewKeys map[string]string
	Rotated *WebhookKeyRotation
}

// overlaps are the choices for how long a replaced key keeps working.
var overlaps = []int{0, 1, 24, 72, 168}

func (c *Console) app(w http.ResponseWriter, r *http.Request, p *page) {
	c.showApp(w, r, p, appData{})
}

func (c *Console) showApp(w http.ResponseWriter, r *http.Request, p *page, d appData) {
	ctx := r.Context()
	appID := r.PathValue("app")
	var keys []store.APIKeyInfo
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if d.App, err = tx.GetApp(ctx, appID); err != nil {
			return err
		}
		if keys, err = tx.APIKeys(ctx, appID, c.now().Unix()); err != nil {
			return err
		}
		for _, live := range []bool{false, true} {
			e, err := tx.ListWebhookEndpoints(ctx, appID, live)
			if err != nil {
				return err
			}
			d.Endpoints = append(d.Endpoints, e...)
		}
		return nil
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	for _, k := range keys {
		d.Keys = append(d.Keys, keyView{Prefix: keyPrefix(k.Kind, k.Live) + "…", Fingerprint: "sha256:" + k.Hash[:12], Live: k.Live,
			Kind: k.Kind, Created: k.Created, Expires: k.Expires})
	}
	for _, fam := range c.cfg.Families {
		for _, live := range []bool{false, true} {
			cv := credView{Family: fam, Live: live}
			desc, err := c.cfg.Credentials.Describe(ctx, appID, live, fam)
			switch {
			case polypay.ErrorCode(err) == polypay.ENotFound:
			case err != nil:
				c.failErr(w, r, p, err)
				return
			default:
				b, _ := json.MarshalIndent(desc, "", "  ")
				cv.Params = string(b)
			}
			d.Creds = append(d.Creds, cv)
		}
	}
	d.Forms = credSchemas(c.cfg.Families, p.Lang)
	d.Overlaps = overlaps
	d.WebhookKeyRotation = c.cfg.RotateWebhookKey != nil
	p.Title, p.Nav = d.App.Name, "apps"
	c.render(w, p, http.StatusOK, "app", d)
}

func keyPrefix(kind string, live bool) string {
	prefix := "sk_"
	if kind == store.KeyPublishable {
		prefix = "pk_"
	}
	if live {
		return prefix + "live_"
	}
	return prefix + "test_"
}

// newKey is a key as core.CreateApp makes them: prefix + 24 base62.
func newKey(prefix string) string {
	b := make([]byte, 24)
	polypay.RandomBase62(b)
	return prefix + string(b)
}

// formMode reads a mode field: "live" or "test"; anything else is an error.
func formMode(r *http.Request) (bool, error) {
	switch r.PostForm.Get("mode") {
	case "live":
		return true, nil
	case "test":
		return false, nil
	}
	return false, polypay.ParamError("mode", "mode must be test or live")
}

// formOverlap reads the overlap in hours, one of the offered choices.
func formOverlap(r *http.Request) (time.Duration, error) {
	h, err := strconv.Atoi(r.PostForm.Get("overlap"))
	for _, o := range overlaps {
		if err == nil && h == o {
			return time.Duration(h) * time.Hour, nil
		}
	}
	return 0, polypay.ParamError("overlap", "overlap must be one of %v hours", overlaps)
}

// rollKeys issues a new secret and publishable key for one mode; the old
// ones keep working for the overlap (the API's key cache forgets a key
// within 10 s of its expiry). The new keys are shown once.
func (c *Console) rollKeys(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	appID := r.PathValue("app")
	live, err := formMode(r)
	if err == nil {
		var overlap time.Duration
		if overlap, err = formOverlap(r); err == nil {
			sk, pk := newKey(keyPrefix(store.KeySecret, live)), newKey(keyPrefix(store.KeyPublishable, live))
			err = c.cfg.DB.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.GetApp(ctx, appID); err != nil {
					return err
				}
				// An overlap of 0 expires the old keys now (one second
				// back: "expires > now" is then false at once).
				exp := c.now().Add(overlap).Unix()
				if overlap == 0 {
					exp = c.now().Unix() - 1
				}
				return tx.RollAPIKeys(ctx, appID, live, exp, map[string]string{store.KeySecret: core.KeyHash(sk), store.KeyPublishable: core.KeyHash(pk)})
			})
			if err == nil {
				c.log().Info("console: API keys rolled", "user", p.User.ID, "app", appID, "live", live, "overlap", overlap)
				c.showApp(w, r, p, appData{NewKeys: map[string]string{"secret": sk, "publishable": pk}})
				return
			}
		}
	}
	c.failErr(w, r, p, err)
}

func (c *Console) rotateWebhookKey(w http.ResponseWriter, r *http.Request, p *page) {
	if c.cfg.RotateWebhookKey == nil {
		c.fail(w, r, p, http.StatusNotFound, "not_found", "")
		return
	}
	live, err := formMode(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	overlap, err := formOverlap(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if err := c.appExists(r); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	rot, err := c.cfg.RotateWebhookKey(r.Context(), r.PathValue("app"), live, overlap)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: webhook key rotated", "user", p.User.ID, "app", r.PathValue("app"), "live", live, "generation", rot.Generation)
	c.showApp(w, r, p, appData{Rotated: rot})
}

func (c *Console) appExists(r *http.Request) error {
	return c.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		_, err := tx.GetApp(r.Context(), r.PathValue("app"))
		return err
	})
}

func (c *Console) addWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	appID := r.PathValue("app")
	live, err := formMode(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	raw := strings.TrimSpace(r.PostForm.Get("url"))
	u, perr := url.Parse(raw)
	if perr != nil || len(raw) > 2048 || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		c.failErr(w, r, p, polypay.ParamError("url", "url must be an http(s) address without user information"))
		return
	}
	if c.cfg.CheckWebhookURL != nil {
		if err := c.cfg.CheckWebhookURL(ctx, u.String(), live); err != nil {
			c.failErr(w, r, p, err)
			return
		}
	}
	ep := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: appID, Livemode: live, URL: u.String()}
	if err := c.cfg.DB.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetApp(ctx, appID); err != nil {
			return err
		}
		ep.Created = tx.Now()
		return tx.InsertWebhookEndpoint(ctx, ep)
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: webhook endpoint added", "user", p.User.ID, "app", appID, "endpoint", ep.ID)
	redirectDone(w, r, "/console/apps/"+appID, "saved", "")
}

// endpointOf loads the {ep} of the path, which must belong to the {app}.
func (c *Console) endpointOf(r *http.Request) (*polypay.WebhookEndpoint, bool, error) {
	var ep *polypay.WebhookEndpoint
	var deleted bool
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		ep, deleted, err = tx.WebhookEndpoint(r.Context(), r.PathValue("ep"))
		return err
	})
	if err == nil && ep.AppID != r.PathValue("app") {
		return nil, false, polypay.NotFound("webhook_endpoint", r.PathValue("ep"))
	}
	return ep, deleted, err
}

func (c *Console) deleteWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	ep, _, err := c.endpointOf(r)
	if err == nil {
		err = c.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
			return tx.DeleteWebhookEndpoint(r.Context(), ep.AppID, ep.Livemode, ep.ID)
		})
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: webhook endpoint removed", "user", p.User.ID, "app", ep.AppID, "endpoint", ep.ID)
	redirectDone(w, r, "/console/apps/"+ep.AppID, "saved", "")
}

// TestEventType is the type of the event the console sends to check an
// endpoint; its data object is a small description, not a charge.
const TestEventType = "webhook.test"

// testWebhook queues a signed test event for one endpoint through the
// normal outbox, so it is delivered, retried and logged like any event.
func (c *Console) testWebhook(w http.ResponseWriter, r *http.Request, p *page) {
	ep, deleted, err := c.endpointOf(r)
	if err == nil && deleted {
		err = polypay.NotFound("webhook_endpoint", ep.ID)
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	now := c.now()
	obj, _ := json.Marshal(map[string]any{"object": "webhook_test", "endpoint": ep.ID, "url": ep.URL, "sent_by": "console"})
	e := &polypay.Event{ID: polypay.NewID("evt_"), AppID: ep.AppID, Livemode: ep.Livemode, Type: TestEventType, Created: now.Unix(),
		Object: obj, RequestID: polypay.NewID("iar_")}
	if err := c.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
		_, err := tx.InsertTestEvent(r.Context(), e, ep.ID, now.UnixMilli())
		return err
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if c.cfg.Kick != nil {
		c.cfg.Kick()
	}
	c.log().Info("console: test event sent", "user", p.User.ID, "endpoint", ep.ID, "event", e.ID)
	redirectDone(w, r, "/console/webhooks/"+ep.ID, "test_sent", e.ID)
}
