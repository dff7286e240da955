// Package apidoc is polypay's API reference: one OpenAPI 3.1 document
// (openapi.yaml, embedded), served as JSON at /openapi.json and rendered as
// HTML at /docs by the node itself. Package apidoctest runs the test
// suites' API exchanges through it, so the document cannot drift from what
// the API answers.
//
// kin-openapi v0.153.0 loads and validates 3.1 documents, including type
// arrays with "null", const, if/then and propertyNames (JSON Schema
// 2020-12), which the document uses.
package apidoc

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var source []byte

// Source is the document as written (YAML).
func Source() []byte { return append([]byte(nil), source...) }

// load parses and validates the document once: it is fixed at build time,
// so a failure is the same on every call.
var load = sync.OnceValues(func() (*openapi3.T, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(source)
	if err != nil {
		return nil, fmt.Errorf("apidoc: loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apidoc: openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// Load returns the parsed, validated document. Callers must not modify it:
// it is shared.
func Load() (*openapi3.T, error) { return load() }

// jsonDoc is the document as JSON, rendered once.
var jsonDoc = sync.OnceValues(func() ([]byte, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
})

// JSON returns the document as JSON (what GET /openapi.json serves).
func JSON() ([]byte, error) { return jsonDoc() }
