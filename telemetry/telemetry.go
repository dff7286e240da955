// Package telemetry sets up OpenTelemetry tracing. Tracing is off unless
// an OTLP endpoint is configured: until Setup installs a provider, otel's
// global tracer is a no-op and spans cost almost nothing.
package telemetry

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracer is polypay's tracer (through the global provider, so a provider
// installed later, by Setup or a test, takes effect).
func Tracer() trace.Tracer { return otel.Tracer("github.com/polypay/polypay") }

// Setup exports spans over OTLP/HTTP to endpoint (host:port or a URL) and
// returns a shutdown func that flushes them. An empty endpoint leaves
// tracing off.
func Setup(ctx context.Context, endpoint string) (func(context.Context) error, error) {
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	var opt otlptracehttp.Option
	if strings.Contains(endpoint, "://") {
		opt = otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/") + "/v1/traces")
	} else {
		opt = otlptracehttp.WithEndpoint(endpoint)
	}
	opts := []otlptracehttp.Option{opt}
	if strings.HasPrefix(endpoint, "http://") || !strings.Contains(endpoint, "://") && strings.HasPrefix(endpoint, "127.0.0.1") {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("polypay"))))
	Install(tp)
	return tp.Shutdown, nil
}

// Install makes tp the global provider, with W3C trace context propagation.
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
}

// Inject writes ctx's trace context into outgoing headers (traceparent).
func Inject(ctx context.Context, h http.Header) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract reads a caller's trace context from incoming headers.
func Extract(ctx context.Context, h http.Header) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(h))
}

// Events remembers the span context an event was emitted under, so the
// webhook deliveries of that event join its trace. It is per process and
// bounded: a delivery made by another node, or long after, starts a trace
// of its own.
var Events = &eventSpans{m: map[string]trace.SpanContext{}}

type eventSpans struct {
	mu    sync.Mutex
	m     map[string]trace.SpanContext
	order []string
}

const maxEventSpans = 10000

// Remember records the span context of ctx for an event id.
func (e *eventSpans) Remember(ctx context.Context, eventID string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.m[eventID]; !ok {
		e.order = append(e.order, eventID)
	}
	e.m[eventID] = sc
	for len(e.order) > maxEventSpans {
		delete(e.m, e.order[0])
		e.order = e.order[1:]
	}
}

// Context returns ctx with the event's remembered span as remote parent.
func (e *eventSpans) Context(ctx context.Context, eventID string) context.Context {
	e.mu.Lock()
	sc, ok := e.m[eventID]
	e.mu.Unlock()
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}
