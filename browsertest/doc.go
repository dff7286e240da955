// Package browsertest holds polypay's browser tests: a full node (gateway,
// API and the built-in simulators) driven through the payer pages in a real
// headless Chromium with chromedp, as a customer would.
//
// The tests need Debian's chromium (apt-get install -y chromium); without it
// they skip. CHROMIUM may name another binary.
package browsertest
