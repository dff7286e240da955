package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
	"github.com/polypay/polypay/store"
)

func payoutURL(e *consoletest.Env, suffix string) string {
	return "/console/apps/" + e.App.AppID + "/payouts" + suffix
}

// storedTransfer reads a test-mode transfer of the test app.
func storedTransfer(t *testing.T, e *consoletest.Env, id string) *store.TransferRow {
	t.Helper()
	ctx := context.Background()
	var tr *store.TransferRow
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { tr, err = tx.GetTransfer(ctx, e.App.AppID, false, id); return }); err != nil {
		t.Fatal(err)
	}
	return tr
}

func storedBatch(t *testing.T, e *consoletest.Env, id string) *store.BatchTransferRow {
	t.Helper()
	ctx := context.Background()
	var b *store.BatchTransferRow
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { b, err = tx.GetBatchTransfer(ctx, e.App.AppID, false, id); return }); err != nil {
		t.Fatal(err)
	}
	return b
}

func roleUserID(t *testing.T, e *consoletest.Env, role console.Role) string {
	t.Helper()
	ctx := context.Background()
	var u *store.ConsoleUser
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { u, err = tx.ConsoleUserByEmail(ctx, consoletest.Users[role]); return }); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// postForms are the actions of a page's POST forms, sign-out aside.
func postForms(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if m[1] != "/console/logout" {
			out = append(out, m[1])
		}
	}
	return out
}

func TestPayoutPages(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedPayouts()
	c := signedIn(t, e, console.RoleReadOnly)
	test := "?mode=test"
	tests := []struct {
		name, path string
		want       []string // in the page's main element, in this order
		has        []string // in it, in any order (the channel's notification and polypay's query race)
	}{
		// Newest first; money as the charges list shows it.
		{"Transfers", payoutURL(e, test), []string{s.Scheduled, "¥250.00", "scheduled", s.Failed, "¥20.00", "failed", s.Paid, "¥12.34", "paid"}, nil},
		{"TransfersFiltered", payoutURL(e, test+"&status=failed&channel=alipay"), []string{s.Failed}, nil},
		// Batch ids order by the second only (yyMMddHHmmss and 6 random digits).
		{"Batches", payoutURL(e, "/batches"+test), nil, []string{s.ScheduledBatch, "¥128.00", "scheduled", s.Batch, "¥7.00", "partially_succeeded"}},
		{"RedEnvelopes", payoutURL(e, "/red-envelopes"+test), []string{s.RedEnvelope, "¥5.00", "received"}, nil},
		{"BatchRefunds", payoutURL(e, "/batch-refunds"+test), []string{s.BatchRefund, "succeeded"}, nil},
		{"Transfer", payoutURL(e, "/transfers/"+s.Paid+test), []string{"¥12.34", "paid", consoletest.PayeeOK, consoletest.PayeeOKName,
			"Payout created"}, []string{"Channel notification (alipay)", "Event transfer.succeeded", "<strong>Paid</strong>"}},
		{"FailedTransfer", payoutURL(e, "/transfers/"+s.Failed+test), []string{"failed", "PAYEE_ACCOUNT_STATUS_ERROR", "Payout created"},
			[]string{"Event transfer.failed", "Payout failed"}},
		{"Batch", payoutURL(e, "/batches/"+s.Batch+test), []string{"partially_succeeded", "failed: 1", "paid: 1", consoletest.PayeeOK, "¥3.00", "paid",
			consoletest.PayeeFrozen, "¥4.00", "failed", "batch_transfer.succeeded"}, nil},
		{"BatchRefund", payoutURL(e, "/batch-refunds/"+s.BatchRefund+test), []string{"succeeded", "¥6.00", "re_", "¥8.00", "re_"}, nil},
		{"Approvals", payoutURL(e, "/approvals"+test), []string{s.Scheduled, "¥250.00", "API", s.ScheduledBatch, "¥128.00", "¥100.00", "Every batch transfer"}, nil},
		{"Index", "/console/payouts", []string{e.App.AppID, `class="waiting-live"`, ">0<", `class="waiting-test"`, ">2<"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.get(tc.path)
			if r.Status != http.StatusOK {
				t.Fatalf("%d: %.300s", r.Status, r.Body)
			}
			m := mainOf(r.Body)
			at := 0
			for _, w := range tc.has {
				if !strings.Contains(m, w) {
					t.Errorf("%q missing in %s", w, m)
				}
			}
			for _, w := range tc.want {
				i := strings.Index(m[at:], w)
				if i < 0 {
					t.Fatalf("%q missing (after offset %d) in %s", w, at, m)
				}
				at += i + len(w)
			}
		})
	}
	// The filtered list shows only what matches.
	if m := mainOf(c.get(payoutURL(e, test+"&status=failed")).Body); strings.Contains(m, s.Paid) || strings.Contains(m, s.Scheduled) {
		t.Error("status filter ignored")
	}
	// A batch member is linked to its batch and approved only with it.
	if m := mainOf(c.get(payoutURL(e, "/approvals"+test)).Body); strings.Count(m, "queued-tr_") != 1 {
		t.Errorf("the queue lists batch members as single transfers: %d", strings.Count(m, "queued-tr_"))
	}
}

// TestPayoutModes: a test payout is not in the live lists, its page in
// live mode is not found, and a live action on it changes nothing.
func TestPayoutModes(t *testing.T) {
	e := consoletest.Start(t)
	e.SetPayoutSettings(10000, true)
	tr := e.Transfer(20000, consoletest.PayeeOK, consoletest.PayeeOKName)
	bt := e.BatchTransfer(100, 200)
	c := signedIn(t, e, console.RoleFinance)
	for _, path := range []string{payoutURL(e, ""), payoutURL(e, "?mode=live"), payoutURL(e, "/batches"), payoutURL(e, "/approvals?mode=live")} {
		r := c.get(path)
		if m := mainOf(r.Body); r.Status != 200 || strings.Contains(m, tr) || strings.Contains(m, bt) {
			t.Errorf("%s: %d, shows a test payout", path, r.Status)
		}
	}
	for _, path := range []string{payoutURL(e, "/transfers/"+tr), payoutURL(e, "/transfers/"+tr+"?mode=live"), payoutURL(e, "/batches/"+bt+"?mode=live")} {
		if r := c.get(path); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.Status)
		}
	}
	tok := c.token(payoutURL(e, "/approvals?mode=test"))
	for _, path := range []string{"/transfers/" + tr + "/approve", "/transfers/" + tr + "/cancel", "/batches/" + bt + "/approve", "/batches/" + bt + "/cancel"} {
		if r := c.post(payoutURL(e, path), url.Values{"csrf": {tok}, "mode": {"live"}}); r.Status != http.StatusNotFound {
			t.Errorf("live POST %s: %d, want 404", path, r.Status)
		}
		if r := c.post(payoutURL(e, path), url.Values{"csrf": {tok}}); r.Status != http.StatusBadRequest {
			t.Errorf("POST %s without a mode: %d, want 400", path, r.Status)
		}
	}
	if st := storedTransfer(t, e, tr).Status; st != polypay.TransferScheduled {
		t.Errorf("transfer %s after live actions", st)
	}
	if st := storedBatch(t, e, bt).Status; st != polypay.BatchScheduled {
		t.Errorf("batch %s after live actions", st)
	}
	// Live settings leave test mode's alone.
	owner := signedIn(t, e, console.RoleOwner)
	otok := owner.token(payoutURL(e, "/approvals?mode=live"))
	if r := owner.post(payoutURL(e, "/settings"), url.Values{"csrf": {otok}, "mode": {"live"}, "approve_above": {"5"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("live settings: %d %.300s", r.Status, r.Body)
	}
	live, _ := e.Node.Svc.PayoutSettings(context.Background(), e.Caller(true))
	test, _ := e.Node.Svc.PayoutSettings(context.Background(), e.Caller(false))
	if live.ApproveAbove != 500 || live.ApproveBatches || test.ApproveAbove != 10000 || !test.ApproveBatches {
		t.Errorf("live %+v, test %+v", live, test)
	}
}

func TestPayoutApproveAndCancel(t *testing.T) {
	e := consoletest.Start(t)
	e.SetPayoutSettings(10000, true)
	approve := e.Transfer(15000, consoletest.PayeeOK, consoletest.PayeeOKName)
	cancel := e.Transfer(16000, consoletest.PayeeOK, consoletest.PayeeOKName)
	batchOK := e.BatchTransfer(500, 600)
	batchNo := e.BatchTransfer(700)
	member := e.BatchTransfer(800)
	c := signedIn(t, e, console.RoleFinance)
	me := roleUserID(t, e, console.RoleFinance)
	queue := payoutURL(e, "/approvals?mode=test")
	tok := c.token(queue)
	memberID := regexp.MustCompile(`id="member-(tr_[A-Za-z0-9]+)"`).FindStringSubmatch(c.get(payoutURL(e, "/batches/"+member+"?mode=test")).Body)
	if memberID == nil {
		t.Fatal("no member on the batch page")
	}
	tests := []struct {
		name, path string
		status     int
		flash      string
	}{
		{"ApproveTransfer", "/transfers/" + approve + "/approve", 303, "Approved and sent: " + approve},
		{"ApproveAgain", "/transfers/" + approve + "/approve", 400, "不在待审批状态"},
		{"CancelTransfer", "/transfers/" + cancel + "/cancel", 303, "Canceled: " + cancel},
		{"ApproveCanceled", "/transfers/" + cancel + "/approve", 400, "不在待审批状态"},
		{"ApproveBatch", "/batches/" + batchOK + "/approve", 303, "Approved and sent: " + batchOK},
		{"CancelBatch", "/batches/" + batchNo + "/cancel", 303, "Canceled: " + batchNo},
		{"CancelApprovedBatch", "/batches/" + batchOK + "/cancel", 400, "只有 scheduled 的批次可以取消"},
		{"ApproveMemberAlone", "/transfers/" + memberID[1] + "/approve", 400, "请审批整个批次"},
		{"CancelMemberAlone", "/transfers/" + memberID[1] + "/cancel", 400, "请取消整个批次"},
		{"Unknown", "/transfers/tr_nonexistent/approve", 404, "Not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post(payoutURL(e, tc.path), url.Values{"csrf": {tok}, "mode": {"test"}})
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.300s", r.Status, tc.status, mainOf(r.Body))
			}
			body := r.Body
			if r.Status == http.StatusSeeOther {
				loc := r.Header.Get("Location")
				if !strings.HasPrefix(loc, queue) {
					t.Fatalf("redirected to %s, want the queue", loc)
				}
				body = c.get(strings.TrimPrefix(loc, e.URL)).Body
			}
			if !strings.Contains(body, tc.flash) {
				t.Fatalf("page does not say %q: %.500s", tc.flash, mainOf(body))
			}
		})
	}
	tr := storedTransfer(t, e, approve)
	if tr.ApprovedBy != me || tr.ApprovedAt == 0 || tr.Status == polypay.TransferScheduled || !tr.Sent {
		t.Errorf("approved transfer: status %s, approved by %q at %d, sent %v", tr.Status, tr.ApprovedBy, tr.ApprovedAt, tr.Sent)
	}
	if st := e.SettleTransfer(approve); st != polypay.TransferPaid {
		t.Errorf("approved transfer ended %s, want paid", st)
	}
	if tr := storedTransfer(t, e, cancel); tr.Status != polypay.TransferCanceled || tr.Sent || tr.ApprovedBy != "" {
		t.Errorf("canceled transfer: %s sent %v approved by %q", tr.Status, tr.Sent, tr.ApprovedBy)
	}
	if b := storedBatch(t, e, batchOK); b.ApprovedBy != me || b.ApprovedAt == 0 {
		t.Errorf("approved batch: %s by %q at %d", b.Status, b.ApprovedBy, b.ApprovedAt)
	}
	if st := e.SettleBatch(batchOK); st != polypay.BatchPartiallySucceeded {
		t.Errorf("approved batch ended %s (its second payee is frozen)", st)
	}
	if b := storedBatch(t, e, batchNo); b.Status != polypay.BatchCanceled {
		t.Errorf("canceled batch: %s", b.Status)
	}
	// The approver and the time show on the payout's page and in the queue's history.
	page := mainOf(c.get(payoutURL(e, "/transfers/"+approve+"?mode=test")).Body)
	if !regexp.MustCompile(`id="transfer-approved-by">finance@example.com<`).MatchString(page) ||
		!regexp.MustCompile(`id="transfer-approved-at">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<`).MatchString(page) || !strings.Contains(page, "Approved · finance@example.com") {
		t.Errorf("transfer page does not show its approval: %s", page)
	}
	if page := mainOf(c.get(payoutURL(e, "/batches/"+batchOK+"?mode=test")).Body); !strings.Contains(page, `id="batch-approved-by">finance@example.com<`) {
		t.Errorf("batch page does not show its approval: %s", page)
	}
	hist := mainOf(c.get(queue).Body)
	for _, id := range []string{approve, batchOK} {
		row := regexp.MustCompile(`id="approved-` + id + `">(?s:(.*?))</tr>`).FindStringSubmatch(hist)
		if row == nil || !strings.Contains(row[1], `class="approved-by">finance@example.com<`) || !regexp.MustCompile(`class="approved-at">\d{4}-`).MatchString(row[1]) {
			t.Errorf("recent approvals lack %s by finance: %v", id, row)
		}
	}
	if strings.Contains(hist, "queued-"+approve) || strings.Contains(hist, "queued-"+batchOK) || strings.Contains(hist, "queued-"+batchNo) {
		t.Error("decided payouts still queued")
	}
	// From a payout's own page, the action returns there.
	last := e.Transfer(17000, consoletest.PayeeOK, consoletest.PayeeOKName)
	r := c.post(payoutURL(e, "/transfers/"+last+"/cancel"), url.Values{"csrf": {tok}, "mode": {"test"}, "from": {"detail"}})
	if loc := r.Header.Get("Location"); r.Status != 303 || !strings.Contains(loc, "/payouts/transfers/"+last+"?mode=test") {
		t.Errorf("cancel from the detail page: %d to %s", r.Status, loc)
	}
}

// TestPayoutSelfApproval: nobody approves a payout they asked for. The API
// records its payouts as "api", so the transfer is stored as one the
// finance user made (consoletest.OwnTransfer); core refuses that user as
// approver, and the pages offer them no approve button.
func TestPayoutSelfApproval(t *testing.T) {
	e := consoletest.Start(t)
	own := e.OwnTransfer(consoletest.Users[console.RoleFinance], 30000)
	fin := signedIn(t, e, console.RoleFinance)
	queue := payoutURL(e, "/approvals?mode=test")
	for _, path := range []string{queue, payoutURL(e, "/transfers/"+own+"?mode=test")} {
		body := mainOf(fin.get(path).Body)
		if strings.Contains(body, "/transfers/"+own+"/approve") || !strings.Contains(body, "Created by you") {
			t.Errorf("%s offers its creator the approve button", path)
		}
		if !strings.Contains(body, "finance@example.com") {
			t.Errorf("%s does not name the creator", path)
		}
	}
	tok := fin.token(queue)
	r := fin.post(payoutURL(e, "/transfers/"+own+"/approve"), url.Values{"csrf": {tok}, "mode": {"test"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "不能审批自己发起的付款") {
		t.Fatalf("creator approving: %d %.300s", r.Status, mainOf(r.Body))
	}
	if tr := storedTransfer(t, e, own); tr.Status != polypay.TransferScheduled || tr.ApprovedBy != "" || tr.Sent {
		t.Fatalf("after the creator's approval: %s by %q sent %v", tr.Status, tr.ApprovedBy, tr.Sent)
	}
	owner := signedIn(t, e, console.RoleOwner)
	if body := mainOf(owner.get(queue).Body); !strings.Contains(body, "/transfers/"+own+"/approve") {
		t.Fatal("another user is not offered the approval")
	}
	r = owner.post(payoutURL(e, "/transfers/"+own+"/approve"), url.Values{"csrf": {owner.token(queue)}, "mode": {"test"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("owner approving: %d %.300s", r.Status, mainOf(r.Body))
	}
	if tr := storedTransfer(t, e, own); tr.ApprovedBy != roleUserID(t, e, console.RoleOwner) || tr.Status == polypay.TransferScheduled {
		t.Fatalf("after the owner's approval: %s by %q", tr.Status, tr.ApprovedBy)
	}
}

// TestPayoutRoles: finance and owners decide payouts, owners and admins
// set the rules, read_only sees no form; a refused role changes nothing.
func TestPayoutRoles(t *testing.T) {
	e := consoletest.Start(t)
	e.SetPayoutSettings(10000, true)
	tr := e.Transfer(20000, consoletest.PayeeOK, consoletest.PayeeOKName)
	bt := e.BatchTransfer(300)
	queue := payoutURL(e, "/approvals?mode=test")
	for role := range consoletest.Users {
		decide := role == console.RoleOwner || role == console.RoleFinance
		settings := role == console.RoleOwner || role == console.RoleAdmin
		t.Run(string(role), func(t *testing.T) {
			c := signedIn(t, e, role)
			for _, path := range []string{queue, payoutURL(e, "/transfers/"+tr+"?mode=test"), payoutURL(e, "/batches/"+bt+"?mode=test"),
				payoutURL(e, "?mode=test"), payoutURL(e, "/batches?mode=test"), payoutURL(e, "/red-envelopes?mode=test"),
				payoutURL(e, "/batch-refunds?mode=test"), "/console/payouts"} {
				r := c.get(path)
				if r.Status != 200 {
					t.Fatalf("GET %s: %d", path, r.Status)
				}
				var approveForms, settingsForms int
				for _, a := range postForms(r.Body) {
					switch {
					case strings.HasSuffix(a, "/approve") || strings.HasSuffix(a, "/cancel"):
						approveForms++
					case strings.HasSuffix(a, "/payouts/settings"):
						settingsForms++
					default:
						t.Errorf("%s: unexpected form %s", path, a)
					}
				}
				onQueue := path == queue
				if wantDecide := decide && (onQueue || strings.Contains(path, "/transfers/") || strings.Contains(path, "/batches/")); (approveForms > 0) != wantDecide {
					t.Errorf("%s: %d approve/cancel forms for %s", path, approveForms, role)
				}
				if (settingsForms > 0) != (settings && onQueue) {
					t.Errorf("%s: %d settings forms for %s", path, settingsForms, role)
				}
			}
			// Refused actions only: an allowed one would change what the
			// other roles' pages show (TestRoles walks every route).
			tok := c.token("/console/")
			if !decide {
				for _, a := range []string{"/transfers/" + tr + "/approve", "/transfers/" + tr + "/cancel", "/batches/" + bt + "/approve", "/batches/" + bt + "/cancel"} {
					if r := c.post(payoutURL(e, a), url.Values{"csrf": {tok}, "mode": {"test"}}); r.Status != http.StatusForbidden {
						t.Errorf("%s POST %s: %d, want 403", role, a, r.Status)
					}
				}
			}
			if !settings {
				if r := c.post(payoutURL(e, "/settings"), url.Values{"csrf": {tok}, "mode": {"test"}, "approve_above": {"1"}}); r.Status != http.StatusForbidden {
					t.Errorf("%s saving settings: %d, want 403", role, r.Status)
				}
			}
		})
	}
	if st := storedTransfer(t, e, tr).Status; st != polypay.TransferScheduled {
		t.Errorf("a refused role changed the transfer: %s", st)
	}
	if st := storedBatch(t, e, bt).Status; st != polypay.BatchScheduled {
		t.Errorf("a refused role changed the batch: %s", st)
	}
	if st, _ := e.Node.Svc.PayoutSettings(context.Background(), e.Caller(false)); st.ApproveAbove != 10000 || !st.ApproveBatches {
		t.Errorf("a refused role changed the settings: %+v", st)
	}
}

func TestPayoutSettingsForm(t *testing.T) {
	e := consoletest.Start(t)
	c := signedIn(t, e, console.RoleAdmin)
	queue := payoutURL(e, "/approvals?mode=test")
	tok := c.token(queue)
	tests := []struct {
		name    string
		above   string
		batches bool
		status  int
		want    int64  // approve_above stored (minor units) when accepted
		text    string // the error shown when refused
	}{
		{"Yuan", "100", false, 303, 10000, ""},
		{"Fen", "0.01", true, 303, 1, ""},
		{"Decimals", "1234.50", false, 303, 123450, ""},
		{"NoFloatDrift", "0.29", false, 303, 29, ""},
		{"Blank", "", true, 303, 0, ""},
		{"Zero", "0", false, 303, 0, ""},
		{"TooManyDecimals", "1.234", false, 400, 0, "at most 2 decimals"},
		{"Negative", "-5", false, 400, 0, "at most 2 decimals"},
		{"NotANumber", "1e3", false, 400, 0, "at most 2 decimals"},
		{"TooLarge", "99999999999.99", false, 400, 0, "approve_above 须为 0 到"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.Node.Svc.PayoutSettings(context.Background(), e.Caller(false))
			form := url.Values{"csrf": {tok}, "mode": {"test"}, "approve_above": {tc.above}}
			if tc.batches {
				form.Set("approve_batches", "1")
			}
			r := c.post(payoutURL(e, "/settings"), form)
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.300s", r.Status, tc.status, mainOf(r.Body))
			}
			got, _ := e.Node.Svc.PayoutSettings(context.Background(), e.Caller(false))
			if tc.status != http.StatusSeeOther {
				m := mainOf(r.Body)
				if !strings.Contains(m, `id="approve-above-error"`) || !strings.Contains(m, tc.text) || !strings.Contains(m, `value="`+tc.above+`"`) {
					t.Errorf("refusal does not show the field's error and value: %s", m)
				}
				if got != before {
					t.Errorf("refused form changed the settings: %+v", got)
				}
				return
			}
			if got.ApproveAbove != tc.want || got.ApproveBatches != tc.batches {
				t.Fatalf("stored %+v, want approve_above %d, batches %v", got, tc.want, tc.batches)
			}
			if m := mainOf(c.get(queue).Body); tc.want > 0 && !strings.Contains(m, `value="`+formatYuan(tc.want)+`"`) {
				t.Errorf("the form does not show %d as %s", tc.want, formatYuan(tc.want))
			}
		})
	}
	// The setting takes effect: a transfer above it waits.
	form := url.Values{"csrf": {tok}, "mode": {"test"}, "approve_above": {"100.00"}}
	if r := c.post(payoutURL(e, "/settings"), form); r.Status != http.StatusSeeOther {
		t.Fatal(r.Status)
	}
	if st := storedTransfer(t, e, e.Transfer(10001, consoletest.PayeeOK, consoletest.PayeeOKName)).Status; st != polypay.TransferScheduled {
		t.Errorf("a transfer of 100.01 is %s, want scheduled", st)
	}
	if st := storedTransfer(t, e, e.Transfer(10000, consoletest.PayeeOK, consoletest.PayeeOKName)).Status; st == polypay.TransferScheduled {
		t.Error("a transfer of exactly 100.00 waits")
	}
}

// formatYuan writes fen as the settings form shows them.
func formatYuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func TestPayoutTenantIsolation(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	other, err := e.Node.CreateApp(ctx, "other merchant")
	if err != nil {
		t.Fatal(err)
	}
	const email = "payout-scoped@example.com"
	if err := console.AddScopedUser(ctx, e.Node.DB, email, console.RoleOwner, consoletest.Password, []string{other.AppID}); err != nil {
		t.Fatal(err)
	}
	s := e.SeedPayouts()
	sc := newClient(t, e.URL)
	if r := sc.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("scoped sign-in: %d", r.Status)
	}
	theirs := "/console/apps/" + other.AppID + "/payouts"
	tok := sc.token(theirs + "/approvals?mode=test")
	mine := payoutURL(e, "")
	q := "?mode=test"
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", mine + q, 404},
		{"GET", mine + "/batches" + q, 404},
		{"GET", mine + "/red-envelopes" + q, 404},
		{"GET", mine + "/batch-refunds" + q, 404},
		{"GET", mine + "/approvals" + q, 404},
		{"GET", mine + "/transfers/" + s.Paid + q, 404},
		{"GET", mine + "/batches/" + s.Batch + q, 404},
		{"GET", mine + "/batch-refunds/" + s.BatchRefund + q, 404},
		{"GET", theirs + q, 200},
		{"GET", theirs + "/approvals" + q, 200},
		{"GET", "/console/payouts", 200},
		// Another app's payouts through the user's own app: not found.
		{"GET", theirs + "/transfers/" + s.Paid + q, 404},
		{"GET", theirs + "/batches/" + s.Batch + q, 404},
		{"GET", theirs + "/batch-refunds/" + s.BatchRefund + q, 404},
		{"GET", theirs + q + "&after=" + s.Paid, 200},
		{"POST", mine + "/transfers/" + s.Scheduled + "/approve", 404},
		{"POST", mine + "/transfers/" + s.Scheduled + "/cancel", 404},
		{"POST", mine + "/batches/" + s.ScheduledBatch + "/approve", 404},
		{"POST", mine + "/batches/" + s.ScheduledBatch + "/cancel", 404},
		{"POST", mine + "/settings", 404},
		{"POST", theirs + "/transfers/" + s.Scheduled + "/approve", 404},
		{"POST", theirs + "/transfers/" + s.Scheduled + "/cancel", 404},
		{"POST", theirs + "/batches/" + s.ScheduledBatch + "/approve", 404},
		{"POST", theirs + "/batches/" + s.ScheduledBatch + "/cancel", 404},
	}
	secrets := []string{s.Paid, s.Failed, s.Scheduled, s.Batch, s.ScheduledBatch, s.RedEnvelope, s.BatchRefund, e.App.AppID}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			var r reply
			if tc.method == "GET" {
				r = sc.get(tc.path)
			} else {
				r = sc.post(tc.path, url.Values{"csrf": {tok}, "mode": {"test"}, "approve_above": {"1"}})
			}
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.200s", r.Status, tc.status, r.Body)
			}
			// The language links echo the URL asked for; the page's content must not.
			m := mainOf(r.Body)
			for _, id := range secrets {
				if strings.Contains(m, id) {
					t.Fatalf("the page shows the other app's %s", id)
				}
			}
		})
	}
	if st := storedTransfer(t, e, s.Scheduled).Status; st != polypay.TransferScheduled {
		t.Errorf("the scoped user decided another app's transfer: %s", st)
	}
	if st := storedBatch(t, e, s.ScheduledBatch).Status; st != polypay.BatchScheduled {
		t.Errorf("the scoped user decided another app's batch: %s", st)
	}
	if st, _ := e.Node.Svc.PayoutSettings(ctx, e.Caller(false)); st.ApproveAbove != 10000 {
		t.Errorf("the scoped user changed another app's settings: %+v", st)
	}
}
