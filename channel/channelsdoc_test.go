package channel_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
)

var update = flag.Bool("update", false, "rewrite docs/channels.md from the family descriptors")

const channelsDoc = "../docs/channels.md"

// TestChannelsDoc keeps docs/channels.md, the merchant's reference of every
// channel, equal to what the family descriptors say. After changing a
// descriptor: go test ./channel -run TestChannelsDoc -update
func TestChannelsDoc(t *testing.T) {
	got := renderChannelsDoc(channel.Families)
	if *update {
		if err := os.WriteFile(channelsDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(channelsDoc)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./channel -run TestChannelsDoc -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the family descriptors; regenerate it with\n"+
			"  go test ./channel -run TestChannelsDoc -update\nfirst difference:\n%s",
			filepath.Base(channelsDoc), firstDiff(want, got))
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d\n  committed:   %s\n  descriptors: %s", i+1, x, y)
		}
	}
	return "(none)"
}

func renderChannelsDoc(fams []*polypay.Family) []byte {
	var b bytes.Buffer
	b.WriteString(`# Channels

<!-- Generated from the family descriptors (channel/<family>/descriptor.go) by
     go test ./channel -run TestChannelsDoc -update
     Do not edit by hand: the test fails when this file and the descriptors differ. -->

Every Ping++ channel polypay charges on, with what a charge on it needs. A family is a set of channels
sharing one set of merchant credentials (one connector, one notification URL, one statement).

- **order_no**: letters and digits only, of the length in the table (Ping++'s per-channel rule).
- **extra**: the charge's ` + "`extra`" + ` object. A missing required parameter is refused with HTTP 400 and
  an error whose ` + "`param`" + ` is ` + "`extra[<name>]`" + `. The hosted cashier fills the return URLs itself.
- **Expiry**: how long an unpaid charge stays open when the request gives no ` + "`time_expire`" + `.
- **Credentials**: ` + "`POST /v1/apps/{app}/channels`" + ` with ` + "`{\"channel\":\"<family>\",\"params\":{...}}`" + ` and the
  secret key of the mode they are for (or ` + "`polypay channel set --app app_... --channel <family> [--live] --file creds.json`" + `).
  In test mode every app gets simulator credentials for every family; ` + "`{\"sandbox\":true}`" + ` provisions
  another simulator account (` + "`\"channel\":\"alipay@second\"`" + `). Secret fields are stored sealed and shown
  back only as fingerprints.

| Channel | Family | Required ` + "`extra`" + ` | Optional ` + "`extra`" + ` | ` + "`order_no`" + ` | Expiry | Kind |
|---|---|---|---|---|---|---|
`)
	for _, f := range fams {
		for _, c := range f.Channels {
			var req, opt []string
			for _, e := range c.Extra {
				if e.Required {
					req = append(req, "`"+e.Name+"`")
				} else {
					opt = append(opt, "`"+e.Name+"`")
				}
			}
			r := f.Rule()
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %d–%d | %s | %s |\n", c.Name, f.Name,
				orDash(strings.Join(req, ", ")), orDash(strings.Join(opt, ", ")), r.Min, r.Max,
				duration(f.ChargeExpiry), kind(c))
		}
	}
	for _, f := range fams {
		fmt.Fprintf(&b, "\n## %s\n\n", f.Name)
		fmt.Fprintf(&b, "Channels: %s. Statements are cut in %s days.\n", codeList(f.ChannelNames()), f.StatementZone)
		extraTable(&b, f)
		b.WriteString("\nCredentials (`params`):\n\n| Field | Required | Secret | What it is |\n|---|---|---|---|\n")
		for _, c := range f.Credentials {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Name, yes(c.Required), yes(c.Secret), cell(c.Hint.En))
		}
	}
	return b.Bytes()
}

func extraTable(b *bytes.Buffer, f *polypay.Family) {
	wrote := false
	for _, c := range f.Channels {
		for _, e := range c.Extra {
			if !wrote {
				b.WriteString("\n`extra` parameters:\n\n| Channel | Parameter | Required | What it holds |\n|---|---|---|---|\n")
				wrote = true
			}
			fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", c.Name, e.Name, yes(e.Required), cell(e.Doc))
		}
	}
}

func kind(c polypay.ChannelInfo) string {
	var k []string
	switch {
	case c.QR:
		k = append(k, "QR code")
	case c.Scan:
		k = append(k, "merchant scans the customer's code")
	case c.Card:
		k = append(k, "card")
	}
	if c.Cashier != nil {
		k = append(k, "in the cashier")
	}
	return orDash(strings.Join(k, ", "))
}

func duration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return d.String()
}

func codeList(names []string) string {
	return "`" + strings.Join(names, "`, `") + "`"
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
