package apidoctest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// formBody decodes a url-encoded body as polypay's vault endpoints read
// it (api.formToJSON): every key once, "a[b]" as member b of object a, all
// values strings. The document then describes a form with the same schema
// as the JSON body. kin-openapi's own decoder keeps only the properties a
// schema declares, which would let an undocumented form field through.
func formBody(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for k, vals := range v {
		if len(vals) != 1 {
			return nil, fmt.Errorf("form field %s repeated", k)
		}
		outer, inner, nested := strings.Cut(k, "[")
		if !nested {
			out[k] = vals[0]
			continue
		}
		inner, ok := strings.CutSuffix(inner, "]")
		if !ok || inner == "" || outer == "" {
			return nil, fmt.Errorf("form field %s: one level of brackets only", k)
		}
		m, ok := out[outer].(map[string]any)
		if !ok {
			m = map[string]any{}
			out[outer] = m
		}
		m[inner] = vals[0]
	}
	return out, nil
}
