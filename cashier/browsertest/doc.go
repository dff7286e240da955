// Package browsertest drives polypay's hosted cashier in a real headless
// Chromium (Debian's chromium, through chromedp): order by API, cashier
// page, simulated wallet, live status, return to the merchant. Without
// chromium the tests skip (apt-get install -y chromium); CHROMIUM may name
// another binary. Screenshots go to $ARTIFACTS, else the test's temp dir.
package browsertest
