package stripe

import (
	"context"

	sg "github.com/stripe/stripe-go/v85"
)

// ensureWebhook registers a webhook endpoint for notifyURL once per
// connector when RegisterWebhook is set (sandbox accounts), with the
// events the connector handles and stripe-go's API version, which
// ParseNotification requires of events. A failure is logged and tried
// again on the next charge: the charge itself does not depend on it.
func (c *Client) ensureWebhook(ctx context.Context, notifyURL string) {
	if !c.cfg.RegisterWebhook || notifyURL == "" {
		return
	}
	c.mu.Lock()
	done := c.webhooks[notifyURL]
	c.mu.Unlock()
	if done {
		return
	}
	if err := c.EnsureWebhookEndpoint(ctx, notifyURL); err != nil {
		c.log.Warn("stripe: registering the webhook endpoint failed; will try again", "url", notifyURL, "err", err)
		return
	}
	c.mu.Lock()
	c.webhooks[notifyURL] = true
	c.mu.Unlock()
}

// EnsureWebhookEndpoint creates an endpoint for url unless the account
// has one (GET /v1/webhook_endpoints, then POST /v1/webhook_endpoints).
func (c *Client) EnsureWebhookEndpoint(ctx context.Context, url string) error {
	cctx, cancel := c.call(ctx)
	defer cancel()
	lp := &sg.WebhookEndpointListParams{}
	lp.Limit = sg.Int64(100)
	for ep, err := range c.api.V1WebhookEndpoints.List(cctx, lp).All(cctx) {
		if err != nil {
			return apiError("webhook endpoints", err)
		}
		if ep.URL == url && ep.Status == "enabled" {
			return nil
		}
	}
	p := &sg.WebhookEndpointCreateParams{URL: sg.String(url), APIVersion: sg.String(sg.APIVersion),
		Description: sg.String("polypay notifications")}
	for _, e := range Events {
		p.EnabledEvents = append(p.EnabledEvents, sg.String(e))
	}
	p.IdempotencyKey = sg.String("polypay-we-" + c.cfg.AccountID + "-" + url)
	if _, err := c.api.V1WebhookEndpoints.Create(cctx, p); err != nil {
		return apiError("webhook endpoint", err)
	}
	return nil
}
