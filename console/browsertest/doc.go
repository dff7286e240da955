// Package browsertest drives the merchant console in a real headless
// Chromium (chromedp): sign-in, search and CSV export, a refund from a
// charge page, resolving a reconciliation discrepancy, charts and the
// language toggle. Screenshots go to $POLYPAY_SCREENSHOTS or a temporary
// directory named in the test log. Without chromium the tests skip.
package browsertest
