package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/polypay/polypay"
)

// Emitter stores an event and queues its webhooks (core.Service).
type Emitter interface {
	EmitSummary(ctx context.Context, appID string, live bool, typ string, obj any) error
}

// Daily is the daily reconciliation job: at At (Beijing time) it
// reconciles the previous day for every app, mode and family with
// credentials, then sends each app summary.daily.available. Each day is
// claimed in the store, so several nodes sharing one database run it once.
type Daily struct {
	Engine   *Engine
	Families Families
	// Configured reports whether an app has credentials for a family in a
	// mode; families without are skipped.
	Configured func(ctx context.Context, appID string, live bool, family string) (bool, error)
	Events     Emitter // nil sends no summary events
	Owner      string  // this node, recorded with the claim
	At         time.Duration
	Now        func() time.Time
	Log        *slog.Logger
}

// DefaultDailyAt is when the daily job runs, after midnight Beijing time:
// the channels make the previous day's files by then (WeChat Pay after
// 10:00, Alipay in the morning).
const DefaultDailyAt = 10 * time.Hour

// claimStale is how long a claim whose node never finished blocks the day.
const claimStale = 2 * time.Hour

func (d *Daily) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Due returns the day the job should reconcile at t, or "" before At.
func (d *Daily) Due(t time.Time) string {
	at := d.At
	if at == 0 {
		at = DefaultDailyAt
	}
	local := t.In(Shanghai)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, Shanghai)
	if local.Before(midnight.Add(at)) {
		return ""
	}
	return midnight.AddDate(0, 0, -1).Format("2006-01-02")
}

// Loop runs the job whenever it is due, checking every interval, until ctx
// ends.
func (d *Daily) Loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if day := d.Due(d.now()); day != "" {
			if _, err := d.RunDay(ctx, day); err != nil && ctx.Err() == nil && d.Log != nil {
				d.Log.Error("daily reconciliation", "day", day, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDay reconciles day for every app unless another run claimed it; it
// reports whether this call ran it. A family that fails is logged and the
// others go on; its run is stored as failed.
func (d *Daily) RunDay(ctx context.Context, day string) (bool, error) {
	job := "daily:" + day
	var claimed bool
	var apps []string
	if err := d.Engine.Store.WriteRecon(ctx, func(tx Tx) error {
		var err error
		if claimed, err = tx.ClaimJob(ctx, job, d.Owner, tx.Now()-int64(claimStale/time.Second)); err != nil || !claimed {
			return err
		}
		apps, err = tx.AppIDs(ctx)
		return err
	}); err != nil || !claimed {
		return false, err
	}
	for _, app := range apps {
		for _, live := range []bool{false, true} {
			ran := false
			for _, fam := range d.Families.Families() {
				if ok, err := d.Configured(ctx, app, live, fam); err != nil || !ok {
					continue
				}
				_, err := d.Engine.Run(ctx, Request{AppID: app, Live: live, Family: fam, Day: day})
				if polypay.ErrorCode(err) == polypay.ENotSupported {
					continue
				}
				ran = true
				if err != nil && d.Log != nil {
					d.Log.Warn("daily reconciliation failed", "app", app, "live", live, "family", fam, "day", day, "err", err)
				}
			}
			if ran && d.Events != nil {
				if err := d.summarize(ctx, app, live, day); err != nil && d.Log != nil {
					d.Log.Warn("daily summary event", "app", app, "day", day, "err", err)
				}
			}
		}
	}
	return true, d.Engine.Store.WriteRecon(ctx, func(tx Tx) error { return tx.FinishJob(ctx, job) })
}

func (d *Daily) summarize(ctx context.Context, appID string, live bool, day string) error {
	rep, err := DailyReport(ctx, d.Engine.Store, d.Families, appID, live, day)
	if err != nil {
		return err
	}
	var name string
	if err := d.Engine.Store.ReadRecon(ctx, func(tx Tx) error {
		a, err := tx.GetApp(ctx, appID)
		if err == nil {
			name = a.Name
		}
		return err
	}); err != nil {
		return err
	}
	return d.Events.EmitSummary(ctx, appID, live, EventDailySummary, DailySummary(rep, name, d.now().Unix()))
}
