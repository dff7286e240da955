package browsertest_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
)

// TestPayoutPagesAtWidths opens every payout page, with paid, failed and
// scheduled transfers, a decided and a scheduled batch, a red envelope and
// a batch refund, at the console's widths (screenshot not blank, no
// sideways scroll); then, in the browser, an owner sets the approval
// threshold, finance approves the scheduled transfer from the queue and
// cancels the scheduled batch from its page, and the transfer's page
// names the approver.
func TestPayoutPagesAtWidths(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	s := e.SeedPayouts()
	app := "/console/apps/" + e.App.AppID + "/payouts"
	pages := []struct{ name, path string }{
		{"payouts", "/console/payouts"},
		{"payout-transfers", app + "?mode=test"},
		{"payout-batches", app + "/batches?mode=test"},
		{"payout-red-envelopes", app + "/red-envelopes?mode=test"},
		{"payout-batch-refunds", app + "/batch-refunds?mode=test"},
		{"payout-approvals", app + "/approvals?mode=test"},
		{"payout-transfer", app + "/transfers/" + s.Paid + "?mode=test"},
		{"payout-transfer-failed", app + "/transfers/" + s.Failed + "?mode=test"},
		{"payout-transfer-scheduled", app + "/transfers/" + s.Scheduled + "?mode=test"},
		{"payout-batch", app + "/batches/" + s.Batch + "?mode=test"},
		{"payout-batch-scheduled", app + "/batches/" + s.ScheduledBatch + "?mode=test"},
		{"payout-batch-refund", app + "/batch-refunds/" + s.BatchRefund + "?mode=test"},
	}
	for _, wd := range widths {
		t.Run(wd.name, func(t *testing.T) {
			b.t = t
			b.viewport(wd.w, wd.h, wd.name == "phone")
			// The owner sees every form: approve, cancel and the settings.
			b.signIn(consoletest.Users[console.RoleOwner])
			for _, pg := range pages {
				if st := b.open(pg.path); st != 200 {
					t.Fatalf("%s: status %d", pg.path, st)
				}
				b.check("console-" + wd.name + "-" + pg.name)
			}
			b.submit("#signout")
		})
	}

	t.Run("Settings", func(t *testing.T) {
		b.t = t
		b.viewport(390, 844, true)
		b.signIn(consoletest.Users[console.RoleAdmin])
		b.open(app + "/approvals?mode=test")
		if n := b.count("#queue-transfers form, #queue-batches form"); n != 0 {
			t.Errorf("an admin is offered %d approve or cancel forms", n)
		}
		b.run(chromedp.SetValue(chromedp.CSS("#approve-above"), "abc"))
		if st := b.submit("#payout-settings-save"); st != 400 {
			t.Fatalf("a bad amount: status %d", st)
		}
		b.check("console-phone-payout-settings-error")
		if got := b.text("#approve-above-error"); !strings.Contains(got, "approve_above") && !strings.Contains(got, "decimals") {
			t.Errorf("error beside the field: %q", got)
		}
		b.run(chromedp.SetValue(chromedp.CSS("#approve-above"), "200.50"))
		if st := b.submit("#payout-settings-save"); st != 200 {
			t.Fatalf("saving: status %d", st)
		}
		if got := b.text("#payout-settings-now"); !strings.Contains(got, "¥200.50") || !strings.Contains(got, "Every batch transfer") {
			t.Errorf("settings now %q, want > ¥200.50 and every batch", got)
		}
		b.submit("#signout")
	})

	t.Run("Approve", func(t *testing.T) {
		b.t = t
		b.viewport(1280, 800, false)
		finance := consoletest.Users[console.RoleFinance]
		b.signIn(finance)
		b.open(app + "/approvals?mode=test")
		if b.count("#payout-settings") != 0 {
			t.Error("finance is offered the settings form")
		}
		if st := b.submit("#approve-" + s.Scheduled); st != 200 {
			t.Fatalf("approve: status %d", st)
		}
		if got := b.text("#flash"); !strings.Contains(got, s.Scheduled) {
			t.Errorf("flash %q", got)
		}
		if b.count("#queued-"+s.Scheduled) != 0 {
			t.Error("the approved transfer is still queued")
		}
		if got := b.text("#approved-" + s.Scheduled + " .approved-by"); got != finance {
			t.Errorf("recent approvals name %q", got)
		}
		b.check("console-desktop-payout-approved")
		b.open(app + "/batches/" + s.ScheduledBatch + "?mode=test")
		if st := b.submit("#cancel-" + s.ScheduledBatch); st != 200 {
			t.Fatalf("cancel: status %d", st)
		}
		if got := b.text("#batch-status"); got != "canceled" {
			t.Errorf("batch status %q after cancel", got)
		}
		b.open(app + "/transfers/" + s.Scheduled + "?mode=test")
		if got := b.text("#transfer-approved-by"); got != finance {
			t.Errorf("approved by %q", got)
		}
		if got := b.text("#transfer-status"); got == "scheduled" {
			t.Error("the approved transfer is still scheduled")
		}
		b.check("console-desktop-payout-transfer-approved")
	})
}
