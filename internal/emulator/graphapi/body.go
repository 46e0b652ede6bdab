package graphapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// readObject reads a JSON object body into its raw members.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	return wire.ReadObject(w, r, maxBodyBytes)
}

// isAnnotation reports whether key is an OData annotation such as
// "@odata.type", which clients may send and the emulator ignores.
func isAnnotation(key string) bool { return strings.HasPrefix(key, "@") }

// decodeString decodes a JSON string member; null gives ok == false.
func decodeString(key string, raw json.RawMessage) (s string, isNull bool, err error) {
	if string(raw) == "null" {
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("Property '%s' must be a string.", key)
	}
	return s, false, nil
}
