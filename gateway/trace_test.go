package gateway_test

import (
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/telemetry"
)

// TestChargeSpanTree: with tracing on, creating a charge makes a server
// span for the API route with the channel call as its child, and paying
// it makes the notification's span the parent of the webhook delivery.
func TestChargeSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	telemetry.Install(tp)
	t.Cleanup(func() { telemetry.Install(noop.NewTracerProvider()) })

	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	exp.Reset()
	id := e.createCharge("TRACE1", 100)
	byName := func(name string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range exp.GetSpans().Snapshots() {
			if s.Name() == name {
				out = append(out, s)
			}
		}
		return out
	}
	api := byName("POST /v1/charges")
	create := byName("channel.create_charge")
	if len(api) != 1 || len(create) != 1 {
		t.Fatalf("spans: api %d, create_charge %d", len(api), len(create))
	}
	if create[0].Parent().SpanID() != api[0].SpanContext().SpanID() || create[0].SpanContext().TraceID() != api[0].SpanContext().TraceID() {
		t.Fatalf("channel span is not the API span's child")
	}
	attrs := map[string]string{}
	for _, a := range create[0].Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["polypay.channel.family"] != "alipay" || attrs["polypay.channel.account"] != "default" {
		t.Fatalf("channel span attributes %v", attrs)
	}

	e.pay(id)
	rc.waitEvents(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for len(byName("webhook.deliver")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	notify := byName("POST /notify/{family}/{app}/{mode}")
	deliver := byName("webhook.deliver")
	if len(notify) == 0 || len(deliver) == 0 {
		t.Fatalf("spans: notify %d, deliver %d", len(notify), len(deliver))
	}
	found := false
	for _, n := range notify {
		if deliver[0].Parent().SpanID() == n.SpanContext().SpanID() && deliver[0].SpanContext().TraceID() == n.SpanContext().TraceID() {
			found = true
		}
	}
	if !found {
		t.Fatalf("webhook delivery is not a child of the notification's span")
	}
}
