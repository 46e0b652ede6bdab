package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// readObject reads a JSON object body into its raw members.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("The request body exceeds %d bytes.", maxBodyBytes)
		}
		return nil, fmt.Errorf("Could not read the request body: %v.", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil || members == nil {
		return nil, errors.New("The request body must be a JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("The request body must hold a single JSON object.")
	}
	return members, nil
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
