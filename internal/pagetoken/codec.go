package pagetoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

const (
	// MinKeyLen is the shortest key New accepts: the HMAC-SHA256 block of
	// security, 256 bits.
	MinKeyLen = 32
	// MaxTokenLen is the longest token, in bytes, Encode produces and Decode
	// accepts. It equals the page_token limit of the API.
	MaxTokenLen = 8192

	version = 1
	tagLen  = sha256.Size
)

// encoding is the tokens' alphabet: unpadded base64url, decoded strictly.
var encoding = base64.RawURLEncoding.Strict()

// ErrInvalid is the one error Decode returns for a token that is malformed,
// truncated, forged, altered, of another key or of an unknown version. It
// deliberately does not say which.
var ErrInvalid = errors.New("pagetoken: invalid token")

// ErrTooLarge is returned by Encode when the token would exceed MaxTokenLen.
var ErrTooLarge = errors.New("pagetoken: token too large")

// Codec signs and verifies page tokens with one key. It is safe for
// concurrent use.
type Codec struct {
	key []byte
}

// New returns a Codec signing with key, which must be at least MinKeyLen
// bytes of secret, random data. The key is copied.
func New(key []byte) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("pagetoken: key is %d bytes, want at least %d", len(key), MinKeyLen)
	}
	return &Codec{key: bytes.Clone(key)}, nil
}

// NewRandom returns a Codec with a random key of its own. Its tokens verify
// only in this process.
func NewRandom() *Codec {
	key := make([]byte, MinKeyLen)
	// crypto/rand.Read never fails: it aborts the program if the system's
	// random source is broken.
	_, _ = rand.Read(key)
	return &Codec{key: key}
}

// Encode marshals payload to JSON and returns it as a signed token.
func (c *Codec) Encode(payload any) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("pagetoken: marshal payload: %w", err)
	}
	raw := make([]byte, 0, 1+len(body)+tagLen)
	raw = append(raw, version)
	raw = append(raw, body...)
	raw = append(raw, c.tag(raw)...)
	if encoding.EncodedLen(len(raw)) > MaxTokenLen {
		return "", ErrTooLarge
	}
	return encoding.EncodeToString(raw), nil
}

// Decode verifies token and unmarshals its payload into dst. Every failure
// of the token itself is ErrInvalid.
func (c *Codec) Decode(token string, dst any) error {
	// Refuse absurd sizes before decoding anything: the smallest valid
	// token holds a version byte, a two-byte JSON value and the tag.
	if len(token) > MaxTokenLen || len(token) < encoding.EncodedLen(1+2+tagLen) {
		return ErrInvalid
	}
	// Strict refuses non-zero trailing bits, and the length check the CR
	// and LF that the decoder skips: a token has exactly one spelling, and
	// raw surely holds a version byte, a body and a tag.
	raw, err := encoding.DecodeString(token)
	if err != nil || len(raw) < 1+2+tagLen || encoding.EncodedLen(len(raw)) != len(token) {
		return ErrInvalid
	}
	signed, tag := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	if !hmac.Equal(tag, c.tag(signed)) {
		return ErrInvalid
	}
	// The tag covers the version byte, so a version this code does not know
	// can only come from a future release sharing the key.
	if signed[0] != version {
		return ErrInvalid
	}
	if err := json.Unmarshal(signed[1:], dst); err != nil {
		return ErrInvalid
	}
	return nil
}

func (c *Codec) tag(signed []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(signed)
	return m.Sum(nil)
}
