// Package metrics holds polypay's Prometheus metrics. They live in one
// registry of their own (not the global default) so that what /metrics
// exports is exactly what monitoring/ relies on, which a test checks.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every process-wide metric below.
var Registry = prometheus.NewRegistry()

// Latency buckets in seconds: channel calls range from a few milliseconds
// (simulators) to the 30 s client timeout.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

var (
	// ChannelRequests counts calls to channel accounts. result is ok (the
	// channel answered, success or a business refusal), error (transport
	// failure, 5xx or a channel system error) or rejected (the account's
	// circuit breaker was open and nothing was sent).
	ChannelRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_channel_requests_total", Help: "Calls to channel accounts by family, account, operation and result."},
		[]string{"family", "account", "operation", "result"})
	ChannelLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "polypay_channel_request_duration_seconds", Help: "Latency of calls sent to channel accounts.", Buckets: latencyBuckets},
		[]string{"family", "account", "operation"})
	// ChannelProbes counts active health probes by result (ok, error, rejected).
	ChannelProbes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_channel_probes_total", Help: "Active health probes of channel accounts by result."},
		[]string{"family", "account", "result"})
	// ChannelHealth is 1 for an account's current state and 0 for the
	// others (state: healthy, degraded, down).
	ChannelHealth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "polypay_channel_health", Help: "Channel account health: 1 for the current state (healthy, degraded, down)."},
		[]string{"app", "livemode", "family", "account", "state"})
	// ChannelBreaker is the circuit breaker state: 0 closed, 1 half-open, 2 open.
	ChannelBreaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "polypay_channel_breaker_state", Help: "Circuit breaker per channel account: 0 closed, 1 half-open, 2 open."},
		[]string{"app", "livemode", "family", "account"})
	// RoutingFallbacks counts charges moved from one account to the next.
	RoutingFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_routing_fallbacks_total", Help: "Charge creations moved to another account after one failed before acceptance."},
		[]string{"family", "from_account", "reason"})

	// Notifications counts asynchronous notifications by outcome (the
	// notification log's: applied, duplicate, rejected_signature, ...).
	Notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_notifications_total", Help: "Channel notifications received, by family and outcome."},
		[]string{"family", "outcome"})
	// NotificationLag is the time from payment (the channel's pay time) to
	// the notification that told polypay.
	NotificationLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "polypay_notification_lag_seconds", Help: "Delay between payment and the notification reporting it.",
		Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 900, 3600}},
		[]string{"family"})

	// ChargesCreated and ChargesPaid give the payment success rate by channel.
	ChargesCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_charges_created_total", Help: "Charges created, by Ping++ channel."}, []string{"channel"})
	ChargesPaid = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_charges_paid_total", Help: "Charges paid, by Ping++ channel."}, []string{"channel"})

	// WebhookDeliveries counts delivery attempts by result (acked, failed, gave_up).
	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_webhook_deliveries_total", Help: "Webhook delivery attempts by result (acked, failed, gave_up)."},
		[]string{"result"})
	WebhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "polypay_webhook_delivery_duration_seconds", Help: "Latency of webhook delivery attempts.", Buckets: latencyBuckets})

	// APIRequests counts API requests by route pattern (never the raw path:
	// ids would explode the series) and status.
	APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_api_requests_total", Help: "API requests by route pattern and status code."},
		[]string{"route", "status"})
	APILatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "polypay_api_request_duration_seconds", Help: "API request latency by route pattern.", Buckets: latencyBuckets},
		[]string{"route"})
	// RiskDecisions counts risk decisions by rule kind (allow_list,
	// block_list, card_testing, card_spread, merchant_rule, none) and
	// action: fixed sets, never a merchant rule's id or name.
	RiskDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polypay_risk_decisions_total", Help: "Risk decisions by rule kind and action."},
		[]string{"rule", "action"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		ChannelRequests, ChannelLatency, ChannelProbes, ChannelHealth, ChannelBreaker, RoutingFallbacks,
		Notifications, NotificationLag, ChargesCreated, ChargesPaid,
		WebhookDeliveries, WebhookLatency, APIRequests, APILatency, RiskDecisions)
}

// Backlog reports a node's queues, read from the store at scrape time.
type Backlog interface {
	// Backlog returns the pending webhook deliveries, and the charges and
	// refunds whose background check is due at now.
	Backlog(ctx context.Context, now time.Time) (deliveries, charges, refunds int, err error)
}

// backlogCollector turns Backlog into gauges at each scrape.
type backlogCollector struct {
	src              Backlog
	del, chg, refund *prometheus.Desc
	failed           *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.del
	ch <- c.chg
	ch <- c.refund
	ch <- c.failed
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	d, cg, r, err := c.src.Backlog(ctx, time.Now())
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.del, prometheus.GaugeValue, float64(d))
	ch <- prometheus.MustNewConstMetric(c.chg, prometheus.GaugeValue, float64(cg))
	ch <- prometheus.MustNewConstMetric(c.refund, prometheus.GaugeValue, float64(r))
}

// Handler serves the process's metrics plus the node's backlog gauges
// (src may be nil).
func Handler(src Backlog) http.Handler {
	g := prometheus.Gatherers{Registry}
	if src != nil {
		node := prometheus.NewRegistry()
		node.MustRegister(&backlogCollector{src: src,
			del:    prometheus.NewDesc("polypay_webhook_backlog", "Webhook deliveries not yet acknowledged and not given up.", nil, nil),
			chg:    prometheus.NewDesc("polypay_job_backlog_charges", "Unpaid charges whose background check (query, expiry) is due.", nil, nil),
			refund: prometheus.NewDesc("polypay_job_backlog_refunds", "Pending refunds whose background query is due.", nil, nil),
			failed: prometheus.NewDesc("polypay_backlog_scrape_error", "1 when the store could not be read for the backlog gauges.", nil, nil)})
		g = append(g, node)
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// Live renders a boolean label.
func Live(live bool) string {
	if live {
		return "true"
	}
	return "false"
}
