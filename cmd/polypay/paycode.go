package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/polypay/polypay/paycode"
)

// paycodeCmd is the reference client of polypay's offline payment codes:
// it prints the code a device with this secret and index shows at a time.
func paycodeCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("paycode", flag.ContinueOnError)
	secret := fs.String("secret", "", "the device's base32 secret (from its registration)")
	index := fs.Uint("index", 0, "the device's index (from its registration)")
	version := fs.Int("version", 2, "the device's code version")
	at := fs.Int64("at", 0, "unix time to make the code for (default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("paycode: --secret is required")
	}
	t := time.Now()
	if *at != 0 {
		t = time.Unix(*at, 0)
	}
	code, err := paycode.Generate(*secret, uint32(*index), *version, t)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, code)
	return err
}
