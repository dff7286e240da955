// Package browsertest checks the API reference a node serves: GET / leads
// to /docs, /openapi.json is the embedded document, and /docs renders in a
// real headless Chromium (Debian's chromium, through chromedp) with every
// operation listed and its stylesheet allowed by its Content-Security-
// Policy. Without chromium the browser test skips (apt-get install -y
// chromium); CHROMIUM may name another binary.
package browsertest
