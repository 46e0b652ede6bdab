package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// redacted is what a set secret prints as.
const redacted = "[REDACTED]"

// Secret is a secret string: a client secret. Formatting, logging or
// marshalling it yields "[REDACTED]" ("" when empty); convert it to string
// to use the value.
type Secret string

// String returns "[REDACTED]", or "" when s is empty.
func (s Secret) String() string { return mask(len(s)) }

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format prints the masked text for every verb, so that no verb (%x, %d
// ...) reaches the value.
func (s Secret) Format(f fmt.State, verb rune) { formatMasked(f, verb, s.String()) }

// LogValue masks s in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON masks s in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// SecretBytes is secret binary data: a private key, a signing key. It masks
// itself exactly like Secret; use it as a []byte to read the value.
type SecretBytes []byte

// String returns "[REDACTED]", or "" when b is empty.
func (b SecretBytes) String() string { return mask(len(b)) }

// GoString is String, for %#v.
func (b SecretBytes) GoString() string { return b.String() }

// Format prints the masked text for every verb.
func (b SecretBytes) Format(f fmt.State, verb rune) { formatMasked(f, verb, b.String()) }

// LogValue masks b in structured logs.
func (b SecretBytes) LogValue() slog.Value { return slog.StringValue(b.String()) }

// MarshalJSON masks b in JSON.
func (b SecretBytes) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

func mask(n int) string {
	if n == 0 {
		return ""
	}
	return redacted
}

func formatMasked(f fmt.State, verb rune, masked string) {
	if verb == 'q' {
		masked = strconv.Quote(masked)
	}
	_, _ = io.WriteString(f, masked)
}
