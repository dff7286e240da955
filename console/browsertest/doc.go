// Package browsertest drives the merchant console in a real headless
// Chromium (chromedp): sign-in, search and CSV export, a refund from a
// charge page, resolving a reconciliation discrepancy, charts and the
// language toggle against an engine stand-in; and a day of Alipay and
// WeChat Pay traffic with injected statement differences reconciled by the
// real engine, its runs, open and resolved discrepancies, roles and daily
// report. Screenshots go to $POLYPAY_SCREENSHOTS or a temporary directory
// named in the test log. Without chromium the tests skip.
package browsertest
