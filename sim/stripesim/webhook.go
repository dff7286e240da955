package stripesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Delivery is one attempt to deliver an event to a webhook endpoint.
// Acked is any 2xx.
type Delivery struct {
	simkit.Delivery
	EventID  string
	Type     string
	Endpoint string // we_...
}

// Deliveries returns an account's delivery attempts, oldest first.
func (s *Sim) Deliveries(accountID string) []Delivery { return s.deliveries.Of(accountID) }

func (s *Sim) createWebhookEndpoint(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "url", "enabled_events[", "api_version", "description", "metadata[", "connect", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	u, err := url.Parse(f.Get("url"))
	if f.Get("url") == "" {
		return invalid("url", "Missing required param: url.")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("url", "Invalid URL: %s", f.Get("url"))
	}
	events := values(f, "enabled_events")
	if len(events) == 0 {
		return invalid("enabled_events", "Missing required param: enabled_events.")
	}
	ep := &webhookEndpoint{ID: "we_" + randomString(24), Object: "webhook_endpoint", Created: s.now().Unix(),
		EnabledEvents: events, Metadata: metadata(f), Status: "enabled", URL: u.String()}
	if v := f.Get("api_version"); v != "" {
		ep.APIVersion = str(v)
	}
	if d := f.Get("description"); d != "" {
		ep.Description = str(d)
	}
	s.mu.Lock()
	ep.Secret = c.st.acct.WebhookSecret
	c.st.endpoints = append(c.st.endpoints, ep)
	out := *ep
	s.mu.Unlock()
	return 200, out
}

func (s *Sim) listWebhookEndpoints(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "limit", "starting_after", "ending_before", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	limit, errp := limitOf(c.form.Get("limit"))
	if errp {
		return invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []any
	var ids []string
	for i := len(c.st.endpoints) - 1; i >= 0; i-- {
		ep := *c.st.endpoints[i]
		ep.Secret = "" // only shown on creation
		all = append(all, ep)
		ids = append(ids, ep.ID)
	}
	data, more := page(all, ids, c.form.Get("starting_after"), limit)
	return 200, list{Object: "list", Data: data, HasMore: more, URL: "/v1/webhook_endpoints"}
}

// event is Stripe's Event object.
type event struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
	Livemode        bool `json:"livemode"`
	PendingWebhooks int  `json:"pending_webhooks"`
	Request         struct {
		ID             *string `json:"id"`
		IdempotencyKey *string `json:"idempotency_key"`
	} `json:"request"`
	Type string `json:"type"`
}

// pendingEvent is one event to send to one endpoint.
type pendingEvent struct {
	st   *state
	ep   *webhookEndpoint
	id   string
	typ  string
	body []byte
}

// event snapshots obj into an event for every endpoint listening to typ.
// Called with s.mu held; the caller dispatches after unlocking.
func (s *Sim) event(st *state, typ string, obj any) pendingEvent {
	raw, _ := json.Marshal(obj)
	e := event{ID: "evt_" + randomString(24), Object: "event", APIVersion: APIVersion, Created: s.now().Unix(), Type: typ}
	e.Data.Object = raw
	return pendingEvent{st: st, id: e.ID, typ: typ, body: raw, ep: nil}
}

// dispatch delivers events to the endpoints that listen to them: the
// first attempt after EventDelay (or at once, before dispatch returns, when
// sync), then on the retry schedule.
func (s *Sim) dispatch(evs []pendingEvent, sync bool) {
	for _, pe := range evs {
		s.mu.Lock()
		var targets []*webhookEndpoint
		for _, ep := range pe.st.endpoints {
			if ep.Status != "enabled" {
				continue
			}
			for _, t := range ep.EnabledEvents {
				if t == "*" || t == pe.typ {
					targets = append(targets, ep)
					break
				}
			}
		}
		secret := pe.st.acct.WebhookSecret
		s.mu.Unlock()
		for _, ep := range targets {
			e := event{ID: pe.id, Object: "event", APIVersion: APIVersion, Created: s.now().Unix(), PendingWebhooks: len(targets), Type: pe.typ}
			if ep.APIVersion != nil {
				e.APIVersion = *ep.APIVersion
			}
			e.Data.Object = pe.body
			body, _ := json.Marshal(e)
			n := s.notice(pe, ep, secret, body)
			if sync {
				s.notifier.Send(s.bg.Context(), n)
			} else {
				s.notifier.PostAfter(s.opts.EventDelay, n)
			}
		}
	}
}

// notice is the delivery of an event to an endpoint. Each attempt is
// signed afresh, since receivers refuse timestamps older than five
// minutes.
func (s *Sim) notice(pe pendingEvent, ep *webhookEndpoint, secret string, body []byte) *simkit.Notice {
	acct, rec := pe.st.acct.ID, Delivery{EventID: pe.id, Type: pe.typ, Endpoint: ep.ID}
	return &simkit.Notice{
		Key: acct, URL: ep.URL, Body: body, ContentType: "application/json; charset=utf-8",
		Header: func(h http.Header) error {
			h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
			h.Set("Stripe-Signature", Sign(secret, time.Now(), body))
			return nil
		},
		Attrs: []any{"event", pe.id, "type", pe.typ, "endpoint", ep.ID},
		Record: func(d simkit.Delivery) {
			r := rec
			r.Delivery = d
			s.deliveries.Add(acct, r)
		},
	}
}

// Sign makes a Stripe-Signature header for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t.Unix(), 10) + "."))
	mac.Write(body)
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
