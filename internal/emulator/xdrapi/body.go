package xdrapi

import (
	"encoding/json"
	"net/http"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// readObject reads a JSON object body into its raw members.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	return wire.ReadObject(w, r, maxBodyBytes)
}
