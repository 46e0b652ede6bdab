// Package wire writes the JSON bodies the emulated Microsoft APIs answer
// with, in each API's own error shape.
package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// WriteJSON writes v as a JSON body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteGraphError writes a Microsoft Graph error:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
func WriteGraphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	id := newGUID()
	w.Header().Set("request-id", id)
	WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        id,
			"client-request-id": r.Header.Get("client-request-id"),
		},
	}})
}

// WriteXDRError writes a Defender XDR API error:
// {"error":{"code","message","target"}}, target being a tracking GUID.
func WriteXDRError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"target":  newGUID(),
	}})
}

// SetRetryAfter sets a Retry-After header in whole seconds (at least 1).
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(s))
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ReadObject reads a request body of at most maxBytes that must hold exactly
// one JSON object, and returns its raw members. The error text is written for
// the API's error message.
func ReadObject(w http.ResponseWriter, r *http.Request, maxBytes int64) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("The request body exceeds %d bytes.", maxBytes)
		}
		return nil, errors.New("The request body could not be read.")
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
