package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/reconcile"
)

// fakeStore hands fn a Tx that knows only the app ids; any other query
// panics (the embedded nil interface), so a test fails loudly if a batch
// reaches further into the store than it should.
type fakeStore struct{ apps []string }

type fakeTx struct {
	reconcile.Tx
	apps []string
}

func (tx fakeTx) AppIDs(context.Context) ([]string, error) { return tx.apps, nil }

func (s fakeStore) ReadRecon(_ context.Context, fn func(reconcile.Tx) error) error {
	return fn(fakeTx{apps: s.apps})
}
func (s fakeStore) WriteRecon(_ context.Context, fn func(reconcile.Tx) error) error {
	return fn(fakeTx{apps: s.apps})
}

var _ reconcile.Store = fakeStore{}

// fakeFamilies has alipay (with alipay_qr) and wx; statements fail.
type fakeFamilies struct{}

func (fakeFamilies) Families() []string { return []string{"alipay", "wx"} }
func (fakeFamilies) FamilyChannels(f string) []string {
	return map[string][]string{"alipay": {"alipay", "alipay_qr"}, "wx": {"wx"}}[f]
}
func (fakeFamilies) Family(ch string) string {
	if strings.HasPrefix(ch, "alipay") {
		return "alipay"
	}
	return ch
}

var errStatement = errors.New("statement unavailable")

func (fakeFamilies) Statementer(context.Context, string, bool, string) (polypay.Statementer, error) {
	return nil, errStatement
}

func TestRunBatch(t *testing.T) {
	ctx := context.Background()
	newDaily := func(configured map[string]bool) *reconcile.Daily {
		return &reconcile.Daily{
			Engine:   &reconcile.Engine{Store: fakeStore{apps: []string{"app_a", "app_b"}}, Channels: fakeFamilies{}},
			Families: fakeFamilies{},
			Configured: func(_ context.Context, app string, _ bool, fam string) (bool, error) {
				return configured[app+"/"+fam], nil
			},
		}
	}
	t.Run("ErrUnknownFamily", func(t *testing.T) {
		_, err := newDaily(nil).RunBatch(ctx, reconcile.Batch{Day: "2026-01-02", Family: "bogus"})
		if err == nil || !strings.Contains(err.Error(), `unknown channel "bogus" (families: alipay, wx)`) {
			t.Fatalf("err = %v, want unknown channel naming the families", err)
		}
	})
	t.Run("ConfiguredOnly", func(t *testing.T) {
		d := newDaily(map[string]bool{"app_a/alipay": true, "app_a/wx": true, "app_b/wx": true})
		var started, done []string
		res, err := d.RunBatch(ctx, reconcile.Batch{Day: "2026-01-02",
			Start: func(label string) func(reconcile.Progress) { started = append(started, label); return nil },
			Done: func(label string, err error) {
				if !errors.Is(err, errStatement) {
					t.Errorf("Done(%s) err = %v, want %v", label, err, errStatement)
				}
				done = append(done, label)
			}})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"app_a alipay 2026-01-02", "app_a wx 2026-01-02", "app_b wx 2026-01-02"}
		if !slices.Equal(started, want) || !slices.Equal(done, want) {
			t.Fatalf("started %q, done %q, want %q", started, done, want)
		}
		if len(res.Results) != 0 || res.Open != 0 || len(res.Failures) != 3 ||
			res.Failures[0] != "app_a alipay 2026-01-02: "+errStatement.Error() {
			t.Fatalf("got %+v, want three failures and no results", res)
		}
	})
	t.Run("OneAppOneChannel", func(t *testing.T) {
		d := newDaily(map[string]bool{"app_b/alipay": true, "app_b/wx": true})
		var started []string
		res, err := d.RunBatch(ctx, reconcile.Batch{Day: "2026-01-02", App: "app_b", Family: "alipay_qr",
			Start: func(label string) func(reconcile.Progress) { started = append(started, label); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"app_b alipay 2026-01-02"}; !slices.Equal(started, want) || len(res.Failures) != 1 {
			t.Fatalf("started %q, failures %q, want %q once", started, res.Failures, want)
		}
	})
}
