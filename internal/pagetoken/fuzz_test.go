package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// fuzzKey is the key of the fuzz targets. The fuzzer knows it only through
// the tokens of the seed corpus, as an attacker would.
var fuzzKey = testKey(7)

// seedTokens adds valid tokens and near misses of them to f's corpus.
func seedTokens(f *testing.F, c *Codec) {
	f.Helper()
	for _, p := range []payload{
		{},
		{Cursor: "https://graph.microsoft.com/v1.0/security/incidents?$skiptoken=abc", N: 3},
		{Cursor: strings.Repeat("x", 200), N: -1},
		{Cursor: "é\u202e\x00", N: 1 << 40},
	} {
		tok, err := c.Encode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		f.Add(tok[:len(tok)-1])                  // truncated
		f.Add(tok + "A")                         // extended
		f.Add(strings.ToUpper(tok))              // altered
		f.Add(tok[:len(tok)-1] + "B")            // other trailing bits
		f.Add(strings.ReplaceAll(tok, "_", "/")) // standard alphabet
		f.Add(tok + "==")                        // padded
	}
	f.Add("")
	f.Add("garbage")
	f.Add(strings.Repeat("A", MaxTokenLen+1))
	f.Add(base64.RawURLEncoding.EncodeToString([]byte{version, '{', '}'}))
}

// FuzzDecode: decoding any string never panics, and accepts only the exact
// tokens the codec produced: a string that decodes is the canonical
// encoding of its payload (no second spelling of a token, no forgery).
func FuzzDecode(f *testing.F) {
	c := mustNew(f, fuzzKey)
	seedTokens(f, c)
	f.Fuzz(func(t *testing.T, token string) {
		var p payload
		if err := c.Decode(token, &p); err != nil {
			if err != ErrInvalid {
				t.Fatalf("Decode error %v, want ErrInvalid", err)
			}
			return
		}
		again, err := c.Encode(p)
		if err != nil {
			t.Fatalf("re-encoding an accepted payload: %v", err)
		}
		if again != token {
			t.Fatalf("Decode accepted %q, which the codec does not produce (it encodes the payload as %q)", token, again)
		}
		if err := mustNew(t, testKey(8)).Decode(token, &p); err == nil {
			t.Fatal("a token verified under another key")
		}
	})
}

// FuzzDecodeSigned: a correctly signed token with any payload bytes (as a
// release sharing the key, or a leaked key, could produce) never panics
// Decode, which either fills the payload or returns ErrInvalid.
func FuzzDecodeSigned(f *testing.F) {
	c := mustNew(f, fuzzKey)
	for _, body := range []string{`{}`, `{"c":"x","n":1}`, `{"c":1}`, `[]`, `null`, `{"c":"\ud800"}`, `{"n":1e999}`, `{`} {
		f.Add(byte(version), []byte(body))
	}
	f.Add(byte(2), []byte(`{}`))
	f.Fuzz(func(t *testing.T, v byte, body []byte) {
		raw := append([]byte{v}, body...)
		m := hmac.New(sha256.New, fuzzKey)
		m.Write(raw)
		token := base64.RawURLEncoding.EncodeToString(m.Sum(raw))
		var p payload
		err := c.Decode(token, &p)
		switch {
		case err != nil && err != ErrInvalid:
			t.Fatalf("Decode error %v, want ErrInvalid", err)
		case err == nil && v != version:
			t.Fatalf("Decode accepted version %d", v)
		}
	})
}
