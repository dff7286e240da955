package gateway_test

import (
	"encoding/json"
	"net"
	"testing"
)

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
