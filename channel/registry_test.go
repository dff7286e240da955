package channel_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polypay/polypay/channel"
)

// TestDescribeRedactsSchemaSecrets: describing sandbox credentials shows
// every schema field, secrets only as fingerprints.
func TestDescribeRedactsSchemaSecrets(t *testing.T) {
	r, _, _, _, app := newTestRegistry(t)
	ctx := context.Background()
	if err := r.Provision(ctx, app); err != nil {
		t.Fatal(err)
	}
	for _, f := range channel.Families {
		t.Run(f.Name, func(t *testing.T) {
			d, err := r.Describe(ctx, app, false, f.Name)
			if err != nil {
				t.Fatal(err)
			}
			raw, _, err := r.Config(ctx, app, false, f.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, cf := range f.Credentials {
				v, ok := d[cf.Name].(string)
				if !ok {
					t.Fatalf("%s missing from %v", cf.Name, d)
				}
				if cf.Secret && v != "" && !strings.HasPrefix(v, "redacted sha256:") {
					t.Errorf("secret %s shown as %q", cf.Name, v)
				}
				if cf.Secret && v != "" && strings.Contains(string(raw), v) {
					t.Errorf("secret %s shown as stored", cf.Name)
				}
			}
			if d["sandbox"] != true {
				t.Errorf("sandbox = %v, want true", d["sandbox"])
			}
		})
	}
}
