package webhook

import (
	"context"
	"time"

	"github.com/polypay/polypay/store"
)

// Resend queues a delivery's event again to the same endpoint, due now, as
// a new outbox row with a fresh retry schedule; the old delivery keeps its
// log. It returns the new delivery's id; ENotFound when the delivery is
// unknown or its endpoint was deleted. Kick the dispatcher afterwards.
func Resend(ctx context.Context, db *store.DB, deliveryID string, now time.Time) (string, error) {
	var id string
	err := db.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.RequeueDelivery(ctx, deliveryID, now.UnixMilli())
		return err
	})
	return id, err
}
