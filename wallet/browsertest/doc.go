// Package browsertest drives polypay's browser wallet (/wallet/) in
// headless Chromium: enrollment by link, codes that the gateway accepts,
// the published test vectors, Code 128 against an independent encoder,
// and the page working with the network gone.
package browsertest
