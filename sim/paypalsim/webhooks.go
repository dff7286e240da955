package paypalsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

type webhook struct {
	id, clientID, url string
	events            []string
}

var eventDescriptions = map[string]string{
	"CHECKOUT.ORDER.APPROVED":       "An order has been approved by buyer.",
	"CHECKOUT.ORDER.COMPLETED":      "Checkout Order Completed",
	"PAYMENT.CAPTURE.COMPLETED":     "A payment capture completes.",
	"PAYMENT.CAPTURE.DENIED":        "A payment capture is denied.",
	"PAYMENT.CAPTURE.PENDING":       "The state of a payment capture changes to pending.",
	"PAYMENT.CAPTURE.REFUNDED":      "A merchant refunds a payment capture.",
	"PAYMENT.AUTHORIZATION.CREATED": "A payment authorization is created, approved, executed, or a future payment authorization is created.",
	"PAYMENT.AUTHORIZATION.VOIDED":  "A payment authorization is voided.",
	"PAYMENT.AUTHORIZATION.DENIED":  "A payment authorization is denied.",
	"*":                             "ALL",
}

type eventTypeJSON struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

type webhookJSON struct {
	ID         string          `json:"id"`
	URL        string          `json:"url"`
	EventTypes []eventTypeJSON `json:"event_types"`
	Links      []link          `json:"links"`
}

func (s *Sim) webhookJSON(wh *webhook) webhookJSON {
	j := webhookJSON{ID: wh.id, URL: wh.url, Links: []link{{s.url + "/v1/notifications/webhooks/" + wh.id, "self", "GET"}}}
	for _, e := range wh.events {
		j.EventTypes = append(j.EventTypes, eventTypeJSON{e, eventDescriptions[e]})
	}
	return j
}

// createWebhook is POST /v1/notifications/webhooks.
func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var b struct {
		URL        string          `json:"url"`
		EventTypes []eventTypeJSON `json:"event_types"`
	}
	if !decode(w, r, &b) {
		return
	}
	if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(b.URL) > 2048 {
		apiError(w, 400, "INVALID_PARAMETER_SYNTAX", "The webhook URL must be an absolute http(s) URL.", "url")
		return
	}
	if len(b.EventTypes) == 0 {
		apiError(w, 400, "MISSING_REQUIRED_PARAMETER", "At least one event type is required.", "event_types")
		return
	}
	wh := &webhook{id: newID(), clientID: m.ClientID, url: b.URL}
	for _, e := range b.EventTypes {
		if _, ok := eventDescriptions[e.Name]; !ok {
			apiError(w, 400, "INVALID_PARAMETER_VALUE", "Event type "+e.Name+" is not supported.", "event_types")
			return
		}
		wh.events = append(wh.events, e.Name)
	}
	s.mu.Lock()
	n := 0
	for _, o := range s.webhooks {
		if o.clientID != m.ClientID {
			continue
		}
		n++
		if o.url == b.URL {
			s.mu.Unlock()
			writeJSON(w, 400, map[string]any{"name": "WEBHOOK_URL_ALREADY_EXISTS", "message": "Webhook URL already exists.", "debug_id": debugID()})
			return
		}
	}
	if n >= 10 {
		s.mu.Unlock()
		writeJSON(w, 400, map[string]any{"name": "WEBHOOK_NUMBER_LIMIT_EXCEEDED", "message": "Maximum number of webhooks (10) reached.", "debug_id": debugID()})
		return
	}
	s.webhooks[wh.id] = wh
	j := s.webhookJSON(wh)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, j)
}

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []webhookJSON{}
	for _, wh := range s.webhooks {
		if wh.clientID == m.ClientID {
			out = append(out, s.webhookJSON(wh))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

// event builds the event for every webhook of clientID subscribed to typ.
// Called with s.mu held; nil when nobody listens.
func (s *Sim) event(clientID, typ, resourceType, chargeID string, resource any) *simkit.Notice {
	for _, wh := range s.webhooks {
		if wh.clientID != clientID {
			continue
		}
		for _, e := range wh.events {
			if e != typ && e != "*" {
				continue
			}
			id := "WH-" + newID() + "-" + newID()
			body, err := json.Marshal(map[string]any{
				"id": id, "event_version": "1.0", "create_time": stamp(s.now()), "resource_type": resourceType,
				"resource_version": "2.0", "event_type": typ, "summary": eventDescriptions[typ], "resource": resource,
				"links": []link{{s.url + "/v1/notifications/webhooks-events/" + id, "self", "GET"},
					{s.url + "/v1/notifications/webhooks-events/" + id + "/resend", "resend", "POST"}},
			})
			if err != nil {
				return nil
			}
			// One webhook per event suffices for polypay (one per notify
			// URL); a second subscribed webhook of the app is skipped.
			return s.notice(id, typ, chargeID, wh, body)
		}
	}
	return nil
}

// Delivery is one attempt to deliver a webhook event. Acked is any 2xx.
type Delivery struct {
	simkit.Delivery
	EventID   string
	EventType string
}

// Notifications returns the delivery attempts of a charge's events (by
// the order's invoice_id), oldest first.
func (s *Sim) Notifications(chargeID string) []Delivery { return s.deliveries.Of(chargeID) }

// notice is the delivery of an event to a webhook, signed afresh on each
// attempt.
func (s *Sim) notice(id, typ, chargeID string, wh *webhook, body []byte) *simkit.Notice {
	webhookID := wh.id
	return &simkit.Notice{
		Key: chargeID, URL: wh.url, Body: body, ContentType: "application/json",
		Header: func(h http.Header) error {
			h.Set("User-Agent", "PayPal/AUHD-214.0-58843143")
			s.transmission(h, webhookID, body)
			return nil
		},
		Attrs: []any{"event", typ, "id", id},
		Record: func(d simkit.Delivery) {
			s.deliveries.Add(chargeID, Delivery{Delivery: d, EventID: id, EventType: typ})
		},
	}
}

// signed is the message PayPal signs for a webhook transmission.
func signed(transmissionID, transmissionTime, webhookID string, body []byte) []byte {
	return []byte(transmissionID + "|" + transmissionTime + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
}

func (s *Sim) sign(tid, ttime, webhookID string, body []byte) string {
	sum := sha256.Sum256(signed(tid, ttime, webhookID, body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (s *Sim) certURL() string { return s.baseURL() + "/v1/notifications/certs/" + s.certName }

// SignWebhook returns the PAYPAL-* headers of a transmission of body to
// the webhook webhookID, signed now as the simulator signs its own
// deliveries, so that tests can make events that verify (with any
// content: the real PayPal has no such helper).
func (s *Sim) SignWebhook(webhookID string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	s.transmission(h, webhookID, body)
	return h
}

// transmission sets the PAYPAL-* headers of a transmission of body to
// webhookID, signed now.
func (s *Sim) transmission(h http.Header, webhookID string, body []byte) {
	tid, ttime := newUUID(), s.now().UTC().Format(time.RFC3339)
	h.Set("PAYPAL-TRANSMISSION-ID", tid)
	h.Set("PAYPAL-TRANSMISSION-TIME", ttime)
	h.Set("PAYPAL-TRANSMISSION-SIG", s.sign(tid, ttime, webhookID, body))
	h.Set("PAYPAL-CERT-URL", s.certURL())
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	h.Set("PAYPAL-AUTH-VERSION", "v2")
}

// verifyWebhook is POST /v1/notifications/verify-webhook-signature: the
// webhook must be the caller's, the algorithm SHA256withRSA, the cert URL
// the sim's, and the signature must check over the event as sent.
func (s *Sim) verifyWebhook(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var b struct {
		AuthAlgo         string          `json:"auth_algo"`
		CertURL          string          `json:"cert_url"`
		TransmissionID   string          `json:"transmission_id"`
		TransmissionSig  string          `json:"transmission_sig"`
		TransmissionTime string          `json:"transmission_time"`
		WebhookID        string          `json:"webhook_id"`
		WebhookEvent     json.RawMessage `json:"webhook_event"`
	}
	if !decode(w, r, &b) {
		return
	}
	for name, v := range map[string]string{"auth_algo": b.AuthAlgo, "cert_url": b.CertURL, "transmission_id": b.TransmissionID,
		"transmission_sig": b.TransmissionSig, "transmission_time": b.TransmissionTime, "webhook_id": b.WebhookID, "webhook_event": string(b.WebhookEvent)} {
		if v == "" {
			apiError(w, 400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", name)
			return
		}
	}
	s.mu.Lock()
	wh := s.webhooks[b.WebhookID]
	s.mu.Unlock()
	if wh == nil || wh.clientID != m.ClientID {
		writeJSON(w, 404, map[string]any{"name": "INVALID_RESOURCE_ID", "message": "Webhook id " + b.WebhookID + " does not exist", "debug_id": debugID()})
		return
	}
	status := "FAILURE"
	sig, err := base64.StdEncoding.DecodeString(b.TransmissionSig)
	if err == nil && b.AuthAlgo == "SHA256withRSA" && b.CertURL == s.certURL() {
		sum := sha256.Sum256(signed(b.TransmissionID, b.TransmissionTime, b.WebhookID, b.WebhookEvent))
		if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) == nil {
			status = "SUCCESS"
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification_status": status})
}

func (s *Sim) serveCert(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != s.certName {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.cert)
}

// selfSignedCert makes the certificate the PAYPAL-CERT-URL serves, so
// that a receiver verifying offline has the public key.
func selfSignedCert(k *rsa.PrivateKey) ([]byte, string) {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "messageverificationcerts.sandbox.paypal.com (polypay simulator)",
		Organization: []string{"PayPal, Inc. (simulated)"}}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), fmt.Sprintf("CERT-360caa42-fca2a594-%x", sum[:4])
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
