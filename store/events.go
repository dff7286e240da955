package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// InsertEvent stores an event and, in the same transaction, one outbox row
// per live webhook endpoint of the app and mode, and of the apps above it
// when it is a sub-app (a platform hears about its merchants). It returns
// the number of deliveries queued.
func (tx *Tx) InsertEvent(ctx context.Context, e *polypay.Event, nowMS int64) (int, error) {
	if _, err := tx.exec(ctx, `INSERT INTO events (id, app_id, livemode, type, created, object, request_id) VALUES (?,?,?,?,?,?,?)`,
		e.ID, e.AppID, b2i(e.Livemode), e.Type, e.Created, string(e.Object), e.RequestID); err != nil {
		return 0, err
	}
	var eps []string
	for app, depth := e.AppID, 0; app != "" && depth <= MaxSubAppLevel; depth++ {
		ids, err := tx.ids(ctx, `SELECT id FROM webhook_endpoints WHERE app_id=? AND livemode=? AND deleted=0`, app, b2i(e.Livemode))
		if err != nil {
			return 0, err
		}
		eps = append(eps, ids...)
		if app, err = tx.ParentOf(ctx, app); err != nil {
			return 0, err
		}
	}
	for _, ep := range eps {
		if _, err := tx.exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, attempts, next_at, created)
 VALUES (?,?,?,'pending',0,?,?)`, polypay.NewID("whd_"), e.ID, ep, nowMS, tx.now); err != nil {
			return 0, err
		}
	}
	return len(eps), nil
}

func scanEvent(s scanner) (*polypay.Event, error) {
	var e polypay.Event
	var live int
	var obj string
	if err := s.Scan(&e.ID, &e.AppID, &live, &e.Type, &e.Created, &obj, &e.RequestID); err != nil {
		return nil, err
	}
	e.Livemode = live == 1
	e.Object = []byte(obj)
	return &e, nil
}

// GetEvent returns the app's event; ENotFound otherwise.
func (tx *Tx) GetEvent(ctx context.Context, appID string, live bool, id string) (*polypay.Event, error) {
	e, err := scanEvent(tx.queryRow(ctx, `SELECT id, app_id, livemode, type, created, object, request_id FROM events
 WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("event", id)
	}
	return e, err
}

// PendingWebhooks counts an event's deliveries not yet acknowledged.
func (tx *Tx) PendingWebhooks(ctx context.Context, eventID string) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE event_id=? AND status='pending'`, eventID).Scan(&n)
	return n, err
}

// InsertWebhookEndpoint registers a merchant URL.
func (tx *Tx) InsertWebhookEndpoint(ctx context.Context, w *polypay.WebhookEndpoint) error {
	_, err := tx.exec(ctx, `INSERT INTO webhook_endpoints (id, app_id, livemode, url, created) VALUES (?,?,?,?,?)`,
		w.ID, w.AppID, b2i(w.Livemode), w.URL, w.Created)
	return err
}

// ListWebhookEndpoints lists the app's endpoints in a mode, oldest first.
func (tx *Tx) ListWebhookEndpoints(ctx context.Context, appID string, live bool) ([]*polypay.WebhookEndpoint, error) {
	rows, err := tx.query(ctx, `SELECT id, url, created FROM webhook_endpoints WHERE app_id=? AND livemode=? AND deleted=0 ORDER BY id`,
		appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.WebhookEndpoint
	for rows.Next() {
		w := &polypay.WebhookEndpoint{AppID: appID, Livemode: live}
		if err := rows.Scan(&w.ID, &w.URL, &w.Created); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeleteWebhookEndpoint removes an endpoint and abandons its queued
// deliveries; ENotFound if it is not the app's.
func (tx *Tx) DeleteWebhookEndpoint(ctx context.Context, appID string, live bool, id string) error {
	res, err := tx.exec(ctx, `UPDATE webhook_endpoints SET deleted=1 WHERE id=? AND app_id=? AND livemode=? AND deleted=0`, id, appID, b2i(live))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return polypay.NotFound("webhook_endpoint", id)
	}
	_, err = tx.exec(ctx, `UPDATE deliveries SET status='canceled' WHERE endpoint_id=? AND status='pending'`, id)
	return err
}

// Delivery is one queued webhook POST of an event to an endpoint.
type Delivery struct {
	ID       string
	Attempts int
	URL      string
	// EndpointApp owns the endpoint: its webhook key signs the delivery
	// (a platform verifies its sub-apps' events with its own key).
	EndpointApp string
	Event       *polypay.Event
}

// ClaimDeliveries leases up to limit due deliveries until leaseUntil (ms),
// so that one node sends each; a crashed sender's lease simply runs out.
func (tx *Tx) ClaimDeliveries(ctx context.Context, nowMS, leaseUntil int64, limit int) ([]*Delivery, error) {
	rows, err := tx.query(ctx, `SELECT d.id, d.attempts, w.url, w.app_id, e.id, e.app_id, e.livemode, e.type, e.created, e.object, e.request_id
 FROM deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id JOIN events e ON e.id = d.event_id
 WHERE d.status = 'pending' AND d.next_at <= ? AND d.lease_until <= ? ORDER BY d.next_at LIMIT ?`, nowMS, nowMS, limit)
	if err != nil {
		return nil, err
	}
	var out []*Delivery
	for rows.Next() {
		d := &Delivery{Event: &polypay.Event{}}
		var live int
		var obj string
		if err := rows.Scan(&d.ID, &d.Attempts, &d.URL, &d.EndpointApp, &d.Event.ID, &d.Event.AppID, &live, &d.Event.Type,
			&d.Event.Created, &obj, &d.Event.RequestID); err != nil {
			rows.Close()
			return nil, err
		}
		d.Event.Livemode, d.Event.Object = live == 1, []byte(obj)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	claimed := out[:0]
	for _, d := range out {
		ok, err := tx.claim(ctx, `UPDATE deliveries SET lease_until=? WHERE id=? AND status='pending' AND lease_until <= ?`, leaseUntil, d.ID, nowMS)
		if err != nil {
			return nil, err
		}
		if ok {
			claimed = append(claimed, d)
		}
	}
	return claimed, nil
}

// Attempt is the record of one webhook POST.
type Attempt struct {
	At         int64 // ms
	StatusCode int   // 0 when no HTTP answer came
	LatencyMS  int64
	Error      string
	Response   string // excerpt of the body
}

// RecordAttempt logs an attempt and moves the delivery on: done when
// acknowledged, failed when gaveUp, else due again at nextAt (ms).
func (tx *Tx) RecordAttempt(ctx context.Context, deliveryID string, a Attempt, acked, gaveUp bool, nextAt int64) error {
	if _, err := tx.exec(ctx, `INSERT INTO delivery_attempts (id, delivery_id, at, status_code, latency_ms, error, response)
 VALUES (?,?,?,?,?,?,?)`, polypay.NewID("wha_"), deliveryID, a.At, a.StatusCode, a.LatencyMS, a.Error, a.Response); err != nil {
		return err
	}
	status := "pending"
	switch {
	case acked:
		status = "succeeded"
	case gaveUp:
		status = "failed"
	}
	_, err := tx.exec(ctx, `UPDATE deliveries SET attempts = attempts + 1, status = ?, next_at = ?, lease_until = 0 WHERE id = ?`,
		status, nextAt, deliveryID)
	return err
}

// DeliveryLog is a delivery with its attempts, for inspection.
type DeliveryLog struct {
	ID         string
	EventID    string
	EndpointID string
	Status     string
	Attempts   []Attempt
}

// DeliveriesForEvent returns an event's deliveries and their attempts.
func (tx *Tx) DeliveriesForEvent(ctx context.Context, eventID string) ([]*DeliveryLog, error) {
	rows, err := tx.query(ctx, `SELECT d.id, d.endpoint_id, d.status, a.at, a.status_code, a.latency_ms, a.error, a.response
 FROM deliveries d LEFT JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.event_id = ? ORDER BY d.id, a.at`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*DeliveryLog
	for rows.Next() {
		var id, ep, status string
		var at, lat sql.NullInt64
		var code sql.NullInt64
		var e, resp sql.NullString
		if err := rows.Scan(&id, &ep, &status, &at, &code, &lat, &e, &resp); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, &DeliveryLog{ID: id, EventID: eventID, EndpointID: ep, Status: status})
		}
		if at.Valid {
			d := out[len(out)-1]
			d.Attempts = append(d.Attempts, Attempt{At: at.Int64, StatusCode: int(code.Int64), LatencyMS: lat.Int64, Error: e.String, Response: resp.String})
		}
	}
	return out, rows.Err()
}

// NextDeliveryAt returns the earliest next_at (ms) among pending deliveries, or 0.
func (tx *Tx) NextDeliveryAt(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := tx.queryRow(ctx, `SELECT MIN(CASE WHEN lease_until > next_at THEN lease_until ELSE next_at END) FROM deliveries WHERE status='pending'`).Scan(&n)
	return n.Int64, err
}

// ReleaseDelivery gives up a lease without an attempt (shutting down), so
// another node or the next process sends it at once.
func (tx *Tx) ReleaseDelivery(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, `UPDATE deliveries SET lease_until = 0 WHERE id = ? AND status = 'pending'`, id)
	return err
}
