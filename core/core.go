// Package core orchestrates polypay: creating charges and refunds through
// channel connectors, and applying what channels report (notifications and
// active queries) as single transactions of state change, ledger postings,
// event and outbox rows.
package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/identity"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/telemetry"
	"github.com/polypay/polypay/wire"
)

// Channels resolves the connector for an app's channel in a mode.
type Channels interface {
	// Channel returns the connector; EInvalid (param channel) when the app
	// has no credentials for it in that mode.
	Channel(ctx context.Context, appID string, live bool, channel string) (polypay.Channel, error)
	// ForNotification returns the connector that verifies notifications of
	// a channel family for an app and mode, and the channel-side merchant
	// id those notifications must name.
	ForNotification(ctx context.Context, family, appID string, live bool) (polypay.Channel, string, error)
	// Family maps a Ping++ channel name to its family ("alipay_qr" -> "alipay").
	Family(channel string) string
	// Supported reports whether polypay has a connector for a channel name.
	Supported(channel string) bool
	// TradeID returns the channel's id of a charge's trade as polypay
	// keeps it (in the charge's credential or transaction_no), "" when it
	// keeps none. It makes no call. A notification or query answer naming
	// another trade is refused (MatchTrade).
	TradeID(c *polypay.Charge) string
}

// Service is the gateway core.
type Service struct {
	DB       *store.DB
	Channels Channels
	// Identity checks live-mode identities (POST /v1/identification); nil:
	// live checks answer not_supported. Test mode uses identity.Sandbox.
	Identity identity.Verifier
	// Cards resolves the cards of card charges (the vault); nil disables them.
	Cards CardSource
	// BaseURL is where channels reach polypay (notifications), e.g.
	// http://127.0.0.1:8080.
	BaseURL string
	Log     *slog.Logger
	Now     func() time.Time
	// OnEvent is called after a transaction that queued webhook deliveries
	// committed, so the dispatcher can send them without waiting for a poll.
	OnEvent func()

	// Payouts finds the payout connectors (transfers, red envelopes); nil
	// refuses them.
	Payouts PayoutChannels
	// Box seals what payouts must not keep in plaintext (a payee's card
	// number); nil refuses such payouts.
	Box *seal.Box
	// PaycodeVersions are the offline payment-code versions this node
	// accepts (nil: every one package paycode knows); leaving one out
	// retires it, and its codes are refused naming extra[scan_code].
	PaycodeVersions []int
	// Dunning is when a failed subscription debit is tried again, counted
	// from each failure (nil: DefaultDunning); after the last retry fails
	// the subscription is canceled.
	Dunning []time.Duration

	// Risk screens every new charge before its channel is called (package
	// risk); nil screens nothing.
	Risk *risk.Engine

	// Health is the channel accounts' health (routing skips down
	// accounts, the cashier hides channels without a usable one); nil
	// treats every account as healthy.
	Health *health.Monitor

	// RejectedRetention is how long records of rejected notifications are
	// kept (default DefaultRejectedRetention); RejectedPerApp caps how many
	// an app keeps (default DefaultRejectedPerApp).
	RejectedRetention time.Duration
	RejectedPerApp    int

	lastHousekeep atomic.Int64
	healthOnce    sync.Once
	health        *ChannelHealth // see ChannelHealth
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Clock is the service's clock (Now, or the wall clock).
func (s *Service) Clock() time.Time { return s.now() }

// Caller identifies who makes a request.
type Caller struct {
	App       *polypay.App
	Live      bool
	RequestID string
}

// Hook runs inside every write transaction that produces the object returned
// to the caller; the API uses it to store Idempotency-Key results atomically
// with the state change.
type Hook func(tx Tx, obj any) error

// firstThen is a hook that runs first in the first transaction that calls
// it and then h, and only h after: CreateRefund calls its hook again when
// the channel answers at once (to store the final object under the
// Idempotency-Key), and what first does must happen once.
func firstThen(first, h Hook) Hook {
	done := false
	return func(tx Tx, obj any) error {
		if !done {
			if err := first(tx, obj); err != nil {
				return err
			}
			done = true
		}
		return runHook(h, tx, obj)
	}
}

func runHook(h Hook, tx Tx, obj any) error {
	if h == nil {
		return nil
	}
	return h(tx, obj)
}

// NotifyURL is where a channel sends notifications for an app and mode.
func (s *Service) NotifyURL(family, appID string, live bool) string {
	mode := "test"
	if live {
		mode = "live"
	}
	return s.BaseURL + "/notify/" + family + "/" + appID + "/" + mode
}

// secretHash is hashJSON keyed with the master key when the node has one:
// for parameters that may carry a card number (a transfer's extra).
func (s *Service) secretHash(name string, v any) string {
	if s.Box == nil {
		return hashJSON(v)
	}
	b, _ := json.Marshal(v)
	return s.Box.MAC(name, b)[:32]
}

func hashJSON(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// RenderCharge renders a charge with its refunds as Ping++ JSON.
func RenderCharge(ctx context.Context, tx RefundStore, c *polypay.Charge) (*wire.Charge, error) {
	var refunds []*polypay.Refund
	more := false
	if c.Refunded {
		var err error
		refunds, more, err = tx.ListRefunds(ctx, c.ID, "", "", 10)
		if err != nil {
			return nil, err
		}
	}
	return wire.FromCharge(c, refunds, more), nil
}

// emit stores an event for obj and queues its webhook deliveries.
func (s *Service) emit(ctx context.Context, tx EventStore, appID string, live bool, typ, requestID string, obj any) (int, error) {
	body, err := wire.Marshal(obj)
	if err != nil {
		return 0, err
	}
	e := &polypay.Event{ID: polypay.NewID("evt_"), AppID: appID, Livemode: live, Type: typ,
		Created: tx.Now(), Object: body, RequestID: requestID}
	telemetry.Events.Remember(ctx, e.ID)         // its webhook deliveries join this trace
	return tx.InsertEvent(ctx, e, tx.Now()*1000) // due at once, by the store's clock
}

func (s *Service) kick(n int) {
	if n > 0 && s.OnEvent != nil {
		s.OnEvent()
	}
}

type retriedKey struct{}

// retryOnce lets a create that lost a race on its order_no (a unique
// violation) run once more, to answer the object the winner stored. Once
// only: a violation that repeats is not that race (a concurrent request
// with the same Idempotency-Key stored its key), and it goes back to the
// caller, whose idempotency layer replays the winner's answer.
func retryOnce(ctx context.Context) (context.Context, bool) {
	if ctx.Value(retriedKey{}) != nil {
		return ctx, false
	}
	return context.WithValue(ctx, retriedKey{}, true), true
}

// renderList renders a page of objects as a Ping++ list at url.
// listPage reads one page of an app's objects (a cursor checked against
// table first) and renders it as a list.
func listPage[T any](ctx context.Context, s *Service, who Caller, table, url string, p store.Page,
	fetch func(Tx) ([]T, bool, error), render func(T) any) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, table, who, p); err != nil {
			return err
		}
		xs, more, err := fetch(tx)
		if err != nil {
			return err
		}
		list, err = renderList(url, xs, more, func(x T) (any, error) { return render(x), nil })
		return err
	})
	return list, err
}

func renderList[T any](url string, xs []T, more bool, render func(T) (any, error)) (wire.List, error) {
	data := make([]any, 0, len(xs))
	for _, x := range xs {
		w, err := render(x)
		if err != nil {
			return wire.List{}, err
		}
		data = append(data, w)
	}
	return wire.NewList(url, more, data), nil
}
