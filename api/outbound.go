package api

import (
	"context"
	"time"

	"github.com/polypay/polypay"
)

// checkWebhookURL applies the outbound policy to a webhook URL being
// registered in a mode (test mode reaches loopback and private addresses,
// live mode only what the operator allows). The dispatcher checks every
// connection again; this tells the merchant at once.
func (s *Server) checkWebhookURL(ctx context.Context, raw string, live bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Outbound.CheckURLContext(ctx, raw, live); err != nil {
		e := polypay.ParamError("url", "url 不可用: %v", err)
		e.Err = err
		return e
	}
	return nil
}
