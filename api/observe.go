package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/telemetry"
)

// startSpan opens the request's server span, continuing the caller's
// trace when it sent a traceparent. It is renamed to the route pattern
// once the mux has matched one.
func startSpan(ctx context.Context, r *http.Request, requestID string) (context.Context, trace.Span) {
	ctx = telemetry.Extract(ctx, r.Header)
	return telemetry.Tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("polypay.request_id", requestID)))
}

// endSpan names and ends the span and counts the request by route
// pattern (never the raw path, whose ids would explode the series).
func endSpan(span trace.Span, r *http.Request, status int, d time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
	metrics.APIRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	metrics.APILatency.WithLabelValues(route).Observe(d.Seconds())
}
