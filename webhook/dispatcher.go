package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/telemetry"
	"github.com/polypay/polypay/wire"
)

// Schedule is the gap before each retry, after the first attempt: Ping++'s
// own (2m, 10m, 10m, 1h, 2h, 6h, 15h), so 8 attempts over about 24 h 22 min.
var Schedule = []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// Dispatcher sends queued deliveries. Several dispatchers (on several nodes)
// may share a store: each delivery is leased to one of them at a time.
type Dispatcher struct {
	DB *store.DB
	// Keys signs each delivery with its app and mode's key (*Keys).
	Keys Signers
	// Policy decides where deliveries may connect, on every connection,
	// by the endpoint's mode (nil: no allowances); see NewClient.
	Policy   *outbound.Policy
	Log      *slog.Logger
	Now      func() time.Time
	Schedule []time.Duration
	Workers  int
	// AttemptTimeout bounds each attempt (default 10 s; tests shorten it).
	AttemptTimeout time.Duration

	kick chan struct{}
	once sync.Once
	// clients: test mode's and live mode's (see client)
	clients     [2]*http.Client
	clientsOnce sync.Once
}

func (d *Dispatcher) init() {
	d.once.Do(func() { d.kick = make(chan struct{}, 1) })
}

// Kick wakes the dispatcher: new deliveries were committed.
func (d *Dispatcher) Kick() {
	d.init()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	for ctx.Err() == nil {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.Error("webhook dispatcher", "err", err)
		}
		if n > 0 {
			continue // there may be more due
		}
		wait := d.untilNext(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-time.After(wait):
		}
	}
}

// untilNext is how long to sleep: until the next retry falls due, at most
// a second (a kick or another node's work may come sooner).
func (d *Dispatcher) untilNext(ctx context.Context) time.Duration {
	var next int64
	if err := d.DB.Read(ctx, func(tx *store.Tx) (err error) {
		next, err = tx.NextDeliveryAt(ctx)
		return
	}); err != nil || next == 0 {
		return time.Second
	}
	wait := time.Duration(next-d.now().UnixMilli()) * time.Millisecond
	switch {
	case wait < 5*time.Millisecond:
		return 5 * time.Millisecond
	case wait > time.Second:
		return time.Second
	}
	return wait
}

// RunOnce claims the due deliveries and sends them; it returns how many.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	now := d.now().UnixMilli()
	var ds []*store.Delivery
	// Claim without the caller's cancellation: a commit interrupted by
	// shutdown may have happened anyway, and then its claims would sit
	// leased for a minute with nobody sending them.
	bg := context.WithoutCancel(ctx)
	err := d.DB.Write(bg, func(tx *store.Tx) error {
		var err error
		ds, err = tx.ClaimDeliveries(bg, now, now+60_000, 64)
		return err
	})
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	workers := d.Workers
	if workers <= 0 {
		workers = 16
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, del := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.deliver(ctx, del)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

func (d *Dispatcher) deliver(ctx context.Context, del *store.Delivery) {
	if ctx.Err() != nil {
		// Shutting down before sending: hand the delivery back at once
		// rather than leaving it leased for a minute.
		bg := context.WithoutCancel(ctx)
		if err := d.DB.Write(bg, func(tx *store.Tx) error { return tx.ReleaseDelivery(bg, del.ID) }); err != nil {
			d.Log.Error("webhook: releasing lease", "delivery", del.ID, "err", err)
		}
		return
	}
	var pending int
	bg := context.WithoutCancel(ctx)
	if err := d.DB.Read(bg, func(tx *store.Tx) error {
		var err error
		pending, err = tx.PendingWebhooks(bg, del.Event.ID)
		return err
	}); err != nil {
		d.Log.Error("webhook: counting pending", "err", err)
		return // the lease runs out and another pass retries
	}
	body, err := wire.Marshal(wire.FromEvent(del.Event, pending))
	if err != nil {
		d.Log.Error("webhook: encoding event", "event", del.Event.ID, "err", err)
		return
	}
	signer, err := d.Keys.Signer(bg, del.EndpointApp, del.Event.Livemode)
	if err != nil {
		d.Log.Error("webhook: signing key", "event", del.Event.ID, "err", err)
		return // the lease runs out and another pass retries
	}
	sctx, span := telemetry.Tracer().Start(telemetry.Events.Context(bg, del.Event.ID), "webhook.deliver",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("polypay.event.id", del.Event.ID),
			attribute.String("polypay.event.type", del.Event.Type), attribute.Int("polypay.webhook.attempt", del.Attempts+1)))
	defer span.End()
	start := d.now()
	a := store.Attempt{At: start.UnixMilli()}
	// An attempt under way finishes even during shutdown (bounded by the
	// client timeout): cutting it off would cost the merchant a retry gap.
	req, err := http.NewRequestWithContext(bg, http.MethodPost, del.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("User-Agent", "polypay-webhooks/1")
		req.Header.Set(SignatureHeader, signer.Sign(body))
		telemetry.Inject(sctx, req.Header)
		var resp *http.Response
		resp, err = d.client(del.Event.Livemode).Do(req)
		if err == nil {
			excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			a.StatusCode = resp.StatusCode
			a.Response = string(bytes.ToValidUTF8(excerpt, []byte("?")))
		}
	}
	latency := d.now().Sub(start).Milliseconds()
	if err != nil {
		a.Error = publicError(err)
		d.Log.Debug("webhook delivery error", "delivery", del.ID, "url", logURL(del.URL), "err", causeOf(err))
	} else {
		// Only an answer's latency is shown: a failed connection's would
		// tell a closed port (at once) from a filtered one (a timeout).
		a.LatencyMS = latency
	}
	acked := a.StatusCode >= 200 && a.StatusCode < 300
	sched := d.Schedule
	if sched == nil {
		sched = Schedule
	}
	attempt := del.Attempts + 1
	gaveUp := !acked && attempt > len(sched)
	var next int64
	if !acked && !gaveUp {
		next = d.now().Add(sched[attempt-1]).UnixMilli()
	}
	// Record what happened even if shutdown begins meanwhile: an attempt
	// that reached the merchant must not be forgotten.
	if err := d.DB.Write(bg, func(tx *store.Tx) error {
		return tx.RecordAttempt(bg, del.ID, a, acked, gaveUp, next)
	}); err != nil {
		d.Log.Error("webhook: recording attempt", "delivery", del.ID, "err", err)
		return
	}
	result := "acked"
	switch {
	case gaveUp:
		result = "gave_up"
	case !acked:
		result = "failed"
	}
	metrics.WebhookDeliveries.WithLabelValues(result).Inc()
	metrics.WebhookLatency.Observe(float64(latency) / 1000)
	span.SetAttributes(attribute.Int("http.response.status_code", a.StatusCode), attribute.String("polypay.webhook.result", result))
	if !acked {
		span.SetStatus(codes.Error, result)
	}
	lvl := slog.LevelInfo
	if !acked {
		lvl = slog.LevelWarn
	}
	d.Log.Log(ctx, lvl, "webhook delivery", "event", del.Event.ID, "type", del.Event.Type, "attempt", attempt,
		"status", a.StatusCode, "latency_ms", latency, "acked", acked, "gave_up", gaveUp)
}
