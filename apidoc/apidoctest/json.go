package apidoctest

import (
	"bytes"
	"encoding/json"
)

// decodeJSON decodes as the schema validator expects: numbers as float64
// would lose precision beyond 2^53, so keep them as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
