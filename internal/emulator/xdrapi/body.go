package xdrapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// readObject reads a JSON object body into its raw members.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, fmt.Errorf("The request body could not be read or exceeds %d bytes.", maxBodyBytes)
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
