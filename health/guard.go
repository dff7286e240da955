package health

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/telemetry"
)

// Sources of observations.
const (
	SourceTraffic = "traffic"
	SourceProbe   = "probe"
)

type ctxKey struct{}

// ProbeContext marks calls made under ctx as probes (for metrics and the
// SLA report), not real traffic.
func ProbeContext(ctx context.Context) context.Context { return context.WithValue(ctx, ctxKey{}, true) }

func isProbe(ctx context.Context) bool { v, _ := ctx.Value(ctxKey{}).(bool); return v }

// Wrap decorates an account's connector with the account's circuit
// breaker, metrics, tracing and health observations. The decorator keeps
// the optional interfaces (Authorizer, Statementer) the connector has.
func (m *Monitor) Wrap(a Account, c polypay.Channel) polypay.Channel {
	g := &guarded{next: c, m: m, t: m.tracker(a)}
	_, auth := c.(polypay.Authorizer)
	_, stmt := c.(polypay.Statementer)
	switch {
	case auth && stmt:
		return guardedAuthStmt{guardedAuth{g}}
	case auth:
		return guardedAuth{g}
	case stmt:
		return guardedStmt{g}
	}
	return g
}

// Unwrap returns the connector a decorator wraps (c itself otherwise).
func Unwrap(c polypay.Channel) polypay.Channel {
	switch g := c.(type) {
	case *guarded:
		return g.next
	case guardedAuth:
		return g.next
	case guardedStmt:
		return g.next
	case guardedAuthStmt:
		return g.next
	}
	return c
}

type guarded struct {
	next polypay.Channel
	m    *Monitor
	t    *tracker
}

var _ polypay.Channel = (*guarded)(nil)

// Inner is the connector the decorator wraps, for the optional interfaces
// the decorator does not forward (polypay.Agreer: signing and ending
// agreements are rare calls outside the charge path's breaker).
func (g *guarded) Inner() polypay.Channel { return g.next }

type guardedAuth struct{ *guarded }

var _ polypay.Authorizer = guardedAuth{}

type guardedStmt struct{ *guarded }

var _ polypay.Statementer = guardedStmt{}

type guardedAuthStmt struct{ guardedAuth }

var _ polypay.Statementer = guardedAuthStmt{}

// systemCodes are channel answers that mean the channel itself failed
// (the request was processed badly or not at all), which count against
// its health, unlike business refusals.
var systemCodes = map[string]bool{
	"SYSTEM_ERROR": true, "SYSTEMERROR": true, "ACQ.SYSTEM_ERROR": true, "aop.ACQ.SYSTEM_ERROR": true,
	"isp.unknow-error": true, "20000": true, "channel_timeout": true,
}

// verdict classifies a call's error for the breaker and the window:
// nil (the channel answered, possibly with a refusal), errFailure, or
// errExcluded (the caller gave up; says nothing about the channel).
func verdict(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return errExcluded
	}
	if errors.Is(err, polypay.ErrBadSignature) {
		return errFailure
	}
	var pe *polypay.Error
	if errors.As(err, &pe) {
		if pe.Code == polypay.EChannel && systemCodes[pe.ChannelCode] {
			return errFailure
		}
		return nil
	}
	return errFailure
}

func (g *guarded) call(ctx context.Context, op string, fn func(context.Context) error) error {
	a := g.t.acct
	fam, acct := a.Family(), a.AccountName()
	source := SourceTraffic
	if isProbe(ctx) {
		source = SourceProbe
	}
	ctx, span := telemetry.Tracer().Start(ctx, "channel."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("polypay.channel.family", fam), attribute.String("polypay.channel.account", acct),
			attribute.String("polypay.channel.operation", op), attribute.String("polypay.channel.source", source)))
	defer span.End()
	done, err := g.t.allow()
	if err != nil {
		metrics.ChannelRequests.WithLabelValues(fam, acct, op, "rejected").Inc()
		g.m.recordSLA(a, source, -1, true)
		err = &NotAcceptedError{Reason: "breaker_open", Err: err}
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	start := time.Now()
	err = fn(ctx)
	lat := time.Since(start)
	v := verdict(ctx, err)
	done(v)
	if v == errExcluded {
		span.SetStatus(codes.Error, "canceled")
		return err
	}
	result := "ok"
	if v != nil {
		result = "error"
		span.SetStatus(codes.Error, err.Error())
	} else if err != nil {
		span.SetAttributes(attribute.String("polypay.channel.refusal", polypay.ErrorCode(err)))
	}
	metrics.ChannelRequests.WithLabelValues(fam, acct, op, result).Inc()
	metrics.ChannelLatency.WithLabelValues(fam, acct, op).Observe(lat.Seconds())
	g.m.recordSLA(a, source, latencyBucket(lat), v != nil)
	g.t.observe(lat, v != nil)
	return err
}

func (g *guarded) CreateCharge(ctx context.Context, req polypay.ChannelRequest) (cred []byte, err error) {
	err = g.call(ctx, "create_charge", func(ctx context.Context) (e error) { cred, e = g.next.CreateCharge(ctx, req); return })
	return
}

func (g *guarded) QueryCharge(ctx context.Context, c *polypay.Charge) (t *polypay.Trade, err error) {
	err = g.call(ctx, "query_charge", func(ctx context.Context) (e error) { t, e = g.next.QueryCharge(ctx, c); return })
	return
}

func (g *guarded) CloseCharge(ctx context.Context, c *polypay.Charge) error {
	return g.call(ctx, "close_charge", func(ctx context.Context) error { return g.next.CloseCharge(ctx, c) })
}

func (g *guarded) Refund(ctx context.Context, c *polypay.Charge, r *polypay.Refund, notifyURL string) (res *polypay.RefundResult, err error) {
	err = g.call(ctx, "refund", func(ctx context.Context) (e error) { res, e = g.next.Refund(ctx, c, r, notifyURL); return })
	return
}

func (g *guarded) QueryRefund(ctx context.Context, c *polypay.Charge, r *polypay.Refund) (res *polypay.RefundResult, err error) {
	err = g.call(ctx, "query_refund", func(ctx context.Context) (e error) { res, e = g.next.QueryRefund(ctx, c, r); return })
	return
}

// ParseNotification and Ack handle what the channel sends us: they are
// not calls to the channel and never pass the breaker.
func (g *guarded) ParseNotification(ctx context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	return g.next.ParseNotification(ctx, req)
}

func (g *guarded) Ack(ok bool) polypay.NotifyReply { return g.next.Ack(ok) }

func (g guardedAuth) Capture(ctx context.Context, c *polypay.Charge, amount int64) (t *polypay.Trade, err error) {
	err = g.call(ctx, "capture", func(ctx context.Context) (e error) {
		t, e = g.next.(polypay.Authorizer).Capture(ctx, c, amount)
		return
	})
	return
}

func (g guardedAuth) Void(ctx context.Context, c *polypay.Charge) error {
	return g.call(ctx, "void", func(ctx context.Context) error { return g.next.(polypay.Authorizer).Void(ctx, c) })
}

func (g guardedStmt) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	return statement(ctx, g.guarded, day)
}

func (g guardedAuthStmt) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	return statement(ctx, g.guarded, day)
}

func statement(ctx context.Context, g *guarded, day string) (lines []polypay.StatementLine, err error) {
	err = g.call(ctx, "statement", func(ctx context.Context) (e error) {
		lines, e = g.next.(polypay.Statementer).Statement(ctx, day)
		return
	})
	return
}
